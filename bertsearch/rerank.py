"""Re-ranking search results with the reader (`search --rerank N`): `ask`'s passage order, without answers.

The first N results of each query are read by the reader in one batched pass
(`Reader.read_batch`: the windows of every query's passages share forward
passes), and each passage gets the score `ask` ranks passages by: its search
score fused with its best span's reader score (`answers.fused_score`). The N
passages are re-ordered by that score; results past the first N, and any
passage the reader found no span in, keep their search order after them.

Every re-ranked result keeps both scores (`retrieval_score`, `reader_score`);
`score` becomes the fused score it is ranked by. The reader's weight in the
fusion was tuned for the hybrid mode's scores (answers.READER_WEIGHT); the other
modes are re-ranked with the same weight (docs/rerank.md).
"""

import dataclasses
from collections.abc import Sequence

from .answers import fused_score
from .results import SearchResult

# Passages read by `search --rerank` given alone, by the MCP `search` tool and by the web page's searches
# (on by default there, off for the library, the CLI and /api/search: docs/rerank.md says why).
DEFAULT_RERANK = 20


def rerank_many(reader, queries: Sequence[str], results: Sequence[Sequence[SearchResult]], *, n: int,
                k: int) -> list[list[SearchResult]]:
    """Each query's results, its first `n` re-ordered by the fused score, cut to `k`."""
    read = [list(found[:n]) for found in results]
    spans = reader.read_batch(list(queries), [[r.text for r in found] for found in read], top_n=None, per_window=1)
    return [reordered(found, best_scores(found_spans, len(found)), rest=list(all_found[n:]))[:k]
            for found, found_spans, all_found in zip(read, spans, results)]


def best_scores(spans, count: int) -> list[float | None]:
    """The best reader score of each of `count` passages (None where the reader found no span)."""
    best: list[float | None] = [None] * count
    for span in spans:
        if best[span.context_index] is None or span.score > best[span.context_index]:
            best[span.context_index] = span.score
    return best


def reordered(read: Sequence[SearchResult], reader_scores: Sequence[float | None],
              rest: Sequence[SearchResult] = ()) -> list[SearchResult]:
    """`read` ordered by each passage's fused score (those without a reader score after, in search order),
    then `rest` as they were; every result of `read` carrying both scores."""
    scored = [dataclasses.replace(result, retrieval_score=result.score, reader_score=reader_score,
                                  score=result.score if reader_score is None else fused_score(result.score, reader_score))
              for result, reader_score in zip(read, reader_scores)]
    ranked = sorted((r for r in scored if r.reader_score is not None), key=lambda r: -r.score)
    return ranked + [r for r in scored if r.reader_score is None] + list(rest)


def check_rerank(rerank) -> int:
    """`rerank` as a count of passages to read: None, 0 or False mean no re-ranking; True the default."""
    from .errors import InvalidQueryError

    if rerank is None or rerank is False:
        return 0
    if rerank is True:
        return DEFAULT_RERANK
    if not isinstance(rerank, int) or rerank < 0:
        raise InvalidQueryError(f"rerank must be a number of passages (0 for none), not {rerank!r}")
    return rerank

