"""Which kind of FAISS index an index uses: exact while small, approximate when large.

A kind is a FAISS factory string ("Flat", "HNSW32", "IVF1024,Flat"), FAISS's
own convention, and what `info --json` shows. The setting an index records is
either "auto" (the default: the kind follows the size) or a kind the user
forced (`bertsearch index --faiss HNSW32`, `Index(..., faiss=...)`).

By size (measured on synthetic vectors of low intrinsic dimension, docs/scale.md):
exact `Flat` search costs about 55 ns per passage per query on one core, so it
stays under about 3 ms up to APPROXIMATE_ABOVE passages; above that, HNSW with
M=32 found 99.9% of the exact top 10 at 100k passages with EF_SEARCH 256 (97.5%
at 64), the margin kept for larger indexes, where recall at a given breadth
falls. IVF needed an eighth of its lists probed for 95% at 1M on the same
vectors (an eighth of an exact scan), so HNSW is the kind chosen by size; IVF
stays available by force, and removes ids in place, which HNSW cannot
(`vectors.VectorIndex.apply`).

Hysteresis keeps the kind from flapping: an index that went approximate goes
back to Flat only below half the threshold.

This module is policy only: no FAISS here (that is `vectors.py`).
"""

import math
import os
import re

from .errors import InvalidSettingError

AUTO = "auto"
FLAT = "Flat"
APPROXIMATE = "HNSW32"  # the kind chosen above the threshold
APPROXIMATE_ABOVE = 50_000  # passages; $BERTSEARCH_APPROXIMATE_ABOVE overrides (tests use a tiny one)
BACK_TO_FLAT_BELOW = 0.5  # of the threshold: the hysteresis
EF_SEARCH = 256  # HNSW's search breadth: recall@10 >= 0.95 at 1M (docs/scale.md)
IVF_PROBE_FRACTION = 1 / 8  # of an IVF's lists probed per query
EXACT_BELOW_FRACTION = 0.2  # a filter keeping less than this share of an HNSW index searches its vectors exactly
MMAP_ABOVE = 64 << 20  # bytes: larger vector files are memory-mapped; $BERTSEARCH_MMAP_ABOVE overrides

_IVF = re.compile(r"^IVF(\d+)")
_HNSW = re.compile(r"^HNSW(\d+)")


def approximate_above() -> int:
    """The size (in passages) from which an "auto" index is approximate."""
    return int(os.environ.get("BERTSEARCH_APPROXIMATE_ABOVE") or APPROXIMATE_ABOVE)


def mmap_above() -> int:
    """The vector file size (bytes) from which files are memory-mapped rather than read."""
    return int(os.environ.get("BERTSEARCH_MMAP_ABOVE") or MMAP_ABOVE)


def normalise_setting(setting: str | None) -> str:
    """The setting as recorded: "auto", "Flat", or a factory string without FAISS's own id-map prefix."""
    text = " ".join((setting or AUTO).split())
    if text.lower() in (AUTO, FLAT.lower()):
        return text.lower() if text.lower() == AUTO else FLAT
    for prefix in ("IDMap2,", "IDMap,"):
        text = text.removeprefix(prefix)
    if not text:
        raise InvalidSettingError("--faiss needs a FAISS factory string such as Flat, HNSW32 or IVF1024,Flat, or auto")
    return text


def ivf_lists(kind: str) -> int | None:
    """The number of inverted lists of an IVF kind; None for other kinds."""
    found = _IVF.match(kind)
    return int(found.group(1)) if found else None


def is_hnsw(kind: str) -> bool:
    return bool(_HNSW.match(kind))


def kind_for(setting: str, count: int, current: str | None) -> str:
    """The kind to build for `count` passages, given the setting and the kind the index has now.

    A forced IVF kind that `count` vectors cannot train (fewer than its lists)
    is exact until they can.
    """
    if setting != AUTO:
        lists = ivf_lists(setting)
        return FLAT if lists is not None and count < lists else setting
    threshold = approximate_above()
    if current not in (None, FLAT) and count >= threshold * BACK_TO_FLAT_BELOW:
        return APPROXIMATE
    return APPROXIMATE if count >= threshold else FLAT


def ivf_probes(lists: int, fraction: float = 1.0) -> int:
    """Lists probed per query; a filter keeping `fraction` of the passages probes proportionally more,
    so about as many allowed passages are scanned (up to every list: then the search is exact)."""
    return min(lists, max(1, math.ceil(lists * IVF_PROBE_FRACTION / max(fraction, 1e-9))))
