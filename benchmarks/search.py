"""Search latency: bertsearch's Index.search against raw FAISS on the same vectors.

Synthetic passages (unit vectors, ~600 characters of text each, ten per
document) are written straight into an index folder's SQLite (executemany, one
transaction), and the index's FAISS file is derived from it the way bertsearch
does it. Each query is then searched both ways, in turns: raw FAISS (the very
FAISS index the store holds) and Index.search(mode="dense") with the query's
vector handed in instead of encoded, which adds what bertsearch does around
FAISS: the SQLite look-ups of passages and documents and building the results.
Flat (exact) and HNSW (built here and saved as the index's FAISS file, ids kept
by IndexIDMap2) are both measured. Each size runs in its own process, so its
peak memory is its own.

Real sentence embeddings have a low intrinsic dimension, and i.i.d. random
vectors (the worst case for HNSW) would make its recall meaningless; so each
vector is a 32-dimensional Gaussian latent mapped to 384 dimensions by a fixed
random matrix, plus a little isotropic noise. On these, HNSW M=16 with
efSearch=128 (the defaults) finds 97% of flat's top 10 at 50k passages.

    python benchmarks/search.py --sizes 100000 1000000
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from common import current_rss_mb, peak_rss_mb, spread, write_result

DIM = 384
PER_DOCUMENT = 10
TEXT_CHARS = 600
INSERT_BATCH = 20_000
HNSW_M, HNSW_EF_SEARCH = 16, 128
LATENT_DIM = 32  # the synthetic vectors' intrinsic dimension
VECTOR_NOISE = 0.2  # length of the isotropic noise added to each (unit) latent image
MODE = "dense"  # Index.search's mode: vectors only, like raw FAISS


def synthetic_store(folder: Path, n: int, rng: np.random.Generator, query_rows: np.ndarray):
    """An index folder holding `n` synthetic passages; returns (seconds to write, vectors of `query_rows`)."""
    from bertsearch.store import Store

    words = np.array("tower bridge river honey bee moon apollo coffee printing press stone wall black hole light "
                     "leaf engine the of and in a to was for on with by at from".split())
    filler = " ".join(rng.choice(words, size=TEXT_CHARS * 40 // 5))
    mapping = rng.standard_normal((LATENT_DIM, DIM), dtype=np.float32)
    started = time.perf_counter()
    store = Store(folder, create=True)
    wanted = {int(r): i for i, r in enumerate(query_rows)}
    picked = np.zeros((len(query_rows), DIM), dtype=np.float32)
    store.set_meta("encoder", {"model": "synthetic", "pooling": "mean", "dim": DIM})
    store.set_meta("chunking", {"passage_tokens": 200, "overlap_tokens": 40})

    def passages():
        for first in range(0, n, INSERT_BATCH):
            count = min(INSERT_BATCH, n - first)
            vectors = synthetic_vectors(count, mapping, rng)
            for row in range(first, first + count):
                if row in wanted:
                    picked[wanted[row]] = vectors[row - first]
            offsets = rng.integers(0, len(filler) - TEXT_CHARS, size=count)
            for i, o in enumerate(offsets):
                seq = (first + i) % PER_DOCUMENT
                yield (first + i + 1, (first + i) // PER_DOCUMENT + 1, seq, seq * TEXT_CHARS, (seq + 1) * TEXT_CHARS,
                       1, filler[o : o + TEXT_CHARS], f"h{first + i}", vectors[i].tobytes())

    documents = ((d + 1, f"/synthetic/doc-{d:07d}.txt", 0, 0, "", "txt", "")
                 for d in range((n + PER_DOCUMENT - 1) // PER_DOCUMENT))
    store.bulk_load(documents, passages())
    store.close()
    return time.perf_counter() - started, picked


def synthetic_vectors(n: int, mapping: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Unit vectors near the span of `mapping`: Gaussian latents mapped up, normalised, plus VECTOR_NOISE."""
    vectors = _unit(rng.standard_normal((n, len(mapping)), dtype=np.float32) @ mapping)
    return _unit(vectors + rng.standard_normal(vectors.shape, dtype=np.float32) * np.float32(VECTOR_NOISE / np.sqrt(DIM)))


def _unit(vectors: np.ndarray) -> np.ndarray:
    return vectors / np.linalg.norm(vectors, axis=1, keepdims=True)


