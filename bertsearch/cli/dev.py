"""`bertsearch train-reader` and `eval`: developer tooling over `bertsearch.eval`."""

import json
from pathlib import Path

import click

from ..search_modes import DEFAULT_MODE, MODES
from .options import device_option, friendly_errors, json_option, quiet_transformers


@click.command("train-reader")
@click.option("--train", "train_file", required=True, type=click.Path(exists=True, dir_okay=False, path_type=Path), help="SQuAD-format training JSON (optionally .gz).")
@click.option("--dev", "dev_file", type=click.Path(exists=True, dir_okay=False, path_type=Path), help="SQuAD-format JSON to score EM/F1 on at the end.")
@click.option("--base", "base_model", help="Model to fine-tune: a hub id or a local folder (default: the packaged all-MiniLM-L6-v2).")
@click.option("--out", "out_dir", type=click.Path(file_okay=False, path_type=Path), default="reader", show_default=True, help="Folder for checkpoints and the trained reader.")
@click.option("--epochs", type=click.IntRange(min=1), default=2, show_default=True)
@click.option("--lr", "learning_rate", type=float, default=5e-5, show_default=True, help="Peak learning rate (10% warmup, then linear decay).")
@click.option("--batch-size", type=click.IntRange(min=1), default=32, show_default=True)
@click.option("--max-length", type=click.IntRange(min=32), default=384, show_default=True, help="Window length in tokens.")
@click.option("--stride", type=click.IntRange(min=0), default=128, show_default=True, help="Tokens shared by consecutive windows.")
@click.option("--limit", type=click.IntRange(min=1), help="Only the first N questions of each file (for a quick trial).")
@click.option("--resume", is_flag=True, help="Continue from the last epoch checkpoint in --out.")
@device_option
@click.option("-q", "--quiet", is_flag=True, help="No progress bars.")
@friendly_errors
def train_reader(train_file, dev_file, base_model, out_dir, epochs, learning_rate, batch_size, max_length, stride,
                 limit, resume, device, quiet):
    """Fine-tune a question-answering reader on SQuAD-format data.

    Use the result with `bertsearch ask --reader OUT` or BERTSEARCH_READER=OUT."""
    from ..eval.training import train_reader as train

    quiet_transformers()
    results = train(train_file, out_dir, dev_file=dev_file, base_model=base_model, epochs=epochs,
                    learning_rate=learning_rate, batch_size=batch_size, max_length=max_length, stride=stride,
                    limit=limit, resume=resume, device=device, progress=not quiet)
    click.echo(json.dumps(results, indent=2))
    click.echo(f"Saved the reader to {out_dir}: use it with  bertsearch ask --reader {out_dir} QUESTION", err=True)


@click.command("eval")
@click.argument("squad_file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--index", "index_path", type=click.Path(file_okay=False, path_type=Path),
              help="Index folder for the file's contexts, built or reused (default: .bertsearch-eval/FILE-articles).")
@click.option("--per-paragraph", is_flag=True, help="One document per paragraph instead of one per article.")
@click.option("-k", "k", type=click.IntRange(min=1), default=10, show_default=True, help="How many passages `ask` reads per question.")
@click.option("--mode", type=click.Choice(MODES), default=DEFAULT_MODE, show_default=True, help="Retrieval mode, as for search and ask.")
@click.option("--limit", type=click.IntRange(min=1), help="Only the first N questions, and the articles they come from.")
@click.option("--model", help="Encoder for a new evaluation index: a hub id or a local folder (default: all-MiniLM-L6-v2).")
@click.option("--reader", envvar="BERTSEARCH_READER", help="Question-answering model (env BERTSEARCH_READER; default: the bundled reader).")
@click.option("--retrieval-only", is_flag=True, help="Score retrieval only: no reader is loaded.")
@device_option
@click.option("-q", "--quiet", is_flag=True, help="No progress bars.")
@json_option
@friendly_errors
def eval_command(squad_file, index_path, per_paragraph, k, mode, limit, model, reader, retrieval_only, device, quiet, as_json):
    """Evaluate on a SQuAD-format file (v1.1 or v2.0): retrieval recall and MRR,
    reader and end-to-end `ask` EM/F1, no-answer accuracy and latency."""
    from ..eval.evaluation import evaluate, format_report

    quiet_transformers()
    result = evaluate(squad_file, index_path, per_paragraph=per_paragraph, k=k, mode=mode, limit=limit, model=model,
                      reader=reader, device=device, retrieval_only=retrieval_only, progress=not quiet)
    click.echo(json.dumps(result, indent=2) if as_json else format_report(result))

