"""Reader throughput: bertsearch.Reader against the transformers question-answering pipeline.

bertsearch runs on torch (fp32, bf16 autocast), ONNX Runtime (fp32) and, where
installed, OpenVINO (bf16 where the CPU computes it natively).

Same model, questions, contexts (each SQuAD v1.1 dev question with its own
paragraph, or with --contexts K paragraphs) and window settings (384 tokens,
stride 128, answers of at most 30 tokens, questions cut at 64 tokens), in the
same process, in turns. Speed is measured on a BERT-base-sized model with random
weights (--speed-model); whether both give the same top answer is checked on a
trained reader (--agreement-model, the bundled one by default). bertsearch reads
all questions in one `Reader.read_batch` call; the pipeline is given all
question-context pairs in one call; both put 16 windows in a forward pass.

transformers 5 removed the question-answering pipeline, so this script runs with
transformers 4 first on the path (bertsearch works with both):

    pip install --no-deps --target /tmp/peer-tf4 'transformers==4.57.6' 'tokenizers==0.22.2' 'huggingface_hub==0.36.2' requests charset_normalizer urllib3 certifi
    PYTHONPATH=/tmp/peer-tf4:$PWD python benchmarks/reader.py
"""

from __future__ import annotations

import argparse
import contextlib
import tempfile

from common import SQUAD_DEV, in_turns, spread, squad_paragraphs_and_questions, write_result

from bertsearch.checkpoints import BUNDLED_READER

WINDOW = dict(max_length=384, stride=128, max_answer_length=30)


def random_base_reader(folder: str, tokenizer_path: str) -> str:
    """A BERT-base-sized (12 layers, 768 dims) QA model with random weights, saved in `folder`."""
    import torch
    from transformers import AutoTokenizer, BertConfig, BertForQuestionAnswering

    torch.manual_seed(0)
    tokenizer = AutoTokenizer.from_pretrained(tokenizer_path)
    BertForQuestionAnswering(BertConfig(vocab_size=tokenizer.vocab_size)).save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    return folder


def qa_pipeline(model_path: str, batch_size: int):
    import transformers
    from transformers import AutoModelForQuestionAnswering, AutoTokenizer

    try:
        from transformers import pipeline

        return pipeline("question-answering", model=AutoModelForQuestionAnswering.from_pretrained(model_path),
                        tokenizer=AutoTokenizer.from_pretrained(model_path), device="cpu", batch_size=batch_size)
    except (KeyError, ValueError, ImportError) as error:
        raise SystemExit(f"transformers {transformers.__version__} has no question-answering pipeline ({error}); "
                         "run with transformers 4 first on the path, as this script's docstring shows") from None


def inputs(squad: str, questions: int, contexts: int):
    paragraphs, all_questions = squad_paragraphs_and_questions(squad)
    chosen = all_questions[:questions]
    return [(q, [paragraphs[(gold + i) % len(paragraphs)] for i in range(contexts)]) for q, _, gold in chosen]


def contenders(model_path: str, pairs, batch_size: int, precisions=("fp32", "bf16")):
    """name -> callable returning each question's top answer as (context index, start, end, text)."""
    import torch

    from bertsearch.reader import Reader

    def ours(reader):
        def run():
            found = reader.read_batch([q for q, _ in pairs], [cs for _, cs in pairs], top_n=1)
            return [(s[0].context_index, s[0].start, s[0].end, s[0].text) if s else None for s in found]
        return run

    qa = qa_pipeline(model_path, batch_size)
    questions = [q for q, contexts in pairs for _ in contexts]
    contexts = [c for _, cs in pairs for c in cs]
    owners = [(n, i) for n, (_, cs) in enumerate(pairs) for i in range(len(cs))]

    def peer(context):
        def run():
            with context():
                found = qa(question=questions, context=contexts, top_k=1, max_seq_len=WINDOW["max_length"],
                           doc_stride=WINDOW["stride"], max_answer_len=WINDOW["max_answer_length"],
                           max_question_len=64, align_to_words=False)
            found = found if isinstance(found, list) else [found]
            best = [None] * len(pairs)
            for (n, i), answer in zip(owners, found):
                answer = answer[0] if isinstance(answer, list) else answer
                if best[n] is None or answer["score"] > best[n][0]:
                    best[n] = (answer["score"], (i, answer["start"], answer["end"], answer["answer"]))
            return [b[1] if b else None for b in best]
        return run

    runs = {f"bertsearch {p}": ours(Reader(model_path, device="cpu", precision=p, batch_size=batch_size, **WINDOW))
            for p in precisions}
    for reader in graph_readers(model_path, batch_size):
        runs[f"bertsearch {reader.backend} {reader.precision}"] = ours(reader)
    runs["pipeline fp32"] = peer(contextlib.nullcontext)
    if "bf16" in precisions:
        runs["pipeline bf16"] = peer(lambda: torch.autocast("cpu", dtype=torch.bfloat16))
    return runs


def graph_readers(model_path: str, batch_size: int) -> list:
    """bertsearch's reader on the exported ONNX graph: ONNX Runtime fp32, and OpenVINO (bf16 where the CPU computes
    it natively) where installed."""
    from bertsearch.backends import openvino_installed
    from bertsearch.onnx_reader import OnnxReader

    readers = [OnnxReader(model_path, precision="fp32", batch_size=batch_size, **WINDOW)]
    if openvino_installed():
        from bertsearch.openvino_backend import auto_precision

        readers.append(OnnxReader(model_path, precision=auto_precision(), batch_size=batch_size, backend="openvino",
                                  **WINDOW))
    return readers


