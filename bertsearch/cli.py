"""The `bertsearch` command: a thin layer over `bertsearch.Index`."""

import contextlib
import dataclasses
import functools
import json
import logging
import os
import sys
import textwrap
from pathlib import Path

import click

from .errors import BertsearchError
from .search_modes import DEFAULT_MODE, MODES
from .search_modes import HELP as MODES_HELP

SNIPPET_CHARS = 320
MCP_WRITE_WAIT = 10.0  # seconds a write from `mcp` (the watcher's, or the index tool's) waits for another writer


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
             "machine: OpenVINO where installed, else ONNX Runtime for queries and torch for indexing; torch with a GPU).",
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


def _retrieval(mode, path_glob, ext, after, before, label) -> dict:
    return {"mode": mode, "path": path_glob, "ext": ext, "after": after, "before": before, "label": label}


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


@cli.command()
@click.argument("paths", nargs=-1, required=True, type=click.Path(exists=True, path_type=Path))
@index_option
@click.option("--model", help="Encoder: a hub id or a local folder (default: all-MiniLM-L6-v2, shipped offline). Fixed when the index is created.")
@click.option("--pooling", type=click.Choice(["cls", "mean"]), help="Override the pooling the checkpoint declares ([CLS] if it declares none).")
@click.option("--passage-tokens", type=click.IntRange(min=8), help="Passage size in encoder tokens (default 200). Fixed when the index is created.")
@click.option("--overlap-tokens", type=click.IntRange(min=0), help="Tokens shared by passages cut inside a paragraph (default 40).")
@device_option
@backend_option
@click.option("-q", "--quiet", is_flag=True, help="No progress bar and no per-file notices.")
@json_option
@wait_option
@click.option("--max-file-mb", type=click.FloatRange(min=0), default=10, show_default=True,
              help="Skip files bigger than this (PDFs: their text), with a notice; 0 for no limit.")
@click.option("--follow-links", is_flag=True,
              help="Follow symbolic links that lead out of the folders given (and links to folders).")
@friendly_errors
def index(paths, index_path, model, pooling, passage_tokens, overlap_tokens, device, backend, quiet, as_json, wait,
          max_file_mb, follow_links):
    """Index files and folders. Run it again to pick up changes: only new or
    changed files are encoded, and files deleted from the folders are dropped."""
    from .index import Index
    from .ingest import Interrupted

    _quiet_transformers()
    notify = None if quiet else (lambda line: click.echo(line, err=True))
    with Index(index_path, model=model, pooling=pooling, device=device,
               passage_tokens=passage_tokens, overlap_tokens=overlap_tokens,
               lock_timeout=wait, max_file_bytes=int(max_file_mb * 1e6) or None, backend=backend) as idx:
        try:
            report = idx.add(paths, progress=not quiet, notify=notify, follow_links=follow_links)
        except Interrupted as stop:
            done = stop.report
            click.echo(f"\nInterrupted: {len(done.added) + len(done.updated)} files committed "
                       f"({len(done.added)} new, {len(done.updated)} changed) into {index_path}, each whole; "
                       "run the same command again to finish.", err=True)
            raise SystemExit(130) from None
    if as_json:
        data = dataclasses.asdict(report)
        data["skipped"] = [{"path": str(s.path), "reason": s.reason} for s in report.skipped]
        click.echo(json.dumps(data, indent=2))
        return
    click.echo(
        f"Indexed {len(report.added) + len(report.updated) + report.unchanged} files into {index_path}: "
        f"{len(report.added)} new, {len(report.updated)} changed, {report.unchanged} unchanged, "
        f"{len(report.removed)} removed, {len(report.skipped)} skipped; "
        f"{report.passages_encoded} passages encoded, {report.passages_reused} reused."
    )


@cli.command()
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
    from .index import Index

    _quiet_transformers()
    with Index(index_path, device=device, backend=backend) as idx:
        results = idx.search(query, k=k, **_retrieval(mode, path_glob, ext, after, before, label))
    if as_json:
        click.echo(json.dumps([dataclasses.asdict(r) for r in results], indent=2, ensure_ascii=False))
        return
    if not results:
        click.echo("No passages found.")
    for rank, result in enumerate(results, 1):
        click.echo(f"{rank}. {result.score:.3f}  {_cite(result.path, result.line, result.start, result.end)}")
        click.echo(textwrap.indent(_wrap(_snippet(result.text)), "   ") + "\n")


