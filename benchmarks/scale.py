"""Search at scale: the vector index kind chosen by size, memory-mapped files, and hybrid's BM25 cap.

For each size, five steps, each in its own process (so each peak memory is its own):

1. write: synthetic passages into an index folder through `Store.bulk_load`
   (one transaction), as benchmarks/search.py makes them (unit vectors of
   intrinsic dimension 32 in 384, ~600 characters of common words each), plus
   one rarer word per passage (`w123`, held by 20 passages) for hybrid queries.
   The folder is cached under --cache and reused by later runs.
2. build: the writer's own path, `Store.save_vectors()` under the writer lock:
   the kind "auto" chooses for the size (HNSW32 above vector_kinds.APPROXIMATE_ABOVE),
   built from SQLite in batches and saved.
3. truth: exact top-k for every query, unfiltered and with a filter keeping 1%
   of the documents (`path="/synthetic/doc-*00.txt"`), by numpy over the stored vectors.
4. cold: new processes (importing only bertsearch) each open the index (the
   FAISS file memory-mapped) and search once; timed from spawn to exit, and in parts.
5. search: `Index.search` (via `search_many` given each query's vector, one
   FAISS thread) in dense mode, dense with the 1% filter, and hybrid with
   common words, with hybrid's BM25 cap and without it; recall@k against
   exact; a sweep of HNSW's efSearch (or of an IVF's lists probed).

    nice -n 10 python benchmarks/scale.py --sizes 100000 1000000 --cache /tmp/bertsearch-scale
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
from common import peak_rss_mb, write_result
from search import DIM, INSERT_BATCH, LATENT_DIM, PER_DOCUMENT, TEXT_CHARS, synthetic_vectors

COMMON = "tower bridge river honey bee moon apollo coffee printing press stone wall black hole light leaf engine".split()
FILLER_WORDS = COMMON + "the of and in a to was for on with by at from".split()
PASSAGES_PER_RARE_WORD = 20
FILTER_GLOB = "/synthetic/doc-*00.txt"  # one document in a hundred


def rare_word(row: int, n: int) -> str:
    return f"w{row % max(1, n // PASSAGES_PER_RARE_WORD)}"


def write(folder: Path, n: int, queries: int, seed: int = 0) -> dict:
    """The synthetic index folder, and its queries' vectors and texts in queries.npz."""
    from bertsearch.store import Store

    rng = np.random.default_rng(seed)
    filler = " ".join(rng.choice(FILLER_WORDS, size=TEXT_CHARS * 40 // 5))
    mapping = rng.standard_normal((LATENT_DIM, DIM), dtype=np.float32)
    query_rows = np.sort(rng.choice(n, size=queries, replace=False))
    picked = np.zeros((queries, DIM), dtype=np.float32)
    started = time.perf_counter()
    store = Store(folder, create=True)
    store.set_meta("encoder", {"model": "synthetic", "pooling": "mean", "dim": DIM})
    store.set_meta("chunking", {"passage_tokens": 200, "overlap_tokens": 40})

    def passages():
        for first in range(0, n, INSERT_BATCH):
            count = min(INSERT_BATCH, n - first)
            vectors = synthetic_vectors(count, mapping, rng)
            inside = query_rows[(query_rows >= first) & (query_rows < first + count)]
            picked[np.searchsorted(query_rows, inside)] = vectors[inside - first]
            offsets = rng.integers(0, len(filler) - TEXT_CHARS, size=count)
            for i, o in enumerate(offsets):
                row, seq = first + i, (first + i) % PER_DOCUMENT
                text = f"{filler[o : o + TEXT_CHARS]} {rare_word(row, n)}"
                yield (row + 1, row // PER_DOCUMENT + 1, seq, seq * TEXT_CHARS, (seq + 1) * TEXT_CHARS, 1, text,
                       f"h{row}", vectors[i].tobytes())

    documents = ((d + 1, f"/synthetic/doc-{d:07d}.txt", 0, 0, "", "txt", "")
                 for d in range((n + PER_DOCUMENT - 1) // PER_DOCUMENT))
    store.bulk_load(documents, passages())
    store.close()
    seconds = time.perf_counter() - started
    noisy = picked + rng.standard_normal(picked.shape, dtype=np.float32) * 0.05
    texts = [f"{' '.join(rng.choice(COMMON, 3, replace=False))} {rare_word(int(r), n)}" for r in query_rows]
    np.savez(folder / "queries.npz", vectors=noisy / np.linalg.norm(noisy, axis=1, keepdims=True), texts=texts)
    return {"write_s": seconds, "sqlite_mb": (folder / "index.db").stat().st_size / 1e6, "peak_rss_mb": peak_rss_mb()}


def build(folder: Path, threads: int, kind: str) -> dict:
    """The writer's save: the kind chosen by size (or `kind`, forced), built from SQLite and saved."""
    import faiss

    from bertsearch import Index
    from bertsearch.lock import writer_lock

    faiss.omp_set_num_threads(threads)
    for old in folder.glob("vectors-*.faiss"):
        old.unlink()
    index = Index(folder)
    started = time.perf_counter()
    with writer_lock(folder, 0):
        index.store.set_faiss_setting(kind)
        index.store.save_vectors()
    seconds = time.perf_counter() - started
    info = index.info()
    file = index.store.vector_file()
    return {"build_s": seconds, "build_threads": threads, "setting": kind, "faiss": info.faiss, "file_mb": file.stat().st_size / 1e6,
            "size_on_disk_mb": info.size_bytes / 1e6, "peak_rss_mb": peak_rss_mb()}


def truth(folder: Path, k: int) -> dict:
    """Exact top-k ids of each query over every stored vector, and over the filter's 1%."""
    from bertsearch import Index

    queries = np.load(folder / "queries.npz")["vectors"]
    index = Index(folder)
    best = {name: (np.full((len(queries), k), -np.inf, dtype=np.float32), np.full((len(queries), k), -1))
            for name in ("all", "filtered")}
    with index.store.snapshot():
        for ids, vectors in index.store.iter_vectors(DIM):
            scores = queries @ vectors.T
            kept = ((ids - 1) // PER_DOCUMENT) % 100 == 0  # documents doc-*00: ids are rows + 1
            for name, mask in (("all", np.ones(len(ids), dtype=bool)), ("filtered", kept)):
                top_scores, top_ids = best[name]
                merged_scores = np.concatenate([top_scores, scores[:, mask]], axis=1)
                merged_ids = np.concatenate([top_ids, np.tile(ids[mask], (len(queries), 1))], axis=1)
                order = np.argsort(-merged_scores, axis=1)[:, :k]
                best[name] = (np.take_along_axis(merged_scores, order, 1), np.take_along_axis(merged_ids, order, 1))
    np.savez(folder / "truth.npz", all=best["all"][1], filtered=best["filtered"][1])
    return {"peak_rss_mb": peak_rss_mb()}


def search(folder: Path, k: int, rounds: int, uncapped_queries: int, sweep_values: list[int], queries: int) -> dict:
    """Cold open, then latency and recall in each mode, in this new process."""
    import faiss

    from bertsearch import Index, bm25, vector_kinds

    data = np.load(folder / "queries.npz")
    vectors, texts = data["vectors"][:queries], [str(t) for t in data["texts"]][:queries]
    index = Index(folder)
    faiss.omp_set_num_threads(1)
    mapped = index.store.vector_index().mapped
    exact = np.load(folder / "truth.npz")
    out = {"mapped": mapped, "faiss": index.info().faiss, "ef_search": vector_kinds.EF_SEARCH,
           "ivf_probe_fraction": vector_kinds.IVF_PROBE_FRACTION}

    def timed(mode, texts_, vectors_, **filters):
        times, cpu, found = np.zeros((rounds, len(texts_))), np.zeros((rounds, len(texts_))), []
        for r in range(rounds):
            found = []
            for i, (text, vector) in enumerate(zip(texts_, vectors_)):
                started, started_cpu = time.perf_counter(), time.process_time()
                results = index.search_many([text], k=k, mode=mode, vectors=vector[None], **filters)[0]
                times[r, i] = 1e3 * (time.perf_counter() - started)
                cpu[r, i] = 1e3 * (time.process_time() - started_cpu)
                found.append([h.id for h in results])
        best, best_cpu = times.min(axis=0), cpu.min(axis=0)  # each query's best over the rounds: drops the times
        return {"p50_ms": float(np.percentile(best, 50)), "p95_ms": float(np.percentile(best, 95)),  # another
                "cpu_p50_ms": float(np.percentile(best_cpu, 50))}, found  # process had the core; CPU time: this one's

    out["dense"], found = timed("dense", texts, vectors)
    out["dense"]["recall_at_k"] = recall(found, exact["all"])
    out["dense_filtered_1pct"], found = timed("dense", texts, vectors, path=FILTER_GLOB)
    out["dense_filtered_1pct"]["recall_at_k"] = recall(found, exact["filtered"])
    out["hybrid"], _ = timed("hybrid", texts, vectors)
    limit = bm25.MAX_ROWS_PER_WORD
    bm25.MAX_ROWS_PER_WORD = None  # before the cap: BM25 scores every passage holding a query word
    some = slice(0, uncapped_queries)
    out["hybrid_uncapped"], _ = timed("hybrid", texts[some], vectors[some])
    out["hybrid_uncapped"]["queries"] = len(texts[some])
    bm25.MAX_ROWS_PER_WORD = limit
    out["hybrid_same_queries_capped"], _ = timed("hybrid", texts[some], vectors[some])
    sweep, hnsw = [], "HNSW" in (out["faiss"] or "")
    for value in sweep_values if hnsw or "IVF" in (out["faiss"] or "") else []:  # efSearch, or IVF lists probed
        setattr(vector_kinds, "EF_SEARCH" if hnsw else "IVF_PROBE_FRACTION", value if hnsw else 1 / value)
        timing, found = timed("dense", texts, vectors)
        sweep.append({"ef_search" if hnsw else "probe_one_list_in": value, **timing,
                      "recall_at_k": recall(found, exact["all"])})
    out["sweep"] = sweep
    out["peak_rss_mb"] = peak_rss_mb()
    out["rss"] = rss_parts()
    return out


COLD = """
import sys, time
began, began_cpu = time.perf_counter(), time.process_time()
import json
import numpy as np
from bertsearch import Index
imported, imported_cpu = time.perf_counter(), time.process_time()
folder, k = sys.argv[1], int(sys.argv[2])
data = np.load(folder + "/queries.npz")
index = Index(folder)
loaded = index.store.vector_index()
opened, opened_cpu = time.perf_counter(), time.process_time()
found = index.search_many([str(data["texts"][0])], k=k, mode="dense", vectors=data["vectors"][:1])[0]
done, done_cpu = time.perf_counter(), time.process_time()
assert found, "the first search found nothing"
rss = {line.split(":")[0]: int(line.split()[1]) / 1024 for line in open("/proc/self/status")
       if line.split(":")[0] in ("VmRSS", "RssAnon", "RssFile")}
print(json.dumps({"imports_s": imported - began, "open_s": opened - imported, "first_search_s": done - opened,
                  "cpu": {"imports_s": imported_cpu - began_cpu, "open_s": opened_cpu - imported_cpu,
                          "first_search_s": done_cpu - opened_cpu},
                  "mapped": loaded.mapped, "rss_mb": rss}))
"""  # a new process's way to its first result, importing only bertsearch: run as `python -c COLD FOLDER K`


def recall(found: list[list[int]], exact: np.ndarray) -> float:
    return float(np.mean([len(set(f) & set(e.tolist())) / len(e) for f, e in zip(found, exact)]))


def rss_parts() -> dict:
    """This process's resident memory, private (anonymous) and file-backed (mapped files: shared between processes)."""
    fields = {}
    for line in Path("/proc/self/status").read_text().splitlines():
        name, _, value = line.partition(":")
        if name in ("RssAnon", "RssFile", "VmRSS"):
            fields[name] = int(value.split()[0]) / 1024
    return fields


def run_step(step: str, n: int, args) -> dict:
    """Run one step for one size in a new process; its JSON result."""
    folder = Path(args.cache) / f"index-{n}"
    command = [sys.executable, "-c", COLD, str(folder), str(args.k)] if step == "cold" else [
               sys.executable, __file__, "--step", step, "--folder", str(folder), "--n", str(n), "--queries",
               str(args.queries), "-k", str(args.k), "--rounds", str(args.rounds), "--threads", str(args.threads),
               "--uncapped-queries", str(args.uncapped_queries), "--faiss", args.faiss, "--sweep", *map(str, args.sweep)]
    path = os.pathsep.join(filter(None, [str(Path(__file__).parent.parent), os.environ.get("PYTHONPATH")]))
    started = time.perf_counter()
    done = subprocess.run(command, capture_output=True, text=True, env={**os.environ, "PYTHONPATH": path})
    if done.returncode:
        raise SystemExit(f"{step} at {n} failed:\n{done.stderr[-3000:]}")
    result = json.loads(done.stdout.strip().splitlines()[-1])
    if step == "cold":  # the whole process, spawn to exit: the interpreter's start and exit included
        result["process_s"] = time.perf_counter() - started
        return result
    (folder / f"{step}.json").write_text(json.dumps(result))  # kept with the cached folder
    print(f"{n:>9} {step}: {json.dumps(result)[:600]}", file=sys.stderr)
    return result


def one_step(args) -> dict:
    folder = Path(args.folder)
    if args.step == "write":
        return write(folder, args.n, args.queries)
    if args.step == "build":
        return build(folder, args.threads, args.faiss)
    if args.step == "truth":
        return truth(folder, args.k)
    return search(folder, args.k, args.rounds, args.uncapped_queries, args.sweep, args.queries)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[100_000, 1_000_000])
    parser.add_argument("--cache", default=os.path.join(os.environ.get("TMPDIR", "/tmp"), "bertsearch-scale"),
                        help="where the synthetic index folders are kept between runs")
    parser.add_argument("--queries", type=int, default=300, help="queries written with a new index, and searched "
                        "(at most as many as were written)")
    parser.add_argument("-k", type=int, default=10)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--threads", type=int, default=os.cpu_count(), help="FAISS threads while building")
    parser.add_argument("--uncapped-queries", type=int, default=20, help="hybrid queries timed without the BM25 cap")
    parser.add_argument("--faiss", default="auto", help="the vector index kind to build (default: chosen by size)")
    parser.add_argument("--sweep", type=int, nargs="*", default=[64, 128, 256, 512],
                        help="HNSW efSearch values swept (for an IVF kind: probe one list in each of these)")
    parser.add_argument("--cold-runs", type=int, default=5, help="new processes timed to their first result")
    parser.add_argument("--rebuild", action="store_true", help="build the FAISS file again even if cached")
    parser.add_argument("--smoke", action="store_true", help="tiny sizes, to check the script runs")
    parser.add_argument("--out-dir", help="where to write the result JSON (default benchmarks/results)")
    parser.add_argument("--step", choices=["write", "build", "truth", "search"], help=argparse.SUPPRESS)
    parser.add_argument("--folder", help=argparse.SUPPRESS)
    parser.add_argument("--n", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.step:
        print(json.dumps(one_step(args)))
        return None
    if args.smoke:
        args.sizes, args.queries, args.rounds, args.uncapped_queries, args.sweep, args.cold_runs = [3000], 20, 1, 5, [64], 2
    sizes = []
    for n in args.sizes:
        folder = Path(args.cache) / f"index-{n}"
        result = {"passages": n, "queries": args.queries, "k": args.k, "rounds": args.rounds,
                  "load_average_before": os.getloadavg()[0]}
        if not (folder / "queries.npz").exists():
            if folder.exists():
                raise SystemExit(f"{folder} holds a half-written index: remove it")
            result["write"] = run_step("write", n, args)
        built = json.loads((folder / "build.json").read_text()) if (folder / "build.json").exists() else {}
        if args.rebuild or built.get("setting", "auto") != args.faiss or "write" in result:
            result["build"] = run_step("build", n, args)
        if not (folder / "truth.npz").exists():  # exact search depends on the vectors only, not on the kind
            run_step("truth", n, args)
        for step in ("write", "build"):
            result.setdefault(step, json.loads((folder / f"{step}.json").read_text()))
        runs = [run_step("cold", n, args) for _ in range(args.cold_runs)]
        parts = ("imports_s", "open_s", "first_search_s")
        result["cold_open"] = {"runs": runs, "median": {key: float(np.median([r[key] for r in runs]))
                                                       for key in ("process_s", *parts)},
                               "cpu_median": {key: float(np.median([r["cpu"][key] for r in runs])) for key in parts}}
        result["search"] = run_step("search", n, args)
        sizes.append(result)
    labels = "-".join(f"{n // 1_000_000}m" if n % 1_000_000 == 0 else f"{n // 1000}k" if n % 1000 == 0 else str(n)
                      for n in args.sizes)
    kind = "" if args.faiss == "auto" else "-" + args.faiss.lower().replace(",", "-")
    write_result(f"scale-cpu-{labels}{kind}", {"dim": DIM, "latent_dim": LATENT_DIM, "sizes": sizes}, args.out_dir)
    return sizes


if __name__ == "__main__":
    main()
