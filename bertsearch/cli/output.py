"""How commands print: citations, snippets, highlighted answers, one-line notices on stderr."""

import os
import textwrap

import click

SNIPPET_CHARS = 320


def echo_err(line: str) -> None:
    click.echo(line, err=True)


def echo_update(update) -> None:
    click.echo(update.summary(), err=True)


def url_host(host: str) -> str:
    return f"[{host}]" if ":" in host else host


def cite(path: str, line: int, start: int, end: int) -> str:
    """`file:line` (relative to the working folder when inside it) and the character span."""
    try:
        shown = os.path.relpath(path)
        shown = path if shown.startswith("..") else shown
    except ValueError:  # another drive on Windows
        shown = path
    return f"{shown}:{line} [chars {start}-{end}]"


def snippet(text: str) -> str:
    text = " ".join(text.split())
    return text if len(text) <= SNIPPET_CHARS else text[:SNIPPET_CHARS].rsplit(" ", 1)[0] + " …"


def wrap(text: str) -> str:
    return "\n".join(textwrap.wrap(text, width=88))


def highlight(answer) -> str:
    """The answer's passage with the answer marked **like this**."""
    p = answer.passage
    marked = f"{p[: answer.passage_start]}**{p[answer.passage_start : answer.passage_end]}**{p[answer.passage_end :]}"
    return " ".join(marked.split())

