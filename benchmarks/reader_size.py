"""The bundled reader against a BERT-base-sized QA model on the CPU: speed, with its accuracy.

Both read the same SQuAD v1.1 dev questions, one question and its paragraph at a
time as `ask` does, through bertsearch.Reader, in turns. The BERT-base-sized
model has random weights: only its speed is measured. The accuracy figures are
the bundled reader's own, from its reader_config.json (see docs/reader.md).

    python benchmarks/reader_size.py --questions 40 --rounds 3
"""

from __future__ import annotations

import argparse
import json
import tempfile

from common import SQUAD_DEV, in_turns, spread, write_result


def bert_base_qa(folder: str, tokenizer) -> str:
    """A randomly initialised BERT-base question-answering model (110M parameters)."""
    import torch
    from transformers import BertConfig, BertForQuestionAnswering

    torch.manual_seed(0)
    BertForQuestionAnswering(BertConfig(vocab_size=tokenizer.vocab_size)).save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    return folder


def main(argv=None):
    from bertsearch.checkpoints import BUNDLED_READER_PATH
    from bertsearch.reader import Reader
    from bertsearch.eval.squad import load_squad

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--squad", default=str(SQUAD_DEV))
    parser.add_argument("--questions", type=int, default=40)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--out", help="folder for the result file (default benchmarks/results)")
    args = parser.parse_args(argv)

    sample = load_squad(args.squad, args.questions)
    bundled = Reader("bundled", device="cpu")
    with tempfile.TemporaryDirectory() as folder:
        base = Reader(bert_base_qa(folder, bundled.tokenizer), device="cpu")  # both in the default precision
        readers = {"bundled": bundled, "bert-base": base}
        for reader in readers.values():  # warm up
            reader.read(sample[0].question, [sample[0].context])
        seconds, _ = in_turns(
            {name: (lambda r=r: [r.read(q.question, [q.context]) for q in sample]) for name, r in readers.items()},
            args.rounds,
        )
    per_second = {name: spread([len(sample) / s for s in runs]) for name, runs in seconds.items()}
    ratios = spread([b / s for b, s in zip(seconds["bert-base"], seconds["bundled"])])
    config = json.loads((BUNDLED_READER_PATH / "reader_config.json").read_text())
    write_result("readersize-cpu", {
        "precision": bundled.precision,
        "questions": len(sample),
        "parameters": {name: sum(p.numel() for p in r.model.parameters()) for name, r in readers.items()},
        "questions_per_second": per_second,
        "speedup": ratios,
        "accuracy": {k: config[k] for k in ("squad_v1.1_dev", "squad_v2.0_dev", "no_answer_threshold")},
        "training": config["training"],
    }, args.out)
    print(f"bundled {per_second['bundled']['median']:.1f} q/s, bert-base {per_second['bert-base']['median']:.1f} q/s, "
          f"{ratios['median']:.2f}x")


if __name__ == "__main__":
    main()
