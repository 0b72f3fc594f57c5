"""`bertsearch serve` under load: latency, throughput, request batching, a writer alongside, bad input.

Real HTTP on loopback: the servers are `bertsearch serve` subprocesses, the
load generator is httpx with asyncio in this process (N clients, each sending
its next request when the last one is answered, a fixed number in all).
SQuAD v1.1 dev articles are written one file per article and indexed with the
default settings; the questions are those articles' own.

1. search and ask latency (p50/p95/p99) and throughput at 1, 4 and 16 clients;
   the same questions through the CLI (cold: a process per question) and the
   library (warm, one at a time, in this process);
2. ask throughput at 8 clients with request batching on and off: two servers,
   same index, same questions, in alternating rounds, and whether they answer alike;
3. searches while another process re-indexes the folder (`bertsearch index`,
   a file changed before each run): failed requests, and whether the server
   finds each commit's new text once the writer has exited;
4. bad input (oversized queries, k=100000, malformed JSON, wrong tokens, a
   foreign Host, `..` paths): each must be a 4xx with a JSON error, and the
   server must still answer afterwards.

    python benchmarks/serve.py                     # every 4th dev article (12 of 48), 32 questions
    python benchmarks/serve.py --every 1 --questions 64

Writes benchmarks/results/serve-cpu.json and the Markdown section
benchmarks/results/serve.md (then run benchmarks/report.py).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from common import RESULTS, SQUAD_DEV, write_result
from squad_files import load_articles, write_articles

TOKEN = "benchmark-token"
LEVELS = (1, 4, 16)
BATCH_CLIENTS = 8


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    """`bertsearch serve` in a subprocess, stopped with SIGTERM."""

    def __init__(self, index: Path, *options: str, env: dict | None = None):
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.process = subprocess.Popen(
            [sys.executable, "-m", "bertsearch", "serve", "--index", str(index), "--port", str(self.port),
             "--token", TOKEN, *options],
            stderr=subprocess.PIPE, text=True, env={**os.environ, **(env or {})})
        started = time.perf_counter()
        for line in self.process.stderr:
            if line.startswith("Serving "):
                break
        else:
            sys.exit(f"bertsearch serve did not start (exit {self.process.wait()})")
        self.start_seconds = time.perf_counter() - started

    def stop(self) -> int:
        self.process.send_signal(signal.SIGTERM)
        return self.process.wait(timeout=120)


def percentiles(seconds: list[float]) -> dict:
    ordered = sorted(seconds)

    def at(p):
        return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))] * 1000

    return {"p50_ms": at(50), "p95_ms": at(95), "p99_ms": at(99), "mean_ms": statistics.mean(ordered) * 1000}


async def load(url: str, requests: list[tuple[str, str, dict]], clients: int) -> dict:
    """Send `requests` (method, path, params-or-json) with `clients` at a time; latency, throughput, replies."""
    import httpx

    queue = list(enumerate(requests))
    seconds, replies, failed = [], [None] * len(requests), 0

    async def client(http):
        nonlocal failed
        while queue:
            n, (method, path, data) = queue.pop(0)
            started = time.perf_counter()
            if method == "GET":
                response = await http.get(path, params=data)
            else:
                response = await http.post(path, json=data)
            seconds.append(time.perf_counter() - started)
            failed += response.status_code != 200
            replies[n] = response.json() if response.status_code == 200 else None

    async with httpx.AsyncClient(base_url=url, timeout=300, headers={"authorization": f"Bearer {TOKEN}"},
                                 limits=httpx.Limits(max_connections=clients)) as http:
        began = time.perf_counter()
        await asyncio.gather(*(client(http) for _ in range(clients)))
        wall = time.perf_counter() - began
    return {"clients": clients, "requests": len(requests), "failed": failed,
            "per_second": len(requests) / wall, **percentiles(seconds), "replies": replies}


def best_answers(replies: list) -> list[str | None]:
    return [r["answers"][0]["text"] if r and r["answers"] else None for r in replies]


def latency_run(server: Server, questions: list[str], k: int) -> dict:
    rows = {}
    for kind, path in (("search", "/api/search"), ("ask", "/api/ask")):
        for clients in LEVELS:
            result = asyncio.run(load(server.url, [("GET", path, {"q": q, "k": k}) for q in questions], clients))
            result.pop("replies")
            rows[f"{kind} {clients}"] = {"kind": kind, **result}
            print(f"{kind:6} {clients:2} clients: {result['per_second']:.1f}/s, p50 {result['p50_ms']:.0f} ms", file=sys.stderr)
    return rows


def cli_cold(index: Path, questions: list[str], k: int, reader: list[str]) -> dict:
    seconds = []
    for question in questions:
        started = time.perf_counter()
        subprocess.run([sys.executable, "-m", "bertsearch", "ask", question, "--index", str(index), "-k", str(k), "--json",
                        *reader], check=True, capture_output=True)
        seconds.append(time.perf_counter() - started)
    return {"requests": len(seconds), **percentiles(seconds)}


def library_warm(index_path: Path, questions: list[str], k: int, reader: str | None) -> dict:
    from bertsearch import Index

    rows = {}
    with Index(index_path, reader=reader) as index:
        index.ask(questions[0], k=k)  # load both models
        for kind, call in (("search", index.search), ("ask", index.ask)):
            seconds = []
            began = time.perf_counter()
            for question in questions:
                started = time.perf_counter()
                call(question, k=k)
                seconds.append(time.perf_counter() - started)
            rows[kind] = {"requests": len(seconds), "per_second": len(seconds) / (time.perf_counter() - began),
                          **percentiles(seconds)}
    return rows


def batching_run(on: Server, off: Server, questions: list[str], k: int, rounds: int) -> dict:
    """Throughput of ask and search at BATCH_CLIENTS clients, batching on and off, in alternating rounds."""
    rows = {}
    for kind in ("ask", "search"):
        runs, answers = {"on": [], "off": []}, {}
        for r in range(rounds):
            for name, server in ((("on", on), ("off", off)) if r % 2 == 0 else (("off", off), ("on", on))):
                requests = [("GET", f"/api/{kind}", {"q": q, "k": k}) for q in questions]
                result = asyncio.run(load(server.url, requests, BATCH_CLIENTS))
                replies = result.pop("replies")
                answers[name] = best_answers(replies) if kind == "ask" else [[hit["id"] for hit in r] for r in replies]
                runs[name].append(result)
                print(f"{kind} batching {name:3}: {result['per_second']:.2f}/s", file=sys.stderr)
        speed = {name: statistics.median(r["per_second"] for r in results) for name, results in runs.items()}
        rows[kind] = {"clients": BATCH_CLIENTS, "rounds": rounds, "runs": runs, "per_second": speed,
                      "ratio": speed["on"] / speed["off"], "questions": len(questions),
                      "same": sum(a == b for a, b in zip(answers["on"], answers["off"]))}
    return rows


def writer_run(server: Server, index: Path, articles: Path, questions: list[str], commits: int) -> dict:
    """Searches at 4 clients while `bertsearch index` re-indexes the folder `commits` times."""
    target = sorted(articles.glob("*.txt"))[0]
    original = target.read_text(encoding="utf-8")
    followed, failed, requests = 0, 0, 0
    try:
        for commit in range(commits):
            marker = f"zqxmarker{commit}"
            target.write_text(original + f"\nThis line was added by the writer: {marker}.\n", encoding="utf-8")
            writer = subprocess.Popen([sys.executable, "-m", "bertsearch", "index", str(articles), "--index", str(index),
                                       "-q", "--wait", "60"], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
            while writer.poll() is None:  # keep the server busy while the writer works
                result = asyncio.run(load(server.url, [("GET", "/api/search", {"q": q, "k": 10}) for q in questions[:8]], 4))
                failed += result["failed"]
                requests += result["requests"]
            if writer.returncode:
                sys.exit(f"the writer failed: {writer.stderr.read()}")
            found = asyncio.run(load(server.url, [("GET", "/api/search", {"q": marker, "mode": "bm25", "k": 1})], 1))
            hits = found["replies"][0] or []
            followed += bool(hits) and hits[0]["path"] == str(target.resolve()) and marker in hits[0]["text"]
            failed += found["failed"]
            requests += 1
    finally:
        target.write_text(original, encoding="utf-8")
    return {"commits": commits, "followed": followed, "requests": requests, "failed": failed}


def bad_input_run(server: Server) -> dict:
    import httpx

    auth = {"authorization": f"Bearer {TOKEN}"}
    cases = [
        ("oversized query", "GET", "/api/search", {"params": {"q": "x" * 5000}, "headers": auth}),
        ("oversized ask body", "POST", "/api/ask", {"content": json.dumps({"q": "x" * 100_000}), "headers": auth}),
        ("k=100000", "GET", "/api/search", {"params": {"q": "tower", "k": 100000}, "headers": auth}),
        ("k=-1", "GET", "/api/ask", {"params": {"q": "tower", "k": -1}, "headers": auth}),
        ("unknown mode", "GET", "/api/search", {"params": {"q": "tower", "mode": "psychic"}, "headers": auth}),
        ("malformed JSON", "POST", "/api/ask", {"content": '{"q": "tower"', "headers": {**auth, "content-type": "application/json"}}),
        ("JSON of the wrong shape", "POST", "/api/ask", {"json": ["q"], "headers": auth}),
        ("no token", "GET", "/api/search", {"params": {"q": "tower"}}),
        ("wrong token", "GET", "/api/search", {"params": {"q": "tower"}, "headers": {"authorization": "Bearer nope"}}),
        ("token in the wrong scheme", "GET", "/api/info", {"headers": {"authorization": f"Basic {TOKEN}"}}),
        ("foreign Host", "GET", "/api/info", {"headers": {**auth, "host": "attacker.example"}}),
        ("'..' in a document id", "GET", "/api/documents/..%2F..%2Fetc%2Fpasswd", {"headers": auth}),
        ("'..' in a static path", "GET", "/static/..%2F..%2Fserver.py", {"headers": auth}),
        ("a document id that is not one", "GET", "/api/documents/etc-passwd", {"headers": auth}),
        ("an unknown document", "GET", "/api/documents/99999999", {"headers": auth}),
        ("indexing on a read-only server", "POST", "/api/index", {"json": {"paths": ["../../etc"]}, "headers": auth}),
        ("a date that is not one", "GET", "/api/search", {"params": {"q": "tower", "after": "yesterday"}, "headers": auth}),
        ("a query of spaces", "GET", "/api/ask", {"params": {"q": "   "}, "headers": auth}),
    ]
    rows = []
    with httpx.Client(base_url=server.url, timeout=120) as http:
        for name, method, path, options in cases:
            response = http.request(method, path, **options)
            try:
                kind = response.json()["error"]["type"]
            except (ValueError, KeyError, TypeError):
                kind = None
            rows.append({"case": name, "status": response.status_code, "error": kind})
        still = http.get("/api/search", params={"q": "tower"}, headers=auth).status_code
    return {"cases": rows, "all_4xx_json": all(400 <= r["status"] < 500 and r["error"] for r in rows),
            "server_errors": sum(r["status"] >= 500 for r in rows), "still_answering": still == 200}


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--squad", default=str(SQUAD_DEV))
    parser.add_argument("--every", type=int, default=4, help="index every Nth dev article (default 4: 12 of 48)")
    parser.add_argument("--questions", type=int, default=32, help="questions per load level")
    parser.add_argument("--cold", type=int, default=3, help="questions asked through the CLI, a process each")
    parser.add_argument("-k", type=int, default=10)
    parser.add_argument("--rounds", type=int, default=3, help="alternating rounds of the batching comparison")
    parser.add_argument("--commits", type=int, default=3, help="re-indexing runs of the writer")
    parser.add_argument("--model", help="encoder of a new index (default: the packaged all-MiniLM-L6-v2)")
    parser.add_argument("--reader", help="QA model (default: the bundled reader)")
    parser.add_argument("--threads", type=int, default=0,
                        help="torch threads in every process (OMP_NUM_THREADS); 0: torch's default")
    parser.add_argument("--cache", type=Path, help="folder for the articles and the index (default: a temporary one)")
    parser.add_argument("--smoke", action="store_true", help="tiny sizes, to check the script runs")
    parser.add_argument("--out-dir", help="where to write the results (default benchmarks/results)")
    args = parser.parse_args(argv)
    if args.smoke:
        args.every, args.questions, args.cold, args.rounds, args.commits = 48, 4, 1, 1, 1
    if args.threads:  # the servers and the CLI are subprocesses: they read it from the environment
        import torch

        os.environ["OMP_NUM_THREADS"] = str(args.threads)
        torch.set_num_threads(args.threads)
    with tempfile.TemporaryDirectory() as scratch:
        cache = args.cache or Path(scratch)
        articles = load_articles(args.squad, args.every)
        questions = [q for q, _ in write_articles(articles, cache / "articles")][: args.questions]
        from bertsearch import Index

        with Index(cache / "index", model=args.model) as index:
            index.add([cache / "articles"])
            info = index.info().to_dict()
        data = run_all(args, cache, questions)
    data["corpus"] = {"articles": len(articles), "every": args.every, "documents": info["documents"],
                      "passages": info["passages"], "questions": len(questions), "k": args.k}
    write_result("serve-cpu", data, args.out_dir)
    rerender(Path(args.out_dir) if args.out_dir else RESULTS)


def rerender(out: Path = RESULTS) -> None:
    """Rewrite serve.md from serve-cpu.json (after changing `render`), without running anything."""
    (out / "serve.md").write_text(render(json.loads((out / "serve-cpu.json").read_text())))


def run_all(args, cache: Path, questions: list[str]) -> dict:
    index, data = cache / "index", {}
    reader = ["--reader", args.reader] if args.reader else []
    data["cli_cold"] = cli_cold(index, questions[: args.cold], args.k, reader)
    data["library_warm"] = library_warm(index, questions, args.k, args.reader)
    on = Server(index, *reader)
    off = Server(index, "--no-batching", *reader)
    try:
        data["start_seconds"] = on.start_seconds
        data["latency"] = latency_run(on, questions, args.k)
        data["batching"] = batching_run(on, off, questions, args.k, args.rounds)
    finally:
        data["exit_status_off"] = off.stop()
    try:
        data["writer"] = writer_run(on, index, cache / "articles", questions, args.commits)
        data["bad_input"] = bad_input_run(on)
    finally:
        data["exit_status_on"] = on.stop()
    return data


def render(result: dict) -> str:
    """The Markdown section of docs/benchmarks.md for one result."""
    m, c = result["machine"], result["corpus"]
    lines = [
        "## `bertsearch serve` under load (SQuAD v1.1 dev, real HTTP on loopback)", "",
        f"Every {c['every']}th dev article ({c['articles']} articles, {c['documents']} files, {c['passages']} passages, "
        f"default settings), {c['questions']} of their questions, k={c['k']}. The server is `bertsearch serve` "
        "(with a token) in a subprocess; the load generator is httpx with asyncio in another process, each client "
        "sending its next request when its last is answered. "
        f"Run on {result['date']} on {m['cpu']}, {m['cores']} cores, {m['torch_threads']} torch thread(s) in every "
        f"process, torch {m['torch']}, load average "
        f"{m['load_average']:.1f} at the end: **the machine was shared with other jobs**, so compare figures "
        "within this run only. (On a machine this loaded, torch's default of one thread per core made each "
        "search about ten times slower, its threads waiting on each other: `--threads 1` gives every process one.)", "",
        "```bash", result["command"], "```", "",
        "| what | clients | requests/s | p50 ms | p95 ms | p99 ms |", "|---|---:|---:|---:|---:|---:|",
    ]
    cold = result["cli_cold"]
    lines.append(f"| `bertsearch ask` (CLI, a process per question) | 1 | {1000 / cold['mean_ms']:.2f} | "
                 f"{cold['p50_ms']:,.0f} | {cold['p95_ms']:,.0f} | {cold['p99_ms']:,.0f} |")
    for kind, row in result["library_warm"].items():
        lines.append(f"| library `Index.{kind}` (warm, one at a time) | 1 | {row['per_second']:.2f} | "
                     f"{row['p50_ms']:,.0f} | {row['p95_ms']:,.0f} | {row['p99_ms']:,.0f} |")
    for row in result["latency"].values():
        lines.append(f"| server `/api/{row['kind']}` | {row['clients']} | {row['per_second']:.2f} | "
                     f"{row['p50_ms']:,.0f} | {row['p95_ms']:,.0f} | {row['p99_ms']:,.0f} |")
    failed = sum(row["failed"] for row in result["latency"].values())
    b, w, bad = result["batching"], result["writer"], result["bad_input"]
    lines += [
        "", f"Failed requests in the load runs: {failed}. The server took {result['start_seconds']:.1f} s from "
        "launch to its first request (models loaded and warmed up).", "",
        "**Request batching**: the same questions at the same time from "
        f"{b['ask']['clients']} clients, to a server with batching and one with `--no-batching`, in "
        f"{b['ask']['rounds']} alternating rounds (requests per second: median, and the rounds' range):", "",
        "| route | with batching | `--no-batching` | ratio | same results |", "|---|---:|---:|---:|---:|",
        *[f"| `/api/{kind}` | {_rounds(row['runs']['on'])} | {_rounds(row['runs']['off'])} | "
          f"**{row['ratio']:.2f}x** | {row['same']} of {row['questions']} |" for kind, row in b.items()],
        "", "(Same results: the best answer's text for ask, the passage ids in order for search.) Batching "
        "saves per-call work, not arithmetic: a search is mostly one encoder call for a short query, so "
        "sharing it pays well; a question's reader work (k windows of about 250 tokens) is already one "
        "batched forward pass, so on a CPU sharing passes gains less.", "",
        f"**A writer alongside**: `bertsearch index` re-indexed the folder {w['commits']} times (a file changed "
        f"before each) while 4 clients searched: {w['requests']} requests, {w['failed']} failed; after each commit "
        f"the server found the commit's new text {w['followed']} times out of {w['commits']}.", "",
        f"**Bad input**: {len(bad['cases'])} kinds of bad request, each answered "
        + ("with a 4xx and a JSON error" if bad["all_4xx_json"] else "**not always with a 4xx JSON error**")
        + f"; {bad['server_errors']} server errors; the server "
        + ("still answered afterwards." if bad["still_answering"] else "**stopped answering**."), "",
        "| bad request | status | error type |", "|---|---:|---|",
        *[f"| {row['case']} | {row['status']} | {row['error']} |" for row in bad["cases"]],
    ]
    return "\n".join(lines) + "\n"


def _rounds(runs: list[dict]) -> str:
    speeds = [run["per_second"] for run in runs]
    low, high = min(speeds), max(speeds)
    return f"{statistics.median(speeds):.2f}/s" + (f" ({low:.2f}–{high:.2f})" if len(speeds) > 1 else "")


if __name__ == "__main__":
    main()
