"""Encoding on a Ray cluster: the `ingest.Encoding` step behind `bertsearch index --ray`.

The writer (the process holding the index's lock) still finds, extracts and
chunks the files; only the texts of new and changed passages travel. Each call
makes a Ray Data dataset of (key, text) rows (`ray.data.from_items`) and maps
it with `map_batches` over an actor pool of `_EncodeBatches`, which loads the
encoder once per actor: one GPU per actor where the cluster has GPUs, else
`cpus_per_actor` CPUs (and as many torch threads). The vectors stream back
(`iter_batches`) keyed by row, so the order Ray finishes them in does not
matter, and `ingest` commits them file by file as it does local vectors: one
commit point, kill-safe, incremental.

Actors start once per call, so `ingest` gathers `passages_per_call` passages
(many files' worth) before each: big enough that an actor's start-up (a
process, torch, the model) is small beside its work, small enough that memory
stays bounded.

Ray is an optional extra (`pip install 'bertsearch[ray]'`) and is imported only
here, when a `RayEncoding` first encodes: an unchanged folder never starts Ray.
The workers need bertsearch installed and the model reachable under the same
name: the default encoder ships as a pip package, a hub id needs the hub (or
its cache) on every node, and a folder must exist at the same path on each.
"""

import os
import re

import numpy as np

from .errors import BertsearchError, InvalidSettingError, RayEncodingError, RayUnavailableError

INSTALL = "pip install 'bertsearch[ray]'"
LOCAL = "local"  # --ray without an address: a local instance, joined if one runs, else started for the run
ENV_ADDRESS = "BERTSEARCH_RAY_ADDRESS"
DEFAULT_BATCH_SIZE = 256  # texts per map_batches call on an actor
PASSAGES_PER_CALL = 20_000  # passages gathered (across files) for each Ray Data job
_ADDRESS = re.compile(r"^(auto|local|ray://[^\s/]+:\d+|[^\s/:]+:\d+)$")


def check_address(address: str | None) -> str:
    """`address` (None: $BERTSEARCH_RAY_ADDRESS, else "local") if it looks like a Ray address;
    InvalidSettingError otherwise (a folder given right after a bare --ray, say)."""
    address = (address or os.environ.get(ENV_ADDRESS) or LOCAL).strip()
    if not _ADDRESS.match(address):
        raise InvalidSettingError(
            f"--ray takes local, auto, ray://HOST:10001 or HOST:6379, not {address!r}: "
            "put the paths to index before a bare --ray, or write --ray=ADDRESS")
    return address


