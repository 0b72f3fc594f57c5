"""`bertsearch classify train|predict|eval|label`: a thin layer over `bertsearch.Classifier` (registered in `bertsearch.cli`)."""

import json
import sys
from pathlib import Path

import click

from .options import device_option, friendly_errors, index_option, json_option, quiet_transformers, wait_option

ZERO_SHOT_HELP = "Zero-shot: comma-separated label names to score the texts against (no trained classifier needed)."


@click.group()
def classify():
    """Train text classifiers over the encoder's vectors, predict, evaluate, and label an index.

    \b
    bertsearch classify train reviews.tsv --out sentiment
    bertsearch classify predict sentiment "a gripping, beautifully shot film"
    bertsearch classify eval sentiment held-out.tsv
    bertsearch classify label sentiment --index .bertsearch
    bertsearch classify predict --labels "sports,politics,business,science" "The match went to extra time"
    """


@classify.command()
@click.argument("data", required=False, type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--from-folders", "folders", type=click.Path(exists=True, file_okay=False, path_type=Path),
              help="Train on the documents under ROOT, each labelled with the name of its subfolder.")
@click.option("--out", "out_dir", required=True, type=click.Path(file_okay=False, path_type=Path), help="Folder for the classifier.")
@click.option("--method", type=click.Choice(["probe", "fine-tune"]), default="probe", show_default=True,
              help="probe: a logistic regression on the frozen encoder's vectors (seconds); fine-tune: the encoder too (slow on a CPU).")
@click.option("--model", help="Encoder: a hub id or a local folder (default: all-MiniLM-L6-v2, shipped offline).")
@click.option("--pooling", type=click.Choice(["cls", "mean"]), help="Pooling of the encoder's tokens (default: mean for the probe, [CLS] for fine-tuning).")
@click.option("--text-column", help="The column (or JSON key) holding the text; a number counts columns of a file without a header.")
@click.option("--label-column", help="The column (or JSON key) holding the label.")
@click.option("--l2", type=click.FloatRange(min=0), help="Probe: the L2 penalty on the weights.")
@click.option("--epochs", type=click.IntRange(min=1), default=3, show_default=True, help="Fine-tune: passes over the data.")
@click.option("--lr", "learning_rate", type=float, default=3e-5, show_default=True, help="Fine-tune: the encoder's peak learning rate (10% warm-up, then linear decay).")
@click.option("--batch-size", type=click.IntRange(min=1), default=32, show_default=True, help="Fine-tune: texts per step.")
@click.option("--max-length", type=click.IntRange(min=8), default=128, show_default=True, help="Fine-tune: tokens kept of each text.")
@click.option("--held-out", type=click.FloatRange(0, 0.5), default=0.1, show_default=True, help="Fine-tune: share of the data scored after each epoch for early stopping.")
@click.option("--patience", type=click.IntRange(min=1), default=1, show_default=True, help="Fine-tune: epochs without a better held-out score before stopping.")
@click.option("--resume", is_flag=True, help="Fine-tune: continue from the last epoch checkpoint in --out.")
@device_option
@click.option("-q", "--quiet", is_flag=True, help="No progress bars.")
@json_option
@friendly_errors
def train(data, folders, out_dir, method, model, pooling, text_column, label_column, l2, epochs, learning_rate,
          batch_size, max_length, held_out, patience, resume, device, quiet, as_json):
    """Train a classifier on DATA (TSV, CSV or JSONL with a text and a label
    per row) or on --from-folders ROOT, and save it in --out."""
    from ..classify import Classifier
    from ..classify.finetune import Recipe

    quiet_transformers()
    examples = _training_examples(data, folders, text_column, label_column, model, pooling, device)
    recipe = Recipe(epochs=epochs, learning_rate=learning_rate, batch_size=batch_size, max_length=max_length,
                    held_out=held_out, patience=patience)
    options = {"l2": l2} if l2 is not None else {}
    classifier = Classifier.train(examples.texts, examples.labels, method=method, model=model, pooling=pooling,
                                  device=device, recipe=recipe, checkpoints=out_dir, resume=resume,
                                  progress=not quiet, **options)
    classifier.save(out_dir)
    _remove_checkpoints(out_dir)
    if as_json:
        click.echo(json.dumps(classifier.report, indent=2))
        return
    click.echo(f"Trained a {method} classifier on {len(examples)} examples "
               f"({', '.join(classifier.labels)}); saved it to {out_dir}.")


def _training_examples(data, folders, text_column, label_column, model, pooling, device):
    from ..classify import examples_from_folders, load_examples

    if bool(data) == bool(folders):
        raise click.UsageError("give either DATA or --from-folders ROOT")
    if data:
        return load_examples(data, text_column=text_column, label_column=label_column)
    from ..chunking import DEFAULT_OVERLAP_TOKENS, DEFAULT_PASSAGE_TOKENS
    from ..encoder import Encoder
    from ..checkpoints import DEFAULT_ENCODER

    tokenizer = Encoder(model or DEFAULT_ENCODER, pooling=pooling, device="cpu")  # only its tokenizer chunks
    return examples_from_folders(folders, tokenizer.token_spans, passage_tokens=DEFAULT_PASSAGE_TOKENS,
                                 overlap_tokens=DEFAULT_OVERLAP_TOKENS)


def _remove_checkpoints(out_dir: Path) -> None:
    """Training finished and the classifier is saved: the per-epoch checkpoints are not needed any more."""
    from ..classify.finetune import BEST, CHECKPOINT

    for name in (CHECKPOINT, BEST):
        (out_dir / name).unlink(missing_ok=True)


