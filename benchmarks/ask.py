"""End-to-end latency of `ask` on a CPU: p50 and p95 per question, by stage.

SQuAD v1.1 dev articles are indexed with the default encoder (one document per
article, as `bertsearch eval` does), then each question is asked one at a time
(k passages read), in fp32 and in bf16 autocast, in turns.

    python benchmarks/ask.py
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

from common import SQUAD_DEV, spread, write_result


def main(argv=None):
    import numpy as np

    from bertsearch.device import effective_precision
    from bertsearch.eval.evaluation import timed_calls, write_corpus
    from bertsearch.index import Index
    from bertsearch.eval.squad import read_squad_json, squad_metrics, squad_questions

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--squad", default=str(SQUAD_DEV))
    parser.add_argument("--reader", help="QA model (default: $BERTSEARCH_READER, else the bundled reader)")
    parser.add_argument("--model", help="encoder (default: the packaged all-MiniLM-L6-v2)")
    parser.add_argument("--articles", type=int, default=5, help="how many dev articles to index")
    parser.add_argument("--questions", type=int, default=100, help="questions asked per round")
    parser.add_argument("-k", type=int, default=10)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--smoke", action="store_true", help="tiny sizes, to check the script runs")
    parser.add_argument("--out-dir", help="where to write the result JSON (default benchmarks/results)")
    args = parser.parse_args(argv)
    if args.smoke:
        args.articles, args.questions, args.rounds = 1, 4, 1

    squad = read_squad_json(args.squad)
    articles = squad["data"][: args.articles]
    questions = squad_questions({"data": articles})[: args.questions]
    with tempfile.TemporaryDirectory() as scratch:
        folder, documents = Path(scratch) / "index", Path(scratch) / "documents"
        write_corpus(articles, documents)
        started = time.perf_counter()
        indexes = {p: Index(folder, model=args.model, reader=args.reader, device="cpu", precision=p)
                   for p in ("fp32", "bf16")}
        report = indexes["fp32"].add([documents])
        index_seconds = time.perf_counter() - started
        for index in indexes.values():  # load both models, warm up
            index.ask(questions[0].question, k=args.k)
        stages = {p: {s: [] for s in ("encode", "search", "read", "total")} for p in indexes}
        medians = {p: [] for p in indexes}
        predictions = {p: [] for p in indexes}
        best_guesses = {p: [] for p in indexes}
        for r in range(args.rounds):
            round_totals = {p: [] for p in indexes}
            for i, q in enumerate(questions):
                order = list(indexes) if (i + r) % 2 == 0 else list(indexes)[::-1]
                for p in order:
                    index = indexes[p]
                    with timed_calls(index.encoder, "encode") as enc, timed_calls(index.reader, "read_batch") as rd:
                        started = time.perf_counter()
                        result = index.ask(q.question, k=args.k, alternatives=0, always_answer=True)
                        total = 1000 * (time.perf_counter() - started)
                    for name, value in (("encode", sum(enc)), ("read", sum(rd)),
                                        ("search", total - sum(enc) - sum(rd)), ("total", total)):
                        stages[p][name].append(value)
                    round_totals[p].append(total)
                    if r == 0:  # what ask answers (nothing under the threshold), and its best guess
                        text = result.answers[0].text if result.found else ""
                        predictions[p].append(text if result.confident else "")
                        best_guesses[p].append(text)
            for p in indexes:
                medians[p].append(float(np.median(round_totals[p])))
        counts = indexes["fp32"].store.counts()
        reader_name = indexes["fp32"].reader.name
        for index in indexes.values():
            index.close()

    rows = []
    for p in indexes:
        rows.append({
            "precision": p,
            **{name: {"p50": float(np.percentile(v, 50)), "p95": float(np.percentile(v, 95))}
               for name, v in stages[p].items()},
            "p50_per_round": spread(medians[p]),
            "squad": squad_metrics(questions, predictions[p]),
            "answered": sum(bool(t) for t in predictions[p]) / len(questions),
            "squad_always_answering": squad_metrics(questions, best_guesses[p]),
        })
    result = {"articles": args.articles, **counts, "questions": len(questions), "k": args.k, "rounds": args.rounds,
              "reader": args.reader or reader_name, "index_seconds": index_seconds,
              "passages_encoded": report.passages_encoded, "rows": rows,
              "default_cpu_precision": effective_precision("auto", "cpu")}
    write_result("ask-cpu", result, args.out_dir)
    print(f"{counts['passages']} passages, {len(questions)} questions x {args.rounds} rounds, k={args.k}")
    print(f"{'precision':<10}{'total p50':>10}{'p95':>8}{'encode p50':>12}{'search p50':>12}{'read p50':>10}{'EM':>7}{'F1':>7}  (ms)")
    for row in rows:
        print(f"{row['precision']:<10}{row['total']['p50']:>10.1f}{row['total']['p95']:>8.1f}{row['encode']['p50']:>12.1f}"
              f"{row['search']['p50']:>12.2f}{row['read']['p50']:>10.1f}{row['squad']['exact_match']:>7.1f}{row['squad']['f1']:>7.1f}")
    return result


if __name__ == "__main__":
    main()
