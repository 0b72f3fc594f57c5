"""Choosing where models run and in which precision."""

import contextlib
import os

PRECISIONS = ("auto", "fp32", "bf16", "fp16")


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
    """'auto' means half precision on a GPU and, on the CPU, $BERTSEARCH_CPU_PRECISION or float32."""
    if precision not in PRECISIONS:
        raise ValueError(f"precision must be one of {PRECISIONS}, not {precision!r}")
    if precision != "auto":
        return precision
    if device.startswith("cuda"):
        return "fp16"
    return os.environ.get("BERTSEARCH_CPU_PRECISION", "fp32")


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