@classify.command()
@click.argument("args", nargs=-1, metavar="DIR [TEXT]...")
@click.option("--labels", help=ZERO_SHOT_HELP)
@click.option("--template", default="This text is about {label}.", show_default=True, help="Zero-shot: the sentence each label is embedded in.")
@click.option("--model", help="Zero-shot: the encoder (default: all-MiniLM-L6-v2).")
@click.option("--top", type=click.IntRange(min=1), help="Show only the N likeliest labels.")
@device_option
@json_option
@friendly_errors
def predict(args, labels, template, model, top, device, as_json):
    """Label each TEXT (or each line on stdin) with the classifier in DIR, or
    with --labels (zero-shot); prints the label and the probability of each label."""
    classifier, texts = _classifier_and_rest(args, labels, template, model, device)
    texts = list(texts) or [line.strip() for line in sys.stdin if line.strip()]
    if not texts:
        raise click.UsageError("give texts to classify, as arguments or one per line on stdin")
    predictions = classifier.predict(texts, top=top)
    if as_json:
        click.echo(json.dumps([p.to_dict() for p in predictions], indent=2, ensure_ascii=False))
        return
    for p in predictions:
        others = ", ".join(f"{label} {prob:.2f}" for label, prob in list(p.probabilities.items())[1:])
        click.echo(f"{p.label}\t{p.probabilities[p.label]:.2f}" + (f"\t({others})" if others else "") + f"\t{p.text}")


@classify.command("eval")
@click.argument("args", nargs=-1, metavar="DIR DATA")
@click.option("--labels", help=ZERO_SHOT_HELP)
@click.option("--template", default="This text is about {label}.", show_default=True, help="Zero-shot: the sentence each label is embedded in.")
@click.option("--model", help="Zero-shot: the encoder (default: all-MiniLM-L6-v2).")
@click.option("--text-column", help="The column (or JSON key) holding the text.")
@click.option("--label-column", help="The column (or JSON key) holding the label.")
@device_option
@json_option
@friendly_errors
def eval_command(args, labels, template, model, text_column, label_column, device, as_json):
    """Score the classifier in DIR (or --labels, zero-shot) on labelled DATA:
    accuracy, macro-F1, per-label precision/recall, confusion matrix, calibration."""
    from ..classify import load_examples

    classifier, rest = _classifier_and_rest(args, labels, template, model, device)
    if len(rest) != 1:
        raise click.UsageError("give one labelled DATA file")
    examples = load_examples(rest[0], text_column=text_column, label_column=label_column)
    result = classifier.evaluate(examples.texts, examples.labels)
    if as_json:
        click.echo(json.dumps(result.to_dict(), indent=2))
        return
    click.echo(format_evaluation(result))


def format_evaluation(result) -> str:
    width = max(8, *map(len, result.labels))
    lines = [f"examples  {result.total}", f"accuracy  {result.accuracy:.4f}", f"macro-F1  {result.macro_f1:.4f}",
             f"ECE       {result.ece:.4f}  (expected calibration error)", "",
             f"{'label':<{width}}  precision  recall  f1      support"]
    for label, s in result.per_label.items():
        lines.append(f"{label:<{width}}  {s.precision:<9.4f}  {s.recall:<6.4f}  {s.f1:<6.4f}  {s.support}")
    lines += ["", "confusion (rows: true label, columns: predicted)",
              " " * width + "  " + "  ".join(f"{label[:8]:>8}" for label in result.labels)]
    for label, row in zip(result.labels, result.confusion):
        lines.append(f"{label:<{width}}  " + "  ".join(f"{n:>8}" for n in row))
    return "\n".join(lines)


def _classifier_and_rest(args, labels, template, model, device):
    """The classifier (loaded from the first argument, or zero-shot over --labels) and the remaining arguments."""
    from ..classify import Classifier

    quiet_transformers()
    if labels:
        return Classifier.zero_shot(labels.split(","), template=template, model=model, device=device), args
    if not args:
        raise click.UsageError("give the classifier's folder (DIR), or --labels for zero-shot")
    return Classifier.load(args[0], device=device), args[1:]


@classify.command()
@click.argument("classifier_dir", metavar="DIR", type=click.Path(exists=True, file_okay=False, path_type=Path))
@index_option
@device_option
@wait_option
@click.option("-q", "--quiet", is_flag=True, help="No progress bar.")
@json_option
@friendly_errors
def label(classifier_dir, index_path, device, wait, quiet, as_json):
    """Label every document in the index with the classifier in DIR.

    A document gets the most probable label of its passages' probabilities,
    averaged with each passage weighted by its length. The stored vectors are
    used when the classifier reads this index's encoder (no re-encoding). Later
    `bertsearch index` runs label new and changed documents too; filter with
    `search --label L` / `ask --label L`; `info` counts the labels."""
    import dataclasses

    from ..index import Index

    quiet_transformers()
    with Index(index_path, device=device, lock_timeout=wait) as idx:
        report = idx.label(classifier_dir, progress=not quiet)
    if as_json:
        click.echo(json.dumps(dataclasses.asdict(report), indent=2))
        return
    source = "from the stored vectors" if report.reused_vectors else "encoding the passages with the classifier's encoder"
    counts = ", ".join(f"{name} {n}" for name, n in sorted(report.counts.items(), key=lambda item: -item[1]))
    click.echo(f"Labelled {report.documents} documents in {index_path} ({source}): {counts or 'none'}.")
