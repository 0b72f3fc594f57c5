"""`ask`'s no-answer threshold in the setting it is used in: retrieval over a whole corpus.

Every SQuAD v2.0 dev article is indexed (one document each, as `bertsearch eval`
does); every Nth question is asked with the threshold switched off, keeping the
top answer and the best reader score. The official best-F1 cut is then found on
those scores, and F1 is reported with no threshold, the reader's own (calibrated
on gold paragraphs) and that cut. Prints JSON.

    python benchmarks/no_answer.py --every 10
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

from common import REPO


def main(argv=None):
    from bertsearch.eval.evaluation import write_corpus
    from bertsearch.index import Index
    from bertsearch.eval.squad import best_no_answer_threshold, read_squad_json, squad_metrics, squad_questions

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--squad", default=str(REPO.parent / "shared" / "data" / "squad" / "dev-v2.0.json"))
    parser.add_argument("--every", type=int, default=10, help="ask every Nth question")
    parser.add_argument("-k", type=int, default=10)
    parser.add_argument("--model", help="encoder (default: the packaged all-MiniLM-L6-v2)")
    parser.add_argument("--reader", help="QA model (default: $BERTSEARCH_READER, else the bundled reader)")
    args = parser.parse_args(argv)

    squad = read_squad_json(args.squad)
    questions = squad_questions(squad)[:: args.every]
    with tempfile.TemporaryDirectory() as scratch:
        write_corpus(squad["data"], Path(scratch) / "documents")
        index = Index(Path(scratch) / "index", model=args.model, reader=args.reader)
        index.add([Path(scratch) / "documents"])
        passages = index.store.counts()["passages"]
        reader = index.reader
        calibrated, reader.no_answer_threshold = reader.no_answer_threshold, None
        started = time.perf_counter()
        best = []
        for q in questions:
            answers = index.ask(q.question, k=args.k, alternatives=4).answers
            best.append((answers[0].text, max(a.score for a in answers)) if answers else ("", float("-inf")))
        seconds = time.perf_counter() - started
        index.close()
    cut, _ = best_no_answer_threshold(questions, best)
    result = {"questions": len(questions), "unanswerable": sum(q.is_impossible for q in questions),
              "passages": passages, "k": args.k, "ask_seconds": round(seconds, 1)}
    for name, threshold in (("always answering", None), ("reader's threshold", calibrated), ("best cut here", cut)):
        predictions = [text if threshold is None or score >= threshold else "" for text, score in best]
        result[name] = {"threshold": threshold, "answered": sum(map(bool, predictions)) / len(predictions),
                        **squad_metrics(questions, predictions)}
    print(json.dumps(result, indent=1))
    return result


if __name__ == "__main__":
    main()