def time_searches(index, queries: np.ndarray, k: int, rounds: int) -> tuple[dict, np.ndarray]:
    """Per-query microseconds of raw FAISS and of Index.search (`search_many` given the query's vector), in turns; and FAISS's ids.

    Each query runs once per round both ways, the order alternating. A query's
    latency is its best over the rounds, which drops the times another process
    took the core; the per-round medians give the spread.
    """
    faiss_index = index.store.vector_index().index
    raw = np.zeros((rounds, len(queries)))
    ours = np.zeros((rounds, len(queries)))
    raw_cpu, ours_cpu = np.zeros_like(raw), np.zeros_like(ours)  # this process's CPU time: blind to other processes
    ids = None
    for r in range(rounds):
        found = []
        for i in range(len(queries)):
            query = queries[i : i + 1]
            for turn in ((0, 1) if (i + r) % 2 == 0 else (1, 0)):
                started, started_cpu = time.perf_counter(), time.process_time()
                if turn == 0:
                    _, hit_ids = faiss_index.search(query, k)
                else:
                    results = index.search_many(["synthetic query"], k=k, mode=MODE, vectors=query)[0]
                elapsed = 1e6 * (time.perf_counter() - started)
                (raw if turn == 0 else ours)[r, i] = elapsed
                (raw_cpu if turn == 0 else ours_cpu)[r, i] = 1e6 * (time.process_time() - started_cpu)
            found.append(hit_ids[0])
            assert [h.id for h in results] == [int(i) for i in found[-1] if i >= 0]
        ids = np.array(found)
    store, breakdown = index.store, {"generation_check": [], "passage_rows": []}
    for _ in range(rounds):  # the two SQLite reads Index.search makes around FAISS, timed alone
        for row in ids:
            started = time.perf_counter()
            store.generation
            middle = time.perf_counter()
            store.passages([int(i) for i in row if i >= 0])
            breakdown["generation_check"].append(1e6 * (middle - started))
            breakdown["passage_rows"].append(1e6 * (time.perf_counter() - middle))
    best_raw, best_ours = raw.min(axis=0), ours.min(axis=0)
    summary = {
        "sqlite_us": {name: _latency(np.min(np.reshape(v, (rounds, -1)), axis=0)) for name, v in breakdown.items()},
        "faiss_us": _latency(best_raw),
        "bertsearch_us": _latency(best_ours),
        "metadata_us": _latency(best_ours - best_raw),
        "overhead": float(np.median(best_ours) / np.median(best_raw) - 1),  # from each query's best of the rounds
        "overhead_per_round": spread([float(np.median(o) / np.median(f) - 1) for o, f in zip(ours, raw)]),
        "cpu": {
            "faiss_us": _latency(raw_cpu.min(axis=0)),
            "bertsearch_us": _latency(ours_cpu.min(axis=0)),
            "overhead": float(np.median(ours_cpu.min(axis=0)) / np.median(raw_cpu.min(axis=0)) - 1),
            "overhead_per_round": spread([float(np.median(o) / np.median(f) - 1) for o, f in zip(ours_cpu, raw_cpu)]),
        },
    }
    return summary, ids


def _latency(values: list[float]) -> dict:
    ordered = np.sort(values)
    return {"p50": float(np.percentile(ordered, 50)), "p95": float(np.percentile(ordered, 95)),
            "mean": float(ordered.mean())}


