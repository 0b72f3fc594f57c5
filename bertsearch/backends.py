"""Which library runs the models: torch (the reference, GPUs, training) or ONNX Runtime (the CPU default).

`--backend torch|onnx` or $BERTSEARCH_BACKEND choose. By default queries
(search, ask) on a CPU-only machine use ONNX Runtime, which starts in a fraction
of torch's time; indexing (`bulk`) uses torch, whose bf16 autocast encodes
faster in bulk than ONNX Runtime's fp32 (1.47x on the project's CPU:
docs/onnx.md), and so does a machine with an NVIDIA driver, or a `--device`
other than cpu. Either backend's vectors answer the other's queries (99.7% same
top-1, measured). Choosing imports neither library.

Precisions: torch runs fp32, bf16 or fp16 (`device.effective_precision`); ONNX
Runtime runs fp32 or int8 (dynamic quantization), and "auto" picks per model
what held the quality bars in docs/onnx.md.
"""

import importlib.util
import os
from pathlib import Path

from .errors import InvalidSettingError
from .onnx_backend import ONNX_PRECISIONS

BACKENDS = ("torch", "onnx")
# What "auto" means on the ONNX backend, per model (measured: docs/onnx.md). int8 is opt-in: dynamic
# quantization scales activations per batch, so a text's int8 vector depends on what it is batched with
# (cosine down to 0.990 for MiniLM), and int8 changed the reader's top answer too often.
ONNX_AUTO_PRECISION = {"encoder": "fp32", "reader": "fp32"}


TORCH_ONLY_PRECISIONS = ("bf16", "fp16")


def choose_backend(backend: str | None = None, device: str | None = None, precision: str = "auto", *,
                   bulk: bool = False) -> str:
    """The backend asked for (argument, else $BERTSEARCH_BACKEND), else the measured default: ONNX Runtime
    for queries on a CPU, torch for `bulk` encoding; a device other than the CPU, or a precision only torch
    runs (bf16, fp16), means torch."""
    chosen = (backend or os.environ.get("BERTSEARCH_BACKEND") or "").strip().lower()
    if chosen and chosen not in BACKENDS:
        raise InvalidSettingError(f"the backend must be one of {', '.join(BACKENDS)}, not {chosen!r}")
    on_cpu = device is None or device == "cpu"
    if chosen == "onnx" and not on_cpu:
        raise InvalidSettingError(f"the ONNX backend runs on the CPU only, not on {device!r}: use --backend torch")
    if chosen:
        return chosen
    if precision == "auto" and on_cpu:
        precision = cpu_precision_setting() or "auto"
    if bulk or not on_cpu or precision in TORCH_ONLY_PRECISIONS or _gpu_visible() or not _onnxruntime_installed():
        return "torch"
    return "onnx"


def resident_backend() -> str | None:
    """The backend of a process that stays up (`serve`, `mcp`, `watch`): $BERTSEARCH_BACKEND if set, else
    torch. Start-up, where ONNX Runtime wins, is paid once there; warm, torch read and encoded about 4x faster
    than ONNX Runtime fp32 on the project's CPU (bf16 on AMX; docs/onnx.md)."""
    return None if os.environ.get("BERTSEARCH_BACKEND") else "torch"


def cpu_precision_setting() -> str | None:
    """$BERTSEARCH_CPU_PRECISION: fp32 or bf16 (torch, `device.effective_precision`), fp32 or int8 (ONNX)."""
    chosen = os.environ.get("BERTSEARCH_CPU_PRECISION", "").strip().lower()
    allowed = ("fp32", "bf16", "int8")
    if chosen and chosen not in allowed:
        raise InvalidSettingError(f"BERTSEARCH_CPU_PRECISION must be one of {', '.join(allowed)}, not {chosen!r}")
    return chosen or None


def onnx_precision(precision: str, kind: str) -> str:
    """The ONNX precision for `precision` ("auto", "fp32" or "int8") of a model of `kind`;
    "auto" is $BERTSEARCH_CPU_PRECISION if set, else what measured best for `kind`."""
    if precision == "auto":
        return cpu_precision_setting() or ONNX_AUTO_PRECISION[kind]
    if precision not in ONNX_PRECISIONS:
        raise InvalidSettingError(f"the ONNX backend runs in {' or '.join(ONNX_PRECISIONS)}, not {precision}: "
                                  "use --backend torch for it")
    return precision


def load_encoder(model: str, *, pooling: str | None = None, device: str | None = None, precision: str = "auto",
                 backend: str | None = None, bulk: bool = False):
    """An `Encoder` or an `OnnxEncoder`, as the backend says (`bulk`: for indexing)."""
    if choose_backend(backend, device, precision, bulk=bulk) == "onnx":
        from .onnx_encoder import OnnxEncoder

        return OnnxEncoder(model, pooling=pooling, precision=onnx_precision(precision, "encoder"))
    from .encoder import Encoder

    return Encoder(model, pooling=pooling, device=device, precision=precision)


def load_reader(model: str | None = None, *, device: str | None = None, precision: str = "auto",
                backend: str | None = None):
    """A `Reader` or an `OnnxReader`, as the backend says."""
    if choose_backend(backend, device, precision) == "onnx":
        from .onnx_reader import OnnxReader

        return OnnxReader(model, precision=onnx_precision(precision, "reader"))
    from .reader import Reader

    return Reader(model, device=device, precision=precision)


def describe(model) -> str:
    """'onnx int8', 'torch bf16': what computed a model's outputs."""
    return f"{getattr(model, 'backend', 'torch')} {model.precision}"


def _gpu_visible() -> bool:
    """An NVIDIA driver is loaded (torch would then run on the GPU); checked without importing torch."""
    return Path("/proc/driver/nvidia/version").exists()


def _onnxruntime_installed() -> bool:
    return importlib.util.find_spec("onnxruntime") is not None
