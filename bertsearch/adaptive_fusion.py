"""The hybrid mode's dense weight, chosen for each index from its own passages, without labels.

The weight of 0.6 (`fusion.DENSE_WEIGHT`) was tuned on SQuAD train, where the
encoder is strong; on a corpus where it is weak, BM25 deserves more. Each index
measures it on pseudo-queries made from its passages by the inverse cloze task
(Lee et al. 2019): a sentence taken out of a passage is the query, and that
passage without the sentence is the one to find.

1. A seeded sample of the index's passages (at most POOL; the seed and the
   passage ids fix it, so the same index always gives the same weight) goes
   into a scratch index in a temporary folder (a `Store`, so BM25 is the same
   FTS5 with the same tokenizer); up to QUERIES of them, with at least three
   sentences, each lose one sentence (re-encoded without it).
2. Each pseudo-query is searched there as `retrieval` searches (both sides
   nominate `fusion.CANDIDATES`, both scores for all), and the candidates are
   fused at every weight in WEIGHTS: the mean reciprocal rank of the target
   at each weight is the pseudo-query curve. Its ends are BM25 alone (0) and
   the vectors alone (1); their ratio says how strong the encoder is on this
   corpus against BM25.
3. The weight is PRIOR scaled by that ratio over the same ratio on SQuAD train
   (TRAIN_RATIO), where PRIOR was tuned, and kept within 0 to 1. Why not the
   curve's own best weight: pseudo-queries are not questions. They favour the
   vectors (their optimum is 0.8 on SQuAD train where questions' is 0.6; likely
   because, with its sentence taken out, the passage shares fewer rare words
   with the query than an answer's passage shares with a question), and their
   curve is flat near its top, so its argmax moves with noise. Adding the
   train offset to the argmax, and shrinking toward the prior by the number of
   pseudo-queries, were measured too; both lose on SQuAD dev or where the
   encoder is weak (docs/rerank.md).

The choice is recorded in the index's settings ("fusion"), with the passage
count and largest passage id it saw and the TRAIN_RATIO it used; `refresh`
(at the end of `Index.add` and `remove`, under the writer lock: readers never
write) computes it again once more than
RECOMPUTE_FRACTION of the passages have changed. Under MIN_QUERIES pseudo-queries
the prior is kept.
"""

import random
import re
import tempfile
from collections.abc import Callable

import numpy as np

from . import fusion
from .retrieval import Retriever
from .store import Store

SETTING = "fusion"
SEED = 0
POOL = 2000  # passages in the scratch index (the whole index when smaller)
QUERIES = 200  # pseudo-queries, at most
MIN_QUERIES = 50  # fewer: the prior is kept
WEIGHTS = tuple(round(w, 2) for w in np.arange(0.0, 1.0001, 0.05))
PRIOR = fusion.DENSE_WEIGHT
TRAIN_RATIO = 1.245  # MRR of the vectors alone over BM25 alone, on SQuAD train's pseudo-queries (docs/rerank.md)
RECOMPUTE_FRACTION = 0.2
MIN_WORDS, MAX_WORDS = 6, 40  # a pseudo-query sentence's length
SENTENCE_END = re.compile(r"(?<=[.!?])\s+(?=[\"'(\[]?[A-Z0-9])")


def recorded_weight(store: Store) -> float | None:
    """The dense weight recorded for this index (None: none yet; the prior applies)."""
    return (store.meta(SETTING) or {}).get("dense_weight")


def check_dense_weight(weight) -> float:
    """`weight` as the dense side's share, 0 to 1; InvalidQueryError otherwise."""
    from .errors import InvalidQueryError

    if isinstance(weight, bool) or not isinstance(weight, (int, float)) or not 0 <= weight <= 1:
        raise InvalidQueryError(f"the dense weight must be a number from 0 to 1, not {weight!r}")
    return float(weight)


def refresh(store: Store, encode: Callable[[list[str]], np.ndarray], *, force: bool = False) -> dict | None:
    """Compute and record the weight when none is recorded or the passages changed by more than
    RECOMPUTE_FRACTION since; returns the new record (None when the recorded one still holds)."""
    recorded = store.meta(SETTING)
    current = recorded and recorded.get("train_ratio") == TRAIN_RATIO  # else made by an older rule
    if not force and current and changed_fraction(store, recorded) <= RECOMPUTE_FRACTION:
        return None
    choice = calibrate(store, encode)
    store.set_meta(SETTING, choice)
    return choice


def changed_fraction(store: Store, recorded: dict) -> float:
    """How much of the index changed since `recorded` was computed: passages added (ids above the
    largest then) plus passages removed, over the passage count then."""
    ids = store.passage_id_array()
    kept = int((ids <= recorded["max_id"]).sum())
    added, removed = len(ids) - kept, recorded["passages"] - kept
    return (added + removed) / max(recorded["passages"], 1)


