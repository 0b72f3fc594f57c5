"""Which library runs the models: torch (the reference, GPUs, training), OpenVINO or ONNX Runtime (CPUs).

`--backend torch|onnx|openvino` or $BERTSEARCH_BACKEND choose. By default, on a
CPU-only machine, the backend is chosen per workload, as measured (docs/onnx.md):
one-shot queries (search, ask) run on ONNX Runtime, which starts fastest;
indexing (`bulk`) and the processes that stay up (serve, mcp, watch:
`resident_backend`) run on OpenVINO where it is installed (the `openvino`
extra: bf16 on AMX / AVX-512 BF16, torch bf16's speed per core and 2.5x it loaded), else on
torch, whose bf16 autocast encodes about 4x faster than ONNX Runtime's fp32 once
loaded. A machine with an NVIDIA driver, or a `--device` other than cpu, means
torch. Any backend's vectors answer another's queries (at least 99% same top-1,
measured). Choosing imports no model library.

Precisions: torch runs fp32, bf16 or fp16 (`device.effective_precision`);
ONNX Runtime fp32 or int8 (dynamic quantization); OpenVINO fp32 or bf16. "auto"
picks per model what held the quality bars in docs/onnx.md.
"""

import importlib.util
import os
from pathlib import Path

from .errors import InvalidSettingError
from .onnx_backend import GRAPH_PRECISIONS

BACKENDS = ("torch", "onnx", "openvino")
# What "auto" means on ONNX Runtime, per model (measured: docs/onnx.md). int8 is opt-in: dynamic
# quantization scales activations per batch, so a text's int8 vector depends on what it is batched with
# (cosine down to 0.990 for MiniLM), and int8 changed the reader's top answer too often.
ONNX_AUTO_PRECISION = {"encoder": "fp32", "reader": "fp32"}
GRAPH_BACKENDS = ("onnx", "openvino")  # the backends that run the exported ONNX graph, on the CPU only


def choose_backend(backend: str | None = None, device: str | None = None, precision: str = "auto", *,
                   bulk: bool = False) -> str:
    """The backend asked for (argument, else $BERTSEARCH_BACKEND), else the measured default on a CPU: ONNX
    Runtime for queries, and OpenVINO (where installed, else torch) for `bulk` encoding. A device other than the
    CPU, or a precision only some backends run (fp16: torch; int8: ONNX Runtime; bf16: OpenVINO or torch),
    decides it too."""
    chosen = (backend or os.environ.get("BERTSEARCH_BACKEND") or "").strip().lower()
    if chosen and chosen not in BACKENDS:
        raise InvalidSettingError(f"the backend must be one of {', '.join(BACKENDS)}, not {chosen!r}")
    on_cpu = device is None or device == "cpu"
    if chosen in GRAPH_BACKENDS and not on_cpu:
        raise InvalidSettingError(f"the {chosen} backend runs on the CPU only, not on {device!r}: use --backend torch")
    if chosen == "openvino" and not openvino_installed():
        raise InvalidSettingError("the openvino backend needs OpenVINO: pip install 'bertsearch[openvino]', "
                                  "or use another --backend")
    if chosen:
        return chosen
    if not on_cpu or _gpu_visible():
        return "torch"
    if precision == "auto":
        precision = cpu_precision_setting() or "auto"
    if precision == "fp16":
        return "torch"
    if precision == "int8":
        return "onnx" if _onnxruntime_installed() else "torch"
    if bulk or precision == "bf16" or not _onnxruntime_installed():
        return "openvino" if openvino_installed() else "torch"
    return "onnx"


def resident_backend(device: str | None = None) -> str | None:
    """The backend of a process that stays up (`serve`, `mcp`, `watch`): None ($BERTSEARCH_BACKEND, or a device
    other than the CPU, decides) if set, else the bulk default, OpenVINO or torch. Start-up, where ONNX Runtime
    wins, is paid once there; warm, OpenVINO bf16 and torch bf16 read and encode several times faster than ONNX
    Runtime fp32 on the project's CPU (docs/onnx.md)."""
    if os.environ.get("BERTSEARCH_BACKEND") or not (device is None or device == "cpu"):
        return None
    return choose_backend(device=device, bulk=True)


def cpu_precision_setting() -> str | None:
    """$BERTSEARCH_CPU_PRECISION: fp32 or bf16 (torch, `device.effective_precision`; OpenVINO), fp32 or int8
    (ONNX Runtime)."""
    chosen = os.environ.get("BERTSEARCH_CPU_PRECISION", "").strip().lower()
    allowed = ("fp32", "bf16", "int8")
    if chosen and chosen not in allowed:
        raise InvalidSettingError(f"BERTSEARCH_CPU_PRECISION must be one of {', '.join(allowed)}, not {chosen!r}")
    return chosen or None


def graph_precision(precision: str, kind: str, backend: str = "onnx") -> str:
    """The precision `backend` (onnx or openvino) runs a model of `kind` in, for `precision` ("auto" or one it
    runs); "auto" is $BERTSEARCH_CPU_PRECISION if set, else what measured best (docs/onnx.md)."""
    if precision == "auto":
        precision = cpu_precision_setting() or "auto"
    if precision == "auto":
        if backend == "openvino":
            from .openvino_backend import auto_precision

            return auto_precision()
        return ONNX_AUTO_PRECISION[kind]
    if precision not in GRAPH_PRECISIONS[backend]:
        raise InvalidSettingError(f"the {backend} backend runs in {' or '.join(GRAPH_PRECISIONS[backend])}, "
                                  f"not {precision}: choose another --backend for it")
    return precision


def onnx_precision(precision: str, kind: str) -> str:
    """`graph_precision` on ONNX Runtime."""
    return graph_precision(precision, kind, "onnx")


def load_encoder(model: str, *, pooling: str | None = None, device: str | None = None, precision: str = "auto",
                 backend: str | None = None, bulk: bool = False):
    """An `Encoder` or an `OnnxEncoder`, as the backend says (`bulk`: for indexing)."""
    chosen = choose_backend(backend, device, precision, bulk=bulk)
    if chosen in GRAPH_BACKENDS:
        from .onnx_encoder import OnnxEncoder

        return OnnxEncoder(model, pooling=pooling, precision=graph_precision(precision, "encoder", chosen),
                           backend=chosen)
    from .encoder import Encoder

    return Encoder(model, pooling=pooling, device=device, precision=precision)


def load_reader(model: str | None = None, *, device: str | None = None, precision: str = "auto",
                backend: str | None = None):
    """A `Reader` or an `OnnxReader`, as the backend says."""
    chosen = choose_backend(backend, device, precision)
    if chosen in GRAPH_BACKENDS:
        from .onnx_reader import OnnxReader

        return OnnxReader(model, precision=graph_precision(precision, "reader", chosen), backend=chosen)
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


def openvino_installed() -> bool:
    return importlib.util.find_spec("openvino") is not None