@cli.command()
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
    from .index import Index

    _quiet_transformers()
    with Index(index_path, device=device, reader=reader, backend=backend) as idx:
        result = idx.ask(question, k=k, alternatives=alternatives, always_answer=always_answer,
                         min_confidence=min_confidence, **_retrieval(mode, path_glob, ext, after, before, label))
    if as_json:
        click.echo(json.dumps(result.to_dict(), indent=2, ensure_ascii=False))
        return
    if not result.found:
        guess = "" if result.confidence is None else f" (the best guess has confidence {result.confidence:.2f})"
        click.echo(f"No answer found{guess}. The closest passages:\n")
        for passage in result.passages[:3]:
            click.echo(f"  {_cite(passage.path, passage.line, passage.start, passage.end)}")
            click.echo(textwrap.indent(_wrap(_snippet(passage.text)), "    ") + "\n")
        return
    best, *others = result.answers
    if not result.confident:
        click.echo("(Confidence under the cut: a best guess.)")
    click.echo(click.style(best.text, bold=True))
    click.echo(f"  {_cite(best.path, best.line, best.start, best.end)}  (confidence {best.confidence:.2f})\n")
    click.echo(textwrap.indent(_wrap(_highlight(best)), "  "))
    if others:
        click.echo("\nAlternatives:")
        for answer in others:
            click.echo(f"  {answer.text}  {_cite(answer.path, answer.line, answer.start, answer.end)}  "
                       f"(confidence {answer.confidence:.2f})")


@cli.command()
@click.argument("paths", nargs=-1, required=True, type=click.Path(path_type=Path))
@index_option
@wait_option
@friendly_errors
def remove(paths, index_path, wait):
    """Remove documents (files, or everything inside folders) from the index."""
    from .index import Index

    with Index(index_path, lock_timeout=wait) as idx:
        removed = idx.remove(paths)
    if not removed:
        raise click.ClickException("none of these paths is in the index: give files or folders as they were indexed")
    click.echo(f"Removed {len(removed)} documents.")


@cli.command()
@click.argument("paths", nargs=-1, required=True, type=click.Path(exists=True, file_okay=False, path_type=Path))
@index_option
@device_option
@click.option("--debounce", type=click.FloatRange(min=0), default=0.3, show_default=True,
              help="Seconds of quiet before an update: an editor's save (temp file, rename, delete) is one update.")
@friendly_errors
def watch(paths, index_path, device, debounce):
    """Keep the index in step with folders: creations, edits, renames and
    deletions are indexed as they happen, until Ctrl-C. Catches up first.
    Each update is reported on stderr in one line."""
    from .index import Index
    from .watch import Watcher

    _quiet_transformers()
    from .backends import resident_backend

    with Index(index_path, device=device, backend=resident_backend()) as idx:
        watcher = Watcher(idx, paths, on_update=_echo_update, notify=_echo_err, debounce=debounce)
        _echo_err(f"Catching up with {', '.join(map(str, paths))} into {index_path} ...")
        with watcher.start():
            _echo_err("Watching for changes (Ctrl-C to stop).")
            _wait_for_interrupt()


@cli.command("mcp")
@index_option
@click.option("--watch", "watch_paths", multiple=True, type=click.Path(exists=True, file_okay=False, path_type=Path),
              help="Keep the index in step with this folder while serving (repeat for more), as `bertsearch watch`.")
@click.option("--allow-index", type=click.Path(exists=True, file_okay=False, path_type=Path),
              help="Add an `index` tool that indexes paths inside this folder (without it, the server is read-only).")
@click.option("--reader", envvar="BERTSEARCH_READER", help="Question-answering model for `ask` (env BERTSEARCH_READER; default: the bundled reader).")
@device_option
@friendly_errors
def mcp(index_path, watch_paths, allow_index, reader, device):
    """Serve the index to AI agents over the Model Context Protocol, on stdio.

    An MCP client (Claude Desktop, an IDE, an agent framework) starts this
    command and talks to it on stdin and stdout; every log line goes to stderr.
    Tools: ask, search, get, info (and index, with --allow-index)."""
    import contextlib
    import sys

    from .index import Index
    from .mcp_server import create_mcp_server
    from .watch import Watcher

    _quiet_transformers()
    from .backends import resident_backend

    with Index(index_path, device=device, reader=reader, lock_timeout=MCP_WRITE_WAIT,
               backend=resident_backend()) as idx, \
            contextlib.ExitStack() as running:
        with contextlib.redirect_stdout(sys.stderr):  # whatever loading prints must not reach the protocol
            indexed = _load_models(idx)
            if watch_paths:
                watcher = Watcher(idx, watch_paths, on_update=_echo_update, notify=_echo_err)
                _echo_err(f"Watching {', '.join(map(str, watch_paths))} into {index_path}.")
                running.enter_context(watcher.start(wait=not indexed))  # a new index is built before serving
        _echo_err(f"bertsearch MCP server on stdio for {index_path} (tools: ask, search, get, info"
                  f"{', index' if allow_index else ''}).")
        with contextlib.suppress(KeyboardInterrupt):
            create_mcp_server(idx, allow_index=allow_index).run("stdio")