def agreement(answers: dict, reference: str, single_window: list[bool]) -> dict:
    """Share of questions where each contender's top answer is the reference's (same context and span),
    over all questions and over those whose paragraph fits one window."""
    from bertsearch.eval.squad import normalize_answer

    base = answers[reference]
    out = {}
    for name, found in answers.items():
        same_span = [a is not None and b is not None and a[:3] == b[:3] for a, b in zip(found, base)]
        same_text = sum(a is not None and b is not None and normalize_answer(a[3]) == normalize_answer(b[3])
                        for a, b in zip(found, base))
        one = [same for same, single in zip(same_span, single_window) if single]
        out[name] = {"same_span": sum(same_span) / len(base), "same_text": same_text / len(base),
                     "same_span_single_window": sum(one) / max(1, len(one))}
    return out


def fits_one_window(model_path: str, pairs) -> list[bool]:
    """For each (question, [paragraph]) pair: whether the paragraph fits one window."""
    from collections import Counter

    from bertsearch.reader import Reader

    reader = Reader(model_path, device="cpu", **WINDOW)
    windows = reader.windows([q for q, _ in pairs], [cs[0] for _, cs in pairs])
    counts = Counter(windows["overflow_to_sample_mapping"])
    return [counts[i] == 1 for i in range(len(pairs))]


def main(argv=None):
    from bertsearch.device import effective_precision
    from bertsearch.checkpoints import DEFAULT_ENCODER, resolve_model_path

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--squad", default=str(SQUAD_DEV))
    parser.add_argument("--speed-model", help="QA model to time (default: BERT-base-sized, random weights)")
    parser.add_argument("--agreement-model", default=BUNDLED_READER,
                        help="trained QA model for the answer check (default: the bundled reader; 'none' skips it)")
    parser.add_argument("--questions", type=int, default=32, help="questions per timed run")
    parser.add_argument("--agreement-questions", type=int, default=2000)
    parser.add_argument("--contexts", type=int, default=1, help="paragraphs read per question: its own, then the next ones")
    parser.add_argument("--batch-size", type=int, default=16, help="windows per forward pass, both contenders")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--smoke", action="store_true", help="tiny sizes, to check the script runs")
    parser.add_argument("--out-dir", help="where to write the result JSON (default benchmarks/results)")
    args = parser.parse_args(argv)
    if args.smoke:
        args.questions, args.agreement_questions, args.rounds = 4, 6, 1

    result = {"window": WINDOW, "batch_size": args.batch_size, "contexts": args.contexts, "rounds": args.rounds,
              "default_cpu_precision": effective_precision("auto", "cpu")}
    with tempfile.TemporaryDirectory() as scratch:
        speed_model = args.speed_model or random_base_reader(scratch, resolve_model_path(DEFAULT_ENCODER))
        pairs = inputs(args.squad, args.questions, args.contexts)
        runs = contenders(speed_model, pairs, args.batch_size)
        for run in runs.values():  # warm-up
            run()
        seconds, _ = in_turns(runs, args.rounds)
    result["speed"] = {
        "model": args.speed_model or "BERT-base-sized (12 layers, 768 dims), random weights",
        "questions": len(pairs),
        "rows": [{"name": name, "questions_per_s": spread([len(pairs) / t for t in times])}
                 for name, times in seconds.items()],
    }
    for row in result["speed"]["rows"]:
        if row["name"].startswith("bertsearch"):
            precision = row["name"].split()[-1]
            for label, peer in (("vs_peer_same_precision", f"pipeline {precision}"), ("vs_peer_fp32", "pipeline fp32"),
                                ("vs_torch_bf16", "bertsearch bf16")):
                row[label] = spread([p / o for p, o in zip(seconds[peer], seconds[row["name"]])])

    if args.agreement_model != "none":
        model = resolve_model_path(args.agreement_model)
        pairs = inputs(args.squad, args.agreement_questions, 1)
        runs = contenders(model, pairs, args.batch_size)
        answers = {name: run() for name, run in runs.items()}
        single_window = fits_one_window(model, pairs)
        result["agreement"] = {"model": args.agreement_model, "questions": len(pairs),
                               "single_window_questions": sum(single_window),
                               "against_pipeline_fp32": agreement(answers, "pipeline fp32", single_window)}
    write_result("reader-cpu", result, args.out_dir)

    print(f"{'contender':<20}{'questions/s (min/med/max)':>30}{'x pipeline fp32 (min/med/max)':>32}")
    for row in result["speed"]["rows"]:
        q, r = row["questions_per_s"], row.get("vs_peer_fp32")
        ratio = f"{r['min']:.2f} {r['median']:.2f} {r['max']:.2f}" if r else "-"
        print(f"{row['name']:<20}{q['min']:>10.2f}{q['median']:>10.2f}{q['max']:>10.2f}{ratio:>32}")
    if "agreement" in result:
        for name, share in result["agreement"]["against_pipeline_fp32"].items():
            print(f"same top answer as pipeline fp32: {name:<20} span {share['same_span']:.1%}  text {share['same_text']:.1%}"
                  f"  (one-window paragraphs: span {share['same_span_single_window']:.1%})")
    return result


if __name__ == "__main__":
    main()
