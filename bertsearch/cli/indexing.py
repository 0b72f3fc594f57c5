"""`bertsearch index`, `remove`, `watch` and `check`: the commands that change or verify an index."""

import contextlib
import dataclasses
import json
from pathlib import Path

import click

from .options import (backend_option, device_option, friendly_errors, index_option, json_option, quiet_transformers,
                      wait_option)
from .output import echo_err, echo_update


@click.command()
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
@click.option("--pdf-password", envvar="BERTSEARCH_PDF_PASSWORD",
              help="Password that opens encrypted PDFs (tried on every one in this run); without it they are skipped.")
@click.option("--faiss", "faiss", metavar="KIND", envvar="BERTSEARCH_FAISS",
              help="Vector index kind, a FAISS factory string (Flat, HNSW32, IVF1024,Flat), or auto (default: "
                   "exact while small, HNSW above 50,000 passages). Remembered by the index.")
@click.option("--ray", "ray_address", is_flag=False, flag_value="", default=None, metavar="[ADDRESS]",
              callback=lambda ctx, param, value: _ray_address(value),
              help="Encode on Ray: a bare --ray joins or starts a local instance (or $BERTSEARCH_RAY_ADDRESS); "
                   "ADDRESS is auto, ray://HOST:10001 or HOST:6379. Needs pip install 'bertsearch[ray]'.")
@click.option("--ray-actors", type=click.IntRange(min=1),
              help="Encoders running at once on Ray (default: one per GPU, else one per 2 CPUs).")
@click.option("--ray-batch-size", type=click.IntRange(min=1), default=256, show_default=True,
              help="Texts per call on a Ray actor.")
@friendly_errors
def index(paths, index_path, model, pooling, passage_tokens, overlap_tokens, device, backend, quiet, as_json, wait,
          max_file_mb, follow_links, pdf_password, faiss, ray_address, ray_actors, ray_batch_size):
    """Index files and folders. Run it again to pick up changes: only new or
    changed files are encoded, and files deleted from the folders are dropped."""
    from ..index import Index
    from ..ingest import Interrupted

    quiet_transformers()
    notify = None if quiet else (lambda line: click.echo(line, err=True))
    encoding = _ray_encoding(ray_address, ray_actors, ray_batch_size)
    with encoding or contextlib.nullcontext(), \
            Index(index_path, model=model, pooling=pooling, device=device,
                  passage_tokens=passage_tokens, overlap_tokens=overlap_tokens,
                  lock_timeout=wait, max_file_bytes=int(max_file_mb * 1e6) or None, backend=backend,
                  faiss=faiss) as idx:
        try:
            report = idx.add(paths, progress=not quiet, notify=notify, follow_links=follow_links,
                             pdf_password=pdf_password, encoding=encoding)
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


def _ray_address(value: str | None) -> str | None:
    """--ray's address, checked as it is parsed (before a folder taken for it is missed as PATHS)."""
    if value is None:
        return None
    from ..errors import InvalidSettingError
    from ..ray_encoding import check_address

    try:
        return check_address(value)
    except InvalidSettingError as error:
        raise click.UsageError(str(error)) from None


def _ray_encoding(address: str | None, actors: int | None, batch_size: int):
    """The Ray encoding step `--ray` asks for; None (encode here) without it."""
    if address is None:
        if actors is not None:
            raise click.UsageError("--ray-actors needs --ray")
        return None
    from ..ray_encoding import RayEncoding

    return RayEncoding(address, actors=actors, batch_size=batch_size)

@click.command()
@click.argument("paths", nargs=-1, required=True, type=click.Path(path_type=Path))
@index_option
@wait_option
@friendly_errors
def remove(paths, index_path, wait):
    """Remove documents (files, or everything inside folders) from the index."""
    from ..index import Index

    with Index(index_path, lock_timeout=wait) as idx:
        removed = idx.remove(paths)
    if not removed:
        raise click.ClickException("none of these paths is in the index: give files or folders as they were indexed")
    click.echo(f"Removed {len(removed)} documents.")


@click.command()
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
    from ..index import Index
    from ..watch import Watcher

    quiet_transformers()
    from ..backends import resident_backend

    with Index(index_path, device=device, backend=resident_backend(device)) as idx:
        watcher = Watcher(idx, paths, on_update=echo_update, notify=echo_err, debounce=debounce)
        echo_err(f"Catching up with {', '.join(map(str, paths))} into {index_path} ...")
        with watcher.start():
            echo_err("Watching for changes (Ctrl-C to stop).")
            wait_for_interrupt()

def wait_for_interrupt() -> None:
    """Block until Ctrl-C or SIGTERM."""
    import signal
    import threading

    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    try:
        stop.wait()
    except KeyboardInterrupt:
        pass


@click.command()
@index_option
@click.option("--repair", is_flag=True, help="Rebuild the FAISS file from SQLite and remove leftover files.")
@wait_option
@json_option
@friendly_errors
def check(index_path, repair, wait, as_json):
    """Verify the index: SQLite integrity, FAISS/SQLite agreement, the recorded
    encoder. Exits with status 1 if a problem remains."""
    from ..index import Index

    with Index(index_path, lock_timeout=wait) as idx:
        report = idx.check(repair=repair)
    if as_json:
        click.echo(json.dumps({**dataclasses.asdict(report), "ok": report.ok}, indent=2))
    else:
        print_check(report)
    if not report.ok:
        raise SystemExit(1)


def print_check(report) -> None:
    encoder = report.encoder
    faiss = (f"{report.faiss_file}, {report.faiss}, {report.faiss_vectors} vectors" if report.faiss_file
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


