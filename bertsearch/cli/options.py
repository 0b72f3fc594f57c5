"""Options and error handling shared by every `bertsearch` command.

Each command is a thin layer over `bertsearch.Index`: its options arrive as
keyword arguments, a typed `BertsearchError` becomes one line on stderr and
exit status 1 (`friendly_errors`), never a traceback.
"""

import functools
import sys
from pathlib import Path

import click

from ..errors import BertsearchError
from ..search_modes import DEFAULT_MODE, MODES
from ..search_modes import HELP as MODES_HELP


def friendly_errors(command):
    """Turn bertsearch's typed errors into one line on stderr and exit status 1."""

    @functools.wraps(command)
    def wrapper(*args, **kwargs):
        try:
            return command(*args, **kwargs)
        except BertsearchError as error:
            raise click.ClickException(str(error)) from None

    return wrapper


def index_option(command):
    return click.option(
        "--index", "index_path", type=click.Path(file_okay=False, path_type=Path),
        envvar="BERTSEARCH_INDEX", default=".bertsearch", show_default=True,
        help="Index folder (env BERTSEARCH_INDEX).",
    )(command)


def device_option(command):
    return click.option("--device", help="Force a device, e.g. cpu, cuda, cuda:1 (default: the GPU if there is one).")(command)


def backend_option(command):
    return click.option(
        "--backend", type=click.Choice(["torch", "onnx", "openvino"]), envvar="BERTSEARCH_BACKEND",
        help="Run the models with torch, ONNX Runtime or OpenVINO (env BERTSEARCH_BACKEND; default on a CPU-only "
             "machine: ONNX Runtime for queries, OpenVINO where installed (else torch) for indexing; torch with a GPU).",
    )(command)


def wait_option(command):
    return click.option(
        "--wait", "wait", type=click.FloatRange(min=0), envvar="BERTSEARCH_WAIT", default=0, show_default=True,
        help="Seconds to wait for another process writing to the index (env BERTSEARCH_WAIT).",
    )(command)


def json_option(command):
    return click.option("--json", "as_json", is_flag=True, help="Print JSON.")(command)


class IsoDate(click.ParamType):
    """A date or date and time in ISO 8601, as `datetime.fromisoformat` reads it (2024-05-31, 2024-05-31T14:00)."""

    name = "DATE"

    def convert(self, value, param, ctx):
        from datetime import datetime

        if isinstance(value, datetime):
            return value
        try:
            return datetime.fromisoformat(value)
        except ValueError:
            self.fail(f"{value!r} is not a date: use 2024-05-31 or 2024-05-31T14:00", param, ctx)


def retrieval_options(command):
    """--mode and the filters, shared by search and ask; they arrive as one `retrieval` dict."""
    options = [
        click.option("--mode", type=click.Choice(MODES), default=DEFAULT_MODE, show_default=True, help=MODES_HELP),
        click.option("--path", "path_glob", metavar="GLOB", help="Only documents whose path matches GLOB (relative to the working folder; * also crosses /)."),
        click.option("--ext", multiple=True, help="Only documents with this extension, e.g. md (repeat for more)."),
        click.option("--after", type=IsoDate(), help="Only documents modified at or after this date (e.g. 2024-05-31)."),
        click.option("--before", type=IsoDate(), help="Only documents modified before this date."),
        click.option("--label", help="Only documents `bertsearch classify label` gave this label."),
    ]
    for option in reversed(options):
        command = option(command)
    return command


dense_weight_option = click.option(
    "--dense-weight", type=click.FloatRange(0, 1), metavar="W",
    help="Weight of the vectors in hybrid mode, 0 to 1 (default: the index's own, chosen when indexing; see info).")


def retrieval_filters(mode, path_glob, ext, after, before, label) -> dict:
    return {"mode": mode, "path": path_glob, "ext": ext, "after": after, "before": before, "label": label}


def quiet_transformers() -> None:
    """Quiet transformers if it is already imported; `cli` quiets a later import through the environment,
    so a command on the ONNX backend never imports it."""
    if "transformers" in sys.modules:
        from transformers.utils import logging

        logging.set_verbosity_error()
        logging.disable_progress_bar()