def _load_models(idx) -> bool:
    """Load the reader and encoder now, once, rather than on the first call; False if nothing is indexed yet
    (the first write records the encoder). A reader that cannot load is reported; `ask` then says why."""
    from .errors import IndexNotFoundError, ModelLoadError

    try:
        idx.reader
    except ModelLoadError as error:
        _echo_err(f"ask is unavailable: {error}")
    try:
        if idx.info().model is None:
            return False
    except IndexNotFoundError:
        return False
    idx.encoder
    return True


def _echo_err(line: str) -> None:
    click.echo(line, err=True)


def _echo_update(update) -> None:
    click.echo(update.summary(), err=True)


def _wait_for_interrupt() -> None:
    """Block until Ctrl-C or SIGTERM."""
    import signal
    import threading

    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    try:
        stop.wait()
    except KeyboardInterrupt:
        pass


@cli.command()
@index_option
@json_option
@friendly_errors
def info(index_path, as_json):
    """Counts, model, pooling and size of the index."""
    from .index import Index

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


@cli.command()
@index_option
@click.option("--repair", is_flag=True, help="Rebuild the FAISS file from SQLite and remove leftover files.")
@wait_option
@json_option
@friendly_errors
def check(index_path, repair, wait, as_json):
    """Verify the index: SQLite integrity, FAISS/SQLite agreement, the recorded
    encoder. Exits with status 1 if a problem remains."""
    from .index import Index

    with Index(index_path, lock_timeout=wait) as idx:
        report = idx.check(repair=repair)
    if as_json:
        click.echo(json.dumps({**dataclasses.asdict(report), "ok": report.ok}, indent=2))
    else:
        _print_check(report)
    if not report.ok:
        raise SystemExit(1)


def _print_check(report) -> None:
    encoder = report.encoder
    faiss = (f"{report.faiss_file}, {report.faiss_vectors} vectors" if report.faiss_file
             else "no file for this generation")
    empty = report.ok and not report.passages and not report.documents
    rows = [
        ("index", report.index), ("sqlite", report.sqlite), ("documents", report.documents),
        ("passages", report.passages), ("generation", report.generation), ("faiss", faiss),
        ("encoder", f"{encoder.get('model')} ({encoder.get('pooling')} pooling, {encoder.get('dim')} dims)"
                    if encoder else "none recorded yet"),
        *[("repaired", line) for line in report.repaired],
        *[("note", line) for line in report.notes],
        *[("problem", line) for line in report.problems],
        ("status", f"{len(report.problems)} problem(s)" if not report.ok
                   else "empty: nothing is indexed yet (run 'bertsearch index PATH')" if empty else "OK"),
    ]
    for key, value in rows:
        click.echo(f"{key:<11} {value}")


@cli.command()
@index_option
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to bind. Any other than loopback needs --token.")
@click.option("--port", type=click.IntRange(0, 65535), default=8765, show_default=True)
@click.option("--token", envvar="BERTSEARCH_TOKEN", help="Require 'Authorization: Bearer TOKEN' on every /api route (env BERTSEARCH_TOKEN).")
@click.option("--allow-host", "allowed_hosts", multiple=True, metavar="NAME", help="Also answer requests for this host name (repeat for more).")
@click.option("--cors", metavar="ORIGIN", help="Let pages from ORIGIN (e.g. http://localhost:3000) call the API.")
@click.option("--allow-index", type=click.Path(exists=True, file_okay=False, path_type=Path), metavar="ROOT",
              help="Enable POST /api/index and DELETE /api/documents/ID for paths inside ROOT.")
@click.option("--batching/--no-batching", default=True, show_default=True, help="Let concurrent requests share forward passes.")
@click.option("--reader", envvar="BERTSEARCH_READER", help="Question-answering model (env BERTSEARCH_READER; default: the bundled reader).")
@click.option("--mcp", "with_mcp", is_flag=True, help="Also serve the MCP server over streamable HTTP at /mcp/ (same token and Host rules).")
@click.option("--watch", "watch_paths", multiple=True, type=click.Path(exists=True, file_okay=False, path_type=Path),
              metavar="PATH", help="Keep the index in step with this folder while serving (repeat for more).")
