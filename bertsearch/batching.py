"""Batching by length, shared by the encoder and the reader: sort long to short, cut into batches.

Texts of similar length share a batch, so little of each forward pass is
padding; callers put each result back at its input position.
"""

from collections.abc import Iterator, Sequence


def by_length(lengths: Sequence[int], batch_size: int) -> Iterator[list[int]]:
    """Input positions in batches of at most `batch_size`, longest inputs first."""
    order = sorted(range(len(lengths)), key=lambda i: -lengths[i])
    for first in range(0, len(order), batch_size):
        yield order[first : first + batch_size]
