"""OpenVINO sessions on the cached ONNX graphs: bf16 on CPUs that compute it natively, fp32 elsewhere.

Why: on a CPU with AMX or AVX-512 BF16 (the project's Xeon), OpenVINO's bf16
kernels encode as fast as torch's bf16 autocast per core (2.5x it in wall time
on a loaded machine, whose threads it shares better), and ONNX Runtime's
fp32 about 4x slower than torch (docs/onnx.md). OpenVINO reads the very graph
the ONNX backend exports and caches (`onnx_backend`: same key, same
tokenizer), so a checkpoint is exported once for both and a changed checkpoint
is never paired with a stale graph.

OpenVINO caches what it compiles in the graph's own folder (`<key>/openvino/`,
its `CACHE_DIR`), which makes later starts of the same model several times
faster; a graph exported again (damaged, or filed under the wrong key) takes
its folder, and so its compiled blobs, with it.

`OpenVinoSession.run(None, features)` has the shape of ONNX Runtime's
`InferenceSession.run`, so `OnnxEncoder` and `OnnxReader` drive either one.
Each thread gets its own infer request: one compiled model serves a server's
worker threads.
"""

import threading
from pathlib import Path

import numpy as np

OPENVINO_PRECISIONS = ("fp32", "bf16")
_HINTS = {"fp32": "f32", "bf16": "bf16"}


def _core(cache: Path | None = None):
    import openvino

    core = openvino.Core()
    if cache is not None:
        cache.mkdir(parents=True, exist_ok=True)
        core.set_property({"CACHE_DIR": str(cache)})
    return core


def native_bf16() -> bool:
    """Whether OpenVINO computes bf16 natively on this CPU (AMX or AVX-512 BF16); elsewhere it would emulate it."""
    return "BF16" in _core().get_property("CPU", "OPTIMIZATION_CAPABILITIES")


def auto_precision() -> str:
    """bf16 where the CPU computes it natively (the same answers as fp32 on the quality bars, about 3x faster
    here: docs/onnx.md), else fp32."""
    return "bf16" if native_bf16() else "fp32"


class OpenVinoSession:
    """An ONNX graph compiled by OpenVINO for the CPU in `precision`, run like an ONNX Runtime session.

    `precision` is what OpenVINO actually computes in (it falls back to fp32 where bf16 is not native),
    so the index records the truth.
    """

    def __init__(self, graph_file: Path, precision: str, *, cache: Path | None = None):
        if precision not in OPENVINO_PRECISIONS:
            raise ValueError(f"OpenVINO runs in {' or '.join(OPENVINO_PRECISIONS)}, not {precision!r}")
        self.compiled = _core(cache).compile_model(str(graph_file), "CPU", {
            "INFERENCE_PRECISION_HINT": _HINTS[precision],
            "PERFORMANCE_HINT": "LATENCY",  # one stream on all cores: callers run one batch at a time
        })
        actual = self.compiled.get_property("INFERENCE_PRECISION_HINT")  # an openvino.Type: bf16, f32
        self.precision = "bf16" if "bf16" in (actual.get_type_name(), str(actual)) else "fp32"
        self._outputs = [output.get_any_name() for output in self.compiled.outputs]
        self._requests = threading.local()

    def run(self, output_names, features: dict[str, np.ndarray]) -> list[np.ndarray]:
        """The graph's outputs (float32 arrays, copied out of OpenVINO's buffers) for `features`."""
        request = getattr(self._requests, "request", None)
        if request is None:
            request = self._requests.request = self.compiled.create_infer_request()
        result = request.infer(features)
        names = output_names or self._outputs
        return [np.array(result[name], dtype=np.float32) for name in names]
