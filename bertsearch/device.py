"""Choosing where models run and in which precision."""

import contextlib
import os

from .errors import InvalidSettingError

PRECISIONS = ("auto", "fp32", "bf16", "fp16")
CPU_PRECISIONS = ("fp32", "bf16")


def choose_device(device: str | None = None) -> str:
    """The device to run on: the one asked for, else the GPU when there is one."""
    import torch

    if device:
        return device
    if torch.cuda.is_available():
        return "cuda"
    if getattr(torch.backends, "mps", None) and torch.backends.mps.is_available():
        return "mps"
    return "cpu"


def effective_precision(precision: str, device: str) -> str:
    """'auto' means fp16 on a GPU and, on the CPU, $BERTSEARCH_CPU_PRECISION if set, else bf16
    where the CPU computes in bf16 natively (faster at the same answers: docs/benchmarks.md), else fp32."""
    if precision not in PRECISIONS:
        raise InvalidSettingError(f"precision must be one of {', '.join(PRECISIONS)}, not {precision!r}")
    if precision != "auto":
        return precision
    if device.startswith("cuda"):
        return "fp16"
    if device != "cpu":
        return "fp32"
    chosen = os.environ.get("BERTSEARCH_CPU_PRECISION", "").strip().lower()
    if chosen and chosen not in CPU_PRECISIONS:
        raise InvalidSettingError(f"BERTSEARCH_CPU_PRECISION must be one of {', '.join(CPU_PRECISIONS)}, not {chosen!r}")
    return chosen or ("bf16" if cpu_has_native_bf16() else "fp32")


def cpu_has_native_bf16() -> bool:
    """Whether this CPU has bf16 instructions (AVX-512 BF16 or AMX); elsewhere bf16 is emulated, and slower."""
    import torch

    checks = ("_is_avx512_bf16_supported", "_is_amx_tile_supported")
    return any(getattr(torch.cpu, check, lambda: False)() for check in checks)


def prepare(model, device: str, precision: str):
    """Move `model` to `device` in eval mode, halved for fp16, else in float32 (bf16 comes from autocast).

    A checkpoint saved in half precision loads as such: without the cast it would
    run in fp16 on a CPU, and fail under bf16 autocast ("mixed dtype").
    """
    if precision == "fp16":
        model.half()
    else:
        model.float()
    return model.to(device).eval()


def autocast(device: str, precision: str):
    """bf16 autocast where asked for; a no-op context otherwise."""
    import torch

    if precision == "bf16":
        return torch.autocast(device_type=device.split(":")[0], dtype=torch.bfloat16)
    return contextlib.nullcontext()
