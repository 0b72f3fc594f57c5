"""`bertsearch search`, `ask` and `info`: the commands that read an index."""

import dataclasses
import json
import textwrap

import click

from .options import (backend_option, device_option, friendly_errors, index_option, json_option, quiet_transformers,
                      retrieval_filters, retrieval_options)
from .output import cite, highlight, snippet, wrap


@click.command()
@click.argument("query")
@index_option
@click.option("-k", "k", type=click.IntRange(min=1), default=10, show_default=True, help="How many passages.")
@retrieval_options
@device_option
@backend_option
@json_option
@friendly_errors
def search(query, index_path, k, mode, path_glob, ext, after, before, label, device, backend, as_json):
    """Find the passages that best match QUERY, in meaning and in words."""
    from ..index import Index

    quiet_transformers()
    with Index(index_path, device=device, backend=backend) as idx:
        results = idx.search(query, k=k, **retrieval_filters(mode, path_glob, ext, after, before, label))
    if as_json:
        click.echo(json.dumps([dataclasses.asdict(r) for r in results], indent=2, ensure_ascii=False))
        return
    if not results:
        click.echo("No passages found.")
    for rank, result in enumerate(results, 1):
        click.echo(f"{rank}. {result.score:.3f}  {cite(result.path, result.line, result.start, result.end)}")
        click.echo(textwrap.indent(wrap(snippet(result.text)), "   ") + "\n")


@click.command()
@click.argument("question")
@index_option
@click.option("-k", "k", type=click.IntRange(min=1), default=10, show_default=True, help="How many passages to read.")
@click.option("-n", "--alternatives", type=click.IntRange(min=0), default=3, show_default=True, help="How many other answers to show.")
@click.option("--reader", envvar="BERTSEARCH_READER", help="Question-answering model: a hub id or a local folder (env BERTSEARCH_READER; default: the bundled reader).")
@click.option("--min-confidence", type=click.FloatRange(0, 1), metavar="P",
              help="Answer only when the best answer's confidence is at least P (default: the cut fitted with the reader).")
@click.option("--always-answer", is_flag=True, help="Give the best answer even when its confidence is under the cut.")
@retrieval_options
@device_option
@backend_option
@json_option
@friendly_errors
def ask(question, index_path, k, alternatives, reader, min_confidence, always_answer, mode, path_glob, ext, after,
        before, label, device, backend, as_json):
    """Answer QUESTION from the indexed documents, citing file and position.

    Each answer comes with its confidence: the estimated probability that it is
    right. Under the cut, ask says "No answer found" and shows the closest passages."""
    from ..index import Index

    quiet_transformers()
    with Index(index_path, device=device, reader=reader, backend=backend) as idx:
        result = idx.ask(question, k=k, alternatives=alternatives, always_answer=always_answer,
                         min_confidence=min_confidence, **retrieval_filters(mode, path_glob, ext, after, before, label))
    if as_json:
        click.echo(json.dumps(result.to_dict(), indent=2, ensure_ascii=False))
        return
    if not result.found:
        guess = "" if result.confidence is None else f" (the best guess has confidence {result.confidence:.2f})"
        click.echo(f"No answer found{guess}. The closest passages:\n")
        for passage in result.passages[:3]:
            click.echo(f"  {cite(passage.path, passage.line, passage.start, passage.end)}")
            click.echo(textwrap.indent(wrap(snippet(passage.text)), "    ") + "\n")
        return
    best, *others = result.answers
    if not result.confident:
        click.echo("(Confidence under the cut: a best guess.)")
    click.echo(click.style(best.text, bold=True))
    click.echo(f"  {cite(best.path, best.line, best.start, best.end)}  (confidence {best.confidence:.2f})\n")
    click.echo(textwrap.indent(wrap(highlight(best)), "  "))
    if others:
        click.echo("\nAlternatives:")
        for answer in others:
            click.echo(f"  {answer.text}  {cite(answer.path, answer.line, answer.start, answer.end)}  "
                       f"(confidence {answer.confidence:.2f})")


@click.command()
@index_option
@json_option
@friendly_errors
def info(index_path, as_json):
    """Counts, model, pooling and size of the index."""
    from ..index import Index

    with Index(index_path) as idx:
        data = idx.info().to_dict()
    if as_json:
        click.echo(json.dumps(data, indent=2))
        return
    width = max(map(len, data))
    for key, value in data.items():
        if key == "size_bytes":
            key, value = "size", f"{value / 1e6:.1f} MB"
        if key == "labels":
            value = ", ".join(f"{label} {n}" for label, n in value.items()) or "none"
        click.echo(f"{key.replace('_', ' '):<{width}}  {value}")