def calibrate(store: Store, encode: Callable[[list[str]], np.ndarray], *, seed: int = SEED) -> dict:
    """The dense weight for this index and how it was chosen (the record `refresh` stores)."""
    ids = store.passage_id_array()
    curve, queries = pseudo_query_curve(store, encode, seed=seed)
    record = {"passages": int(len(ids)), "max_id": int(ids.max()) if len(ids) else 0, "queries": queries,
              "prior": PRIOR, "train_ratio": TRAIN_RATIO}
    if queries < MIN_QUERIES:
        return {**record, "dense_weight": PRIOR, "source": "prior"}
    ratio = curve[1.0] / curve[0.0] if curve[0.0] > 0 else 1.0
    return {**record, "dense_weight": round(float(np.clip(PRIOR * ratio / TRAIN_RATIO, 0.0, 1.0)), 3),
            "source": "pseudo-queries", "pseudo_ratio": round(ratio, 4), "pseudo_optimum": best_weight(curve)}


def best_weight(curve: dict[float, float]) -> float:
    """The weight with the best score; ties go to the one nearest the prior."""
    return max(curve, key=lambda w: (round(curve[w], 6), -abs(w - PRIOR)))


def pseudo_query_curve(store: Store, encode: Callable[[list[str]], np.ndarray], *,
                       seed: int = SEED) -> tuple[dict[float, float], int]:
    """Mean reciprocal rank of the target at each weight in WEIGHTS, and how many pseudo-queries it
    averages over (empty when none could be made)."""
    rng = random.Random(seed)
    ids = [int(i) for i in store.passage_id_array()]
    pool = sorted(rng.sample(ids, min(POOL, len(ids))))
    passages = store.passages(pool)
    texts = {i: passages[i].text for i in pool if i in passages}
    cloze = pseudo_queries(texts, rng)
    if len(cloze) < MIN_QUERIES:
        return {}, len(cloze)
    targets = {i: rest for i, (_, rest) in cloze.items()}
    vectors = store.vectors(list(texts))
    encoded = encode([q for q, _ in cloze.values()] + list(targets.values()))
    queries, target_vectors = encoded[: len(cloze)], encoded[len(cloze):]
    by_id = dict(zip(texts, vectors))
    by_id.update(zip(targets, target_vectors))
    texts.update(targets)
    reciprocal = np.zeros((len(cloze), len(WEIGHTS)))
    with tempfile.TemporaryDirectory(prefix="bertsearch-fusion-") as folder:
        scratch = _scratch_store(folder, texts, by_id)
        try:
            retriever = Retriever(scratch, encode)
            for q, (target, (query, _)) in enumerate(cloze.items()):
                dense, lexical = retriever.hybrid_candidates(query, queries[q : q + 1], fusion.CANDIDATES)
                for w, weight in enumerate(WEIGHTS):
                    ranked = [i for i, _ in fusion.fuse(dense, lexical, weight)]
                    reciprocal[q, w] = 1.0 / (ranked.index(target) + 1) if target in ranked else 0.0
        finally:
            scratch.close()
    return dict(zip(WEIGHTS, reciprocal.mean(axis=0).tolist())), len(cloze)


def pseudo_queries(texts: dict[int, str], rng: random.Random) -> dict[int, tuple[str, str]]:
    """Up to QUERIES (passage id, (sentence, passage without it)) pairs, from passages of at least three
    sentences, the sentence of MIN_WORDS to MAX_WORDS words chosen at random (`rng`)."""
    made = {}
    for i in rng.sample(sorted(texts), len(texts)):
        sentences = SENTENCE_END.split(texts[i].strip())
        usable = [n for n, s in enumerate(sentences) if MIN_WORDS <= len(s.split()) <= MAX_WORDS]
        if len(sentences) >= 3 and usable:
            n = rng.choice(usable)
            made[i] = (sentences[n], " ".join(sentences[:n] + sentences[n + 1:]))
            if len(made) == QUERIES:
                break
    return made


def _scratch_store(folder: str, texts: dict[int, str], vectors: dict[int, np.ndarray]) -> Store:
    """A throwaway index holding `texts` (one document) and their `vectors`, searchable like the real one."""
    store = Store(folder, create=True)
    dim = len(next(iter(vectors.values())))
    store.set_meta("encoder", {"dim": dim})
    rows = [(i, 1, seq, 0, len(text), 1, text, "", np.asarray(vectors[i], dtype=np.float32).tobytes())
            for seq, (i, text) in enumerate(sorted(texts.items()))]
    store.bulk_load([(1, "pseudo-queries", 0, 0, "", "text", "")], rows)
    return store


def effective_weight(store: Store) -> float:
    """The dense weight hybrid searches of this index use when not told one."""
    weight = recorded_weight(store)
    return fusion.DENSE_WEIGHT if weight is None else weight


def describe(record: dict | None) -> str:
    """Where the index's weight came from, for `info`."""
    if not record:
        return "the default: not calibrated yet"
    if record.get("source") == "prior":
        return f"the default: {record['queries']} pseudo-queries are too few to calibrate"
    if "pseudo_ratio" not in record:
        return "from pseudo-queries by an older rule: the next `index` run chooses it again"
    return (f"from {record['queries']} pseudo-queries: the vectors' MRR {record['pseudo_ratio']} times BM25's, "
            f"against {record['train_ratio']} on SQuAD train")

