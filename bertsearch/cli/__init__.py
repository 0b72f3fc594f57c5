"""The `bertsearch` command: a thin layer over `bertsearch.Index`, one module per group of commands.

    options.py   the options every command shares, typed errors as one line
    output.py    citations, snippets, highlighted answers
    indexing.py  index, remove, watch, check
    querying.py  search, ask, info
    serving.py   serve, mcp
    dev.py       train-reader, eval
    classify.py  classify train|predict|eval|label

A new command goes in the module of its group and is added to `cli` below.
"""

import logging
import os

import click

from .classify import classify
from .dev import eval_command, train_reader
from .indexing import check, index, remove, watch
from .querying import ask, info, search
from .serving import mcp, serve

__all__ = ["cli", "index", "remove", "watch", "check", "search", "ask", "info", "serve", "mcp", "train_reader",
           "eval_command", "classify"]


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(None, "-V", "--version", package_name="bertsearch", prog_name="bertsearch")
def cli():
    """Semantic search and question answering over your own documents.

    \b
    bertsearch index docs/
    bertsearch search "how are passages split?"
    bertsearch ask "Who designed the Eiffel Tower?"
    """
    os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")
    os.environ.setdefault("TRANSFORMERS_NO_ADVISORY_WARNINGS", "1")
    os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
    # A PDF that does not parse gets its one "skipped" line; pypdf's own warnings about it stay quiet.
    logging.getLogger("pypdf").setLevel(logging.ERROR)


for command in (index, remove, watch, check, search, ask, info, serve, mcp, train_reader, eval_command, classify):
    cli.add_command(command)
