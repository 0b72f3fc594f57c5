"""Vector index kinds: recall against exact search, filters inside approximate search, and memory-mapped files.

Seeded synthetic vectors of low intrinsic dimension (as real embeddings have,
and as benchmarks/search.py makes them), with a minimum-recall assertion the
way FAISS's own tests check approximate indexes.
"""

import numpy as np
import pytest

from bertsearch.errors import InvalidSettingError
from bertsearch.vectors import VectorIndex, check_kind

DIM, LATENT, N, K = 32, 8, 4000, 10


@pytest.fixture(scope="module")
def data():
    rng = np.random.default_rng(7)
    vectors = rng.standard_normal((N, LATENT)).astype(np.float32) @ rng.standard_normal((LATENT, DIM)).astype(np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    ids = np.arange(N, dtype=np.int64) * 3 + 11  # passage ids are not positions
    queries = vectors[rng.choice(N, 50, replace=False)] + 0.05 * rng.standard_normal((50, DIM)).astype(np.float32)
    return ids, vectors, queries / np.linalg.norm(queries, axis=1, keepdims=True)


def build(data, kind):
    ids, vectors, _ = data
    return VectorIndex.build([(ids[:2000], vectors[:2000]), (ids[2000:], vectors[2000:])], DIM, generation=1,
                             kind=kind, training=vectors[::2])


def recall(found: np.ndarray, exact: np.ndarray) -> float:
    return float(np.mean([len(set(f) & set(e)) / len(e) for f, e in zip(found, exact)]))


@pytest.mark.parametrize("kind, minimum", [("Flat", 1.0), ("HNSW32", 0.95), ("IVF32,Flat", 0.9)])
def test_each_kind_finds_nearly_what_exact_search_finds(data, kind, minimum):
    exact = build(data, "Flat").search(data[2], K)[1]
    index = build(data, kind)
    assert index.kind == kind and index.count == N
    assert recall(index.search(data[2], K)[1], exact) >= minimum


@pytest.mark.parametrize("kind", ["HNSW32", "IVF32,Flat"])
def test_a_filter_keeping_one_percent_is_searched_inside_faiss_with_full_recall(data, kind):
    ids, vectors, queries = data
    allowed = np.random.default_rng(1).choice(ids, N // 100, replace=False)
    exact = build(data, "Flat").search(queries, K, ids=allowed)[1]
    found = build(data, kind).search(queries, K, ids=allowed)[1]
    assert set(found.ravel()) <= set(allowed.tolist())
    assert recall(found, exact) == 1.0  # HNSW scans the allowed vectors; IVF probes every list


@pytest.mark.parametrize("kind", ["Flat", "HNSW32", "IVF32,Flat"])
def test_removed_and_replaced_vectors_never_come_back(data, kind):
    ids, vectors, queries = data
    index = build(data, kind)
    hit = int(index.search(queries[:1], 1)[1][0][0])
    new = -queries[:1]  # far from every stored vector: only itself is this close
    assert index.apply(1, [hit], [10**6], new)  # the hit's passage is deleted, a new one added
    assert hit not in index.search(queries[:1], K)[1][0]
    assert index.search(new, 1)[1][0][0] == 10**6
    assert index.count == N and hit not in index.ids_and_vectors()[0]


def test_an_hnsw_index_with_tombstones_is_not_saved(data, tmp_path):
    index = build(data, "HNSW32")
    index.apply(1, [int(data[0][0])], [], None)
    with pytest.raises(ValueError, match="rebuilt"):
        index.save(tmp_path)


@pytest.mark.parametrize("kind", ["Flat", "HNSW32", "IVF32,Flat"])
def test_a_memory_mapped_file_gives_the_same_results_and_can_still_follow_writes(data, kind, tmp_path):
    ids, vectors, queries = data
    index = build(data, kind)
    path = index.save(tmp_path)
    mapped = VectorIndex.read(path, 1, mmap=True)
    assert mapped.mapped and mapped.kind == kind
    for found, expected in zip(mapped.search(queries, K), index.search(queries, K)):
        np.testing.assert_array_equal(found, expected)
    assert mapped.apply(1, [int(ids[0])], [], None) and not mapped.mapped  # read into memory first
    assert mapped.count == N - 1


def test_files_over_the_size_limit_are_mapped(data, tmp_path, monkeypatch):
    path = build(data, "Flat").save(tmp_path)
    monkeypatch.setenv("BERTSEARCH_MMAP_ABOVE", str(path.stat().st_size + 1))
    assert not VectorIndex.read(path, 1).mapped
    monkeypatch.setenv("BERTSEARCH_MMAP_ABOVE", str(path.stat().st_size))
    assert VectorIndex.read(path, 1).mapped


@pytest.mark.parametrize("kind", ["IVFxx,Flat", "PCA16,Flat", "HNSW32,Fl"])
def test_a_kind_faiss_cannot_make_or_bertsearch_cannot_filter_is_a_one_line_setting_error(kind):
    with pytest.raises(InvalidSettingError, match="--faiss") as raised:
        check_kind(kind, DIM)
    assert "\n" not in str(raised.value)


def test_settings_are_recorded_in_faiss_own_spelling():
    assert [check_kind(s, DIM) for s in ("auto", "flat", " HNSW32 ", "IDMap2,IVF64,Flat")] == [
        "auto", "Flat", "HNSW32", "IVF64,Flat"]


def test_a_file_of_an_earlier_version_opens_and_follows_writes(data, tmp_path):
    import faiss

    ids, vectors, queries = data
    old = faiss.index_factory(DIM, "IDMap2,Flat", faiss.METRIC_INNER_PRODUCT)  # what bertsearch wrote before kinds
    old.add_with_ids(vectors, ids)
    faiss.write_index(old, str(tmp_path / "vectors-1.faiss"))
    opened = VectorIndex.read(tmp_path / "vectors-1.faiss", 1)
    assert opened.kind == "Flat"
    np.testing.assert_array_equal(opened.search(queries, K)[1], build(data, "Flat").search(queries, K)[1])
    assert opened.apply(1, [int(ids[0])], [], None) and ids[0] not in opened.ids_and_vectors()[0]