@device_option
@friendly_errors
def serve(index_path, host, port, token, allowed_hosts, cors, allow_index, batching, reader, with_mcp, watch_paths,
          device):
    """Serve the index over HTTP: a JSON API and a web page at http://HOST:PORT/.

    The models load once, at start. Read-only unless --allow-index; SIGTERM
    or Ctrl-C finish the requests in flight, then exit."""
    from .index import Index
    from .server import create_app, listen, run

    _quiet_transformers()
    sock = listen(host, port)  # before loading anything: a port in use is said at once
    url = f"http://{_url_host(host)}:{sock.getsockname()[1]}/"

    @contextlib.contextmanager
    def announce():  # entered once the models are loaded
        click.echo(f"Serving {index_path} at {url} (Ctrl-C to stop)", err=True)
        yield
        click.echo("Stopped.", err=True)

    mounts, lifespans = {}, [announce]  # options that add an endpoint or a background task add theirs here
    from .backends import resident_backend

    with sock, Index(index_path, device=device, reader=reader, backend=resident_backend()) as idx:
        if watch_paths:  # the same process and encoder; it catches up before the server answers
            from .watch import Watcher

            lifespans.append(lambda: Watcher(idx, watch_paths, on_update=_echo_update, notify=_echo_err))
        elif not allow_index:
            idx.info()  # a read-only server needs an index: say so now, not on every request
        if with_mcp:
            from .mcp_server import create_mcp_server, http_mount

            endpoint = http_mount(create_mcp_server(idx, allow_index=allow_index))
            mounts["/mcp"] = endpoint.app
            lifespans.append(endpoint.lifespan)
        app = create_app(idx, token=token, host=host, allowed_hosts=allowed_hosts, cors=cors,
                         allow_index=allow_index, batching=batching, mounts=mounts, lifespans=lifespans)
        run(app, sock)


@cli.command("train-reader")
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
    from .eval.training import train_reader as train

    _quiet_transformers()
    results = train(train_file, out_dir, dev_file=dev_file, base_model=base_model, epochs=epochs,
                    learning_rate=learning_rate, batch_size=batch_size, max_length=max_length, stride=stride,
                    limit=limit, resume=resume, device=device, progress=not quiet)
    click.echo(json.dumps(results, indent=2))
    click.echo(f"Saved the reader to {out_dir}: use it with  bertsearch ask --reader {out_dir} QUESTION", err=True)


@cli.command("eval")
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
    from .eval.evaluation import evaluate, format_report

    _quiet_transformers()
    result = evaluate(squad_file, index_path, per_paragraph=per_paragraph, k=k, mode=mode, limit=limit, model=model,
                      reader=reader, device=device, retrieval_only=retrieval_only, progress=not quiet)
    click.echo(json.dumps(result, indent=2) if as_json else format_report(result))


def _quiet_transformers() -> None:
    """Quiet transformers if it is already imported; `cli` quiets a later import through the environment,
    so a command on the ONNX backend never imports it."""
    if "transformers" in sys.modules:
        from transformers.utils import logging

        logging.set_verbosity_error()
        logging.disable_progress_bar()


def _url_host(host: str) -> str:
    return f"[{host}]" if ":" in host else host


def _cite(path: str, line: int, start: int, end: int) -> str:
    """`file:line` (relative to the working folder when inside it) and the character span."""
    try:
        shown = os.path.relpath(path)
        shown = path if shown.startswith("..") else shown
    except ValueError:  # another drive on Windows
        shown = path
    return f"{shown}:{line} [chars {start}-{end}]"


def _snippet(text: str) -> str:
    text = " ".join(text.split())
    return text if len(text) <= SNIPPET_CHARS else text[:SNIPPET_CHARS].rsplit(" ", 1)[0] + " …"


def _wrap(text: str) -> str:
    return "\n".join(textwrap.wrap(text, width=88))


def _highlight(answer) -> str:
    """The answer's passage with the answer marked **like this**."""
    p = answer.passage
    marked = f"{p[: answer.passage_start]}**{p[answer.passage_start : answer.passage_end]}**{p[answer.passage_end :]}"
    return " ".join(marked.split())


from .classify_cli import classify  # noqa: E402  (it builds on the helpers above)

cli.add_command(classify)
