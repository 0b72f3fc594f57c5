"""Run one `bertsearch` command in a child process for the fault-injection tests.

It imports the heavy libraries first and prints READY, so that the parent's
randomly timed SIGKILL lands in the command's own work, not in Python's imports.
The child runs the models on ONNX Runtime (`crashkit.driver_env` sets
BERTSEARCH_BACKEND=onnx): what a kill can leave depends on the commits, not on
what computed the vectors, and ONNX Runtime starts in a fraction of torch's
time. Neither torch nor transformers is imported.
"""

import os
import sys

import faiss  # noqa: F401

import bertsearch.index  # noqa: F401
from bertsearch.cli import cli

if os.environ.get("BERTSEARCH_BACKEND") == "onnx":
    import onnxruntime  # noqa: F401
    import tokenizers  # noqa: F401

    import bertsearch.onnx_encoder  # noqa: F401
else:
    import torch  # noqa: F401
    import transformers  # noqa: F401

    import bertsearch.encoder  # noqa: F401

print("READY", flush=True)
cli(sys.argv[1:])