def run_size(n: int, queries: int, k: int, rounds: int, workdir: str | None, threads: int,
             hnsw_m: int = HNSW_M, build_threads: int = 1, with_hnsw: bool = True, seed: int = 0,
             ef_search: int = HNSW_EF_SEARCH) -> dict:
    import faiss

    from bertsearch import Index
    from bertsearch.vectors import FILE_PATTERN

    faiss.omp_set_num_threads(threads)

    rng = np.random.default_rng(seed)
    query_rows = rng.choice(n, size=min(queries, n), replace=False)
    out = {"passages": n, "latent_dim": LATENT_DIM, "mode": MODE, "documents": (n + PER_DOCUMENT - 1) // PER_DOCUMENT,
           "queries": len(query_rows), "k": k, "rounds": rounds, "faiss_threads": faiss.omp_get_max_threads()}
    with tempfile.TemporaryDirectory(dir=workdir) as scratch:
        folder = Path(scratch) / "index"
        out["sqlite_write_s"], picked = synthetic_store(folder, n, rng, query_rows)
        noise = rng.standard_normal(picked.shape, dtype=np.float32) * 0.05
        query_vectors = picked + noise
        query_vectors /= np.linalg.norm(query_vectors, axis=1, keepdims=True)
        out["sqlite_mb"] = (folder / "index.db").stat().st_size / 1e6

        # Flat: the FAISS index bertsearch derives from SQLite, and the file it saves.
        index = Index(folder)
        started = time.perf_counter()
        flat = index.store.vector_index().index
        build = time.perf_counter() - started
        started = time.perf_counter()
        index.store.save_vectors()
        out["flat"] = {"build_s": build, "save_s": time.perf_counter() - started,
                       "rss_mb_after_build": current_rss_mb(), "peak_rss_mb": peak_rss_mb()}
        out["flat"].update(time_searches(index, query_vectors, k, rounds)[0])
        _, exact = flat.search(query_vectors, k)
        vectors = flat.index.reconstruct_n(0, flat.ntotal)
        ids = faiss.vector_to_array(flat.id_map)
        generation = index.store.generation
        index.close()
        del index, flat
        if not with_hnsw:
            out["peak_rss_mb"] = peak_rss_mb()
            return out

        # HNSW over the same vectors and ids, saved as the index's FAISS file for this generation.
        started = time.perf_counter()
        faiss.omp_set_num_threads(build_threads)
        hnsw = faiss.IndexIDMap2(faiss.IndexHNSWFlat(DIM, hnsw_m, faiss.METRIC_INNER_PRODUCT))
        hnsw.add_with_ids(vectors, ids)
        build = time.perf_counter() - started
        faiss.omp_set_num_threads(threads)
        del vectors
        faiss.write_index(hnsw, str(folder / FILE_PATTERN.format(generation)))
        del hnsw
        index = Index(folder)
        loaded = index.store.vector_index().index
        assert "HNSW" in type(faiss.downcast_index(loaded.index)).__name__, "the store did not load the HNSW file"
        faiss.downcast_index(loaded.index).hnsw.efSearch = ef_search
        out["hnsw"] = {"M": hnsw_m, "efSearch": ef_search, "build_s": build, "build_threads": build_threads,
                       "rss_mb_after_build": current_rss_mb(), "peak_rss_mb": peak_rss_mb()}
        summary, approx = time_searches(index, query_vectors, k, rounds)
        out["hnsw"].update(summary)
        out["hnsw"]["recall_at_k_vs_flat"] = float(np.mean([len(set(a) & set(e)) / k for a, e in zip(approx, exact)]))
        index.close()
    out["peak_rss_mb"] = peak_rss_mb()
    return out


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[100_000, 1_000_000])
    parser.add_argument("--queries", type=int, default=300)
    parser.add_argument("-k", type=int, default=10)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--threads", type=int, default=1,
                        help="FAISS threads (default 1: one query at a time gains little from more, and shared cores make them wait)")
    parser.add_argument("--hnsw-m", type=int, default=HNSW_M)
    parser.add_argument("--hnsw-ef-search", type=int, default=HNSW_EF_SEARCH)
    parser.add_argument("--no-hnsw", action="store_true", help="flat only (building HNSW over a million vectors takes long)")
    parser.add_argument("--build-threads", type=int, default=os.cpu_count(), help="FAISS threads while building HNSW")
    parser.add_argument("--workdir", help="where the synthetic index folders go (default: the system's temporary folder)")
    parser.add_argument("--smoke", action="store_true", help="tiny sizes, to check the script runs")
    parser.add_argument("--one", type=int, help=argparse.SUPPRESS)  # run one size in this process, print JSON
    parser.add_argument("--out-dir", help="where to write the result JSON (default benchmarks/results)")
    args = parser.parse_args(argv)
    if args.smoke:
        args.sizes, args.queries, args.rounds = [2000], 20, 1
    if args.one:
        print(json.dumps(run_size(args.one, args.queries, args.k, args.rounds, args.workdir, args.threads, args.hnsw_m,
                                    args.build_threads, not args.no_hnsw, ef_search=args.hnsw_ef_search)))
        return None

    sizes = []
    for n in args.sizes:
        command = [sys.executable, __file__, "--one", str(n), "--queries", str(args.queries), "-k", str(args.k),
                   "--rounds", str(args.rounds), "--threads", str(args.threads), "--hnsw-m", str(args.hnsw_m),
                   "--hnsw-ef-search", str(args.hnsw_ef_search), "--build-threads", str(args.build_threads)]
        command += (["--no-hnsw"] if args.no_hnsw else []) + (["--workdir", args.workdir] if args.workdir else [])
        path = os.pathsep.join(filter(None, [str(Path(__file__).parent.parent), os.environ.get("PYTHONPATH")]))
        done = subprocess.run(command, capture_output=True, text=True, env={**os.environ, "PYTHONPATH": path})
        if done.returncode:
            raise SystemExit(f"size {n} failed:\n{done.stderr[-3000:]}")
        sizes.append(json.loads(done.stdout.strip().splitlines()[-1]))
        s = sizes[-1]
        print(f"{n:>9} passages: SQLite written in {s['sqlite_write_s']:.1f} s; peak RSS {s['peak_rss_mb']:.0f} MB", file=sys.stderr)
        for kind in [kind for kind in ("flat", "hnsw") if kind in s]:
            m = s[kind]
            print(f"  {kind:<5} build {m['build_s']:7.1f} s   FAISS p50 {m['faiss_us']['p50']:9.1f} us   "
                  f"bertsearch p50 {m['bertsearch_us']['p50']:9.1f} us   metadata p50 {m['metadata_us']['p50']:7.1f} us   "
                  f"overhead {m['overhead']:+.1%} (per round: min {m['overhead_per_round']['min']:+.1%}, "
                  f"max {m['overhead_per_round']['max']:+.1%}); in CPU time: FAISS p50 {m['cpu']['faiss_us']['p50']:.1f} us, "
                  f"overhead {m['cpu']['overhead']:+.1%}", file=sys.stderr)
    result = {"dim": DIM, "text_chars": TEXT_CHARS, "sizes": sizes}
    labels = "-".join(f"{n // 1_000_000}m" if n % 1_000_000 == 0 else f"{n // 1000}k" if n % 1000 == 0 else str(n)
                      for n in args.sizes)
    write_result(f"search-cpu-{labels}", result, args.out_dir)
    return result


if __name__ == "__main__":
    main()
