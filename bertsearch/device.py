"""Choosing where models run and in which precision."""

import contextlib
import os

from .errors import InvalidSettingError

PRECISIONS = ("auto", "fp32", "bf16", "fp16")
CPU_PRECISIONS = ("fp32", "bf16")


def choose_device(device: str | None = None) -> str:
    """The device to run on: the one asked for (checked, see `check_device`), else the GPU when there is one."""
    import torch

    if device:
        return check_device(device)
    if torch.cuda.is_available():
        return "cuda"
    if _mps_available():
        return "mps"
    return "cpu"


def available_devices() -> list[str]:
    """The devices this machine's PyTorch can run on: cpu, each CUDA GPU, mps."""
    import torch

    devices = ["cpu"]
    if torch.cuda.is_available():
        devices += [f"cuda:{i}" for i in range(torch.cuda.device_count())]
    if _mps_available():
        devices.append("mps")
    return devices


def check_device(device: str) -> str:
    """`device` if this machine has it; InvalidSettingError naming the devices it has otherwise."""
    import torch

    try:
        parsed = torch.device(device)
    except (RuntimeError, ValueError):
        parsed = None
    available = available_devices()
    if parsed is not None:
        if parsed.type == "cpu":
            return device
        if parsed.type == "cuda" and torch.cuda.is_available() and (parsed.index or 0) < torch.cuda.device_count():
            return device
        if parsed.type == "mps" and "mps" in available:
            return device
    why = "" if parsed is None else " here" + (" (this PyTorch was built without CUDA)"
                                               if parsed.type == "cuda" and not torch.backends.cuda.is_built() else "")
    kind = "unknown device" if parsed is None else "no device"
    raise InvalidSettingError(f"{kind} {device!r}{why}: this machine has {', '.join(available)}; "
                              "leave out --device to use the best of them")


def _mps_available() -> bool:
    import torch

    return bool(getattr(torch.backends, "mps", None) and torch.backends.mps.is_available())


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