class RayEncoding:
    """Encode on Ray: `address` "local" (default), "auto", "ray://HOST:10001" or "HOST:6379".

    `actors`: how many encoders run at once (default: one per GPU of the cluster,
    else one per `cpus_per_actor` CPUs); `batch_size`: texts per actor call.
    Use as a context manager (or call `close()`): it disconnects from Ray, and
    shuts down a local instance it started.
    """

    def __init__(self, address: str | None = None, *, actors: int | None = None,
                 batch_size: int = DEFAULT_BATCH_SIZE, cpus_per_actor: int = 2,
                 passages_per_call: int = PASSAGES_PER_CALL):
        if (actors is not None and actors < 1) or batch_size < 1 or cpus_per_actor < 1 or passages_per_call < 1:
            raise InvalidSettingError("Ray actors, batch size, CPUs per actor and passages per call must be at least 1")
        self.address = check_address(address)
        self.actors, self.batch_size, self.cpus_per_actor = actors, batch_size, cpus_per_actor
        self.passages_per_call = passages_per_call
        self.calls = self.texts_sent = 0  # what went to Ray: the incremental tests read these
        self._ray, self._connected_here, self._workers = None, False, set()

    # -- the Encoding step ----------------------------------------------------

    def encode(self, encoder, texts: list[str], progress) -> np.ndarray:
        """Vectors of `texts`, in order, computed by actors running `encoder`'s model;
        RayEncodingError (one line) if the cluster cannot be reached or the encoding fails there."""
        ray = self._connect()
        try:
            vectors = self._encode(ray, encoder, texts, progress)
        except BertsearchError:
            raise
        except Exception as error:  # Ray's own errors carry the worker's traceback: keep its last line
            raise RayEncodingError(f"encoding on Ray failed: {_last_line(error)}") from None
        self.calls += 1
        self.texts_sent += len(texts)
        return vectors

    def _encode(self, ray, encoder, texts: list[str], progress) -> np.ndarray:
        pool, resources = self._pool(ray)
        rows = ray.data.from_items([{"key": n, "text": text} for n, text in enumerate(texts)],
                                   override_num_blocks=max(1, min(len(texts) // self.batch_size, 4 * pool.max_size)))
        mapped = rows.map_batches(_EncodeBatches, fn_constructor_kwargs=_worker_settings(encoder, resources),
                                  batch_size=self.batch_size, compute=pool, batch_format="numpy", **resources)
        vectors = np.empty((len(texts), encoder.dim), dtype=np.float32)
        for batch in mapped.iter_batches(batch_size=None, batch_format="numpy"):
            vectors[batch["key"]] = np.stack(batch["vector"])
            self._workers.update(batch["encoded_with"].tolist())
            progress(len(batch["key"]))
        return vectors

    def describe(self, encoder) -> str:
        return ", ".join(sorted(self._workers)) + " on ray" if self._workers else "ray"

    def _pool(self, ray):
        """The actor pool and each actor's resources: a GPU each if the cluster has GPUs, else CPUs."""
        total = ray.cluster_resources()
        gpus, cpus = int(total.get("GPU", 0)), int(total.get("CPU", 1))
        if gpus:
            resources = {"num_gpus": 1, "num_cpus": 1}
            default = gpus
        else:  # asked for more actors than the CPUs allow at cpus_per_actor: fewer CPUs each
            each = min(self.cpus_per_actor, max(1, cpus // (self.actors or 1)))
            resources = {"num_cpus": each}
            default = max(1, cpus // each)
        return ray.data.ActorPoolStrategy(size=self.actors or default), resources

    # -- connecting -----------------------------------------------------------

    def _connect(self):
        if self._ray is not None:
            return self._ray
        ray = import_ray()
        _quiet(ray)
        if not ray.is_initialized():
            options = dict(log_to_driver=False, configure_logging=False)  # the actors' output stays on the cluster
            try:
                if self.address == LOCAL:
                    try:  # join a local instance if one runs (`ray start --head`, another run's)
                        ray.init(address="auto", **options)
                    except ConnectionError:
                        ray.init(include_dashboard=False, **options)
                else:
                    ray.init(address=self.address, **options)
            except Exception as error:
                raise RayEncodingError(f"cannot reach Ray at {self.address}: {_last_line(error)}") from None
            self._connected_here = True
        self._ray = ray
        return ray

    def close(self) -> None:
        """Disconnect, if this object connected (a local instance it started stops with it)."""
        if self._connected_here and self._ray is not None and self._ray.is_initialized():
            self._ray.shutdown()
        self._ray, self._connected_here = None, False

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


def import_ray():
    """The `ray` module with Ray Data; RayUnavailableError naming the install command if it is missing."""
    try:
        import ray
        import ray.data  # noqa: F401
    except ImportError as error:
        raise RayUnavailableError(f"--ray needs Ray ({error.name or 'ray'} is not installed): {INSTALL}") from None
    return ray


def _last_line(error: Exception) -> str:
    lines = [line.strip() for line in str(error).strip().splitlines() if line.strip()]
    return lines[-1] if lines else type(error).__name__


def _quiet(ray) -> None:
    """No progress bars or per-job log lines from Ray Data: the index command has its own bar."""
    import logging

    context = ray.data.DataContext.get_current()
    context.enable_progress_bars = False
    context.enable_operator_progress_bars = False
    logging.getLogger("ray").setLevel(logging.WARNING)
    logging.getLogger("ray.data").setLevel(logging.ERROR)  # "progress bars disabled", once per job


def _worker_settings(encoder, resources: dict) -> dict:
    """What an actor loads: the index's model and pooling, on the backend and precision used here
    (a GPU actor picks its device itself), with as many torch threads as it has CPUs."""
    fingerprint = encoder.fingerprint
    model = os.path.abspath(fingerprint["model"]) if os.path.isdir(fingerprint["model"]) else fingerprint["model"]
    return {"model": model, "pooling": fingerprint["pooling"],
            "backend": getattr(encoder, "backend", "torch"), "precision": encoder.precision,
            "threads": 0 if resources.get("num_gpus") else resources["num_cpus"]}


class _EncodeBatches:
    """A Ray Data actor: loads the encoder once, then encodes batch after batch of texts."""

    def __init__(self, *, model: str, pooling: str, backend: str, precision: str, threads: int):
        from .backends import describe, load_encoder

        if threads and backend == "torch":
            import torch

            torch.set_num_threads(threads)
        self.encoder = load_encoder(model, pooling=pooling, backend=backend, precision=precision, bulk=True)
        self.described = describe(self.encoder)

    def __call__(self, batch: dict) -> dict:
        vectors = self.encoder.encode(list(batch["text"]))
        return {"key": batch["key"], "vector": vectors,
                "encoded_with": np.array([self.described] * len(vectors), dtype=object)}
