"""Run one `bertsearch` command in a child process for the fault-injection tests.

It imports the heavy libraries first and prints READY, so that the parent's
randomly timed SIGKILL lands in the command's own work, not in Python's imports.
"""

import sys

import faiss  # noqa: F401
import torch  # noqa: F401
import transformers  # noqa: F401

import bertsearch.encoder  # noqa: F401
import bertsearch.index  # noqa: F401
from bertsearch.cli import cli

print("READY", flush=True)
cli(sys.argv[1:])
