"""Fit `ask`'s confidence model on SQuAD v1.1 train, in the open setting, and store it with the reader.

A sample of train articles (every `--article-step`th, `--articles` of them) is
split in two: the even ones are indexed, and every `--question-step`th question
of all of them is asked, so about half are in-corpus and half out-of-corpus
(bertsearch/eval/calibration.py). The records are cached under `--cache`; the fit
(a logistic regression on each question's best answer) and the default cut
(the highest that still answers `--keep-answered` of the in-corpus questions)
are printed, and with `--write` stored under "confidence" in the reader's
reader_config.json. Dev is never read here.

    python scripts/fit_confidence.py --write
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
TRAIN = REPO.parent / "shared" / "data" / "squad" / "train-v1.1.json"


def main(argv=None) -> dict:
    from bertsearch.eval import calibration
    from bertsearch.confidence import FEATURE_HELP, FEATURES
    from bertsearch.checkpoints import BUNDLED_READER_PATH
    from bertsearch.eval.squad import read_squad_json

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--squad", type=Path, default=TRAIN)
    parser.add_argument("--article-step", type=int, default=18)
    parser.add_argument("--articles", type=int, default=24)
    parser.add_argument("--question-step", type=int, default=3)
    parser.add_argument("-k", type=int, default=10)
    parser.add_argument("--keep-answered", type=float, default=0.98,
                        help="share of in-corpus questions the default cut still answers")
    parser.add_argument("--cache", type=Path, default=REPO / ".cache" / "confidence")
    parser.add_argument("--reader", help="QA model folder (default: the bundled reader)")
    parser.add_argument("--fit-only", action="store_true", help="fit on the questions recorded so far")
    parser.add_argument("--write", action="store_true", help="store the model in the reader's reader_config.json")
    args = parser.parse_args(argv)

    name = f"train-a{args.article_step}x{args.articles}-q{args.question_step}-k{args.k}"
    records = args.cache / f"{name}.jsonl"
    squad = read_squad_json(args.squad)
    sample = list(range(len(squad["data"])))[:: args.article_step][: args.articles]
    articles, questions = calibration.open_setting(squad, sample[::2], sample, args.question_step)
    if args.fit_only:  # the questions recorded so far: the first ones of the shuffled sample
        asked = calibration.load(records)
    else:
        started = time.perf_counter()
        with calibration.build_index(args.cache / f"{name}-index", articles, reader=args.reader) as index:
            asked = calibration.ask_all(index, questions, records, k=args.k, progress=True)
        print(f"{len(asked)} questions in {time.perf_counter() - started:.0f} s", file=sys.stderr)

    model = calibration.fit_model(asked)
    cut = calibration.choose_cut(asked, model, args.keep_answered)
    model = dataclasses.replace(model, min_confidence=cut)
    summary = calibration.summary(asked, model)
    share = "" if len(asked) == len(questions) else f"the first {len(asked)} (shuffled) of "
    about = {"fitted_on": f"SQuAD v1.1 train, open setting: every {_nth(args.article_step)} article "
                          f"({args.articles}), the even ones indexed; {share}every {_nth(args.question_step)} "
                          f"question of all of them ({len(questions)}); k={args.k}, hybrid; each question's best answer",
             "questions": {kind: s["questions"] for kind, s in summary.items()},
             "cut": f"the highest that answers {args.keep_answered:.0%} of in-corpus train questions",
             "command": "python scripts/fit_confidence.py --write"}
    config = model.to_config(**about)
    print(json.dumps({"model": config, "train": summary}, indent=1))
    print("standardised weights: " + ", ".join(f"{f} {w:+.2f}" for f, w in zip(FEATURES, model.weights)),
          file=sys.stderr)
    if args.write:
        folder = Path(args.reader) if args.reader else BUNDLED_READER_PATH
        path = folder / "reader_config.json"
        stored = json.loads(path.read_text()) if path.exists() else {}
        stored["confidence"] = {**config, "feature_help": FEATURE_HELP}
        path.write_text(json.dumps(stored, indent=2) + "\n")
        print(f"wrote {path}", file=sys.stderr)
    return {"model": config, "train": summary}


def _nth(n: int) -> str:
    return f"{n}{'th' if 10 <= n % 100 <= 20 else {1: 'st', 2: 'nd', 3: 'rd'}.get(n % 10, 'th')}"


if __name__ == "__main__":
    main()
