"""`bertsearch watch`: how soon a saved file is searchable, and whether a storm of changes leaves the index right.

    python benchmarks/watch.py                  # 200 files, 50 edits, 1,000 operations; default encoder
    python benchmarks/watch.py --smoke --model tests-tiny-model-folder

Latency: a folder of FILES documents (three SQuAD v1.1 dev paragraphs each, or
seeded synthetic text with --smoke) is watched in this process, as `bertsearch
mcp --watch` does. Each of EDITS edits appends a sentence with a new word to a
random file; the time from the write's close until a search finds the word is
the save-to-searchable latency (the debounce included). The peer is what a user
does without `watch`: run `bertsearch index FOLDER` after saving (timed as the
library call `Index.add([folder])`, without the command's start-up and model
load), on the same edits.

Stress: OPS file operations (create, edit, editor-style save, rename, delete) in
bursts, while a thread searches the index without pause. At the end, once the
watcher is idle, the index must hold exactly what a fresh index of the folder
holds (same documents, same passages), with no failed update and no failed search.
Writes benchmarks/results/watch.json and the section benchmarks/results/watch.md
(then run benchmarks/report.py to refresh docs/benchmarks.md).
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

from common import RESULTS, SQUAD_DEV, squad_paragraphs_and_questions, write_result

sys.path.insert(0, str(Path(__file__).parent.parent))

from bertsearch import Index  # noqa: E402

WORDS = ("tower river bridge honey moon rocket paper press iron lattice garden coffee planet orbit engine "
         "harbour castle forest winter summer market train signal lamp glass stone copper violin").split()
SETTLE_SECONDS = 1.0  # after the last operation, for the kernel's events to reach the watcher
DEADLINE_SECONDS = 600.0


def texts(files: int, smoke: bool, rng: random.Random) -> list[str]:
    """One text per file: three SQuAD paragraphs, or seeded synthetic ones."""
    if not smoke and SQUAD_DEV.exists():
        paragraphs, _ = squad_paragraphs_and_questions()
        return ["\n\n".join(paragraphs[3 * n: 3 * n + 3]) + "\n" for n in range(files)]
    return ["\n\n".join(" ".join(rng.choices(WORDS, k=rng.randint(30, 80))) + "." for _ in range(3)) + "\n"
            for _ in range(files)]


def write_folder(folder: Path, contents: list[str]) -> None:
    for n, text in enumerate(contents):
        path = folder / f"part{n % 4}" / f"doc{n:04d}.txt"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)


def found(index, word: str) -> set[str]:
    return {hit.path for hit in index.search(word, k=5, mode="bm25")}


def wait_for(condition) -> float:
    """Poll until `condition()`; the time it became true."""
    end = time.monotonic() + DEADLINE_SECONDS
    while not condition():
        if time.monotonic() > end:
            raise SystemExit("a change never became searchable: the watcher is broken")
        time.sleep(0.01)
    return time.perf_counter()


def edit(path: Path, n: int) -> tuple[str, float]:
    """Append a sentence with a new word; the word and when the write closed."""
    word = f"zqmarker{n}x"
    with open(path, "a") as file:
        file.write(f"\nA note added later mentions {word} and the {WORDS[n % len(WORDS)]}.\n")
    return word, time.perf_counter()


def latencies(index, folder: Path, edits: int, rng: random.Random, watching: bool, first: int) -> list[float]:
    """Seconds from each save until its new word is searchable: by the watcher, or by re-indexing the folder."""
    files = sorted(folder.rglob("*.txt"))
    seconds = []
    for n in range(first, first + edits):
        path = rng.choice(files)
        word, saved = edit(path, n)
        if not watching:
            index.add([folder])
        seconds.append(wait_for(lambda: str(path.resolve()) in found(index, word)) - saved)
    return seconds


def stress(index, watcher, folder: Path, ops: int, rng: random.Random, texts_pool: list[str]) -> dict:
    """OPS operations in bursts while a thread searches; counts of each kind, searches and their errors."""
    kinds = {"create": 0, "edit": 0, "editor save": 0, "rename": 0, "delete": 0}
    searches, search_errors, stop = [0], [], threading.Event()

    def search_forever():
        while not stop.is_set():
            try:
                index.search(" ".join(rng.sample(WORDS, 3)), k=5)
                searches[0] += 1
            except Exception as error:  # noqa: BLE001 - counted, and the figure says how many
                search_errors.append(f"{type(error).__name__}: {error}")

    searcher = threading.Thread(target=search_forever, daemon=True)
    searcher.start()
    started, done, serial = time.perf_counter(), 0, 0
    while done < ops:
        for _ in range(min(ops - done, rng.randint(1, 25))):
            serial += 1
            kinds[operate(folder, rng, serial, texts_pool)] += 1
            done += 1
        time.sleep(rng.uniform(0, 0.3))
    operations_seconds = time.perf_counter() - started
    time.sleep(SETTLE_SECONDS)
    idle = watcher.wait_until_idle(DEADLINE_SECONDS)
    caught_up_seconds = time.perf_counter() - started
    stop.set()
    searcher.join()
    return {"operations": kinds, "operations_seconds": operations_seconds, "caught_up_seconds": caught_up_seconds,
            "idle": idle, "searches": searches[0], "search_errors": search_errors[:5],
            "search_error_count": len(search_errors)}


def operate(folder: Path, rng: random.Random, serial: int, texts_pool: list[str]) -> str:
    """One file operation, chosen at random (deleting only when there are files to spare)."""
    files = sorted(folder.rglob("*.txt"))
    kind = rng.choices(["create", "edit", "editor save", "rename", "delete"], [30, 25, 10, 15, 20])[0]
    if not files or (kind == "delete" and len(files) < 50):
        kind = "create"
    if kind == "create":
        path = folder / f"part{serial % 4}" / f"new{serial:05d}.txt"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(rng.choice(texts_pool))
    elif kind == "edit":
        edit(rng.choice(files), serial)
    elif kind == "editor save":  # a backup, the new text to a temporary file renamed over, the backup deleted
        path = rng.choice(files)
        backup, temporary = path.with_name(path.name + "~"), path.with_name(f".{path.name}.tmp")
        shutil.copyfile(path, backup)
        temporary.write_text(path.read_text() + f"\nSaved again as revision {serial}.\n")
        os.replace(temporary, path)
        backup.unlink()
    elif kind == "rename":
        path = rng.choice(files)
        path.rename(folder / f"part{rng.randrange(4)}" / f"moved{serial:05d}.txt")
    else:
        rng.choice(files).unlink()
    return kind


def contents(index) -> dict[str, list[str]]:
    """Each document's path and its passages' texts, in order."""
    docs: dict[str, list[str]] = {}
    for passage in index.passages():
        docs.setdefault(passage.path, []).append(passage.text)
    return docs


def spread_ms(seconds: list[float]) -> dict:
    ordered = sorted(seconds)
    return {"p50_ms": statistics.median(ordered) * 1000, "p90_ms": ordered[int(0.9 * (len(ordered) - 1))] * 1000,
            "max_ms": ordered[-1] * 1000, "runs": len(ordered)}


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--files", type=int, default=200)
    parser.add_argument("--edits", type=int, default=50)
    parser.add_argument("--ops", type=int, default=1000)
    parser.add_argument("--model", help="encoder (default: bertsearch's, all-MiniLM-L6-v2)")
    parser.add_argument("--seed", type=int, default=14)
    parser.add_argument("--smoke", action="store_true", help="tiny sizes and synthetic text, to check the script runs")
    parser.add_argument("--out-dir", type=Path, default=RESULTS)
    args = parser.parse_args(argv)
    if args.smoke:
        args.files, args.edits, args.ops = 12, 3, 40
    rng = random.Random(args.seed)
    load_before = os.getloadavg()[0]
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp) / "notes"
        pool = texts(args.files, args.smoke, rng)
        write_folder(folder, pool)
        notices = []
        with Index(Path(tmp) / "index", model=args.model) as index:
            started = time.perf_counter()
            watcher = index.watch([folder], notify=notices.append)
            first_index_seconds = time.perf_counter() - started
            watched = latencies(index, folder, args.edits, rng, watching=True, first=0)
            print(f"watch: p50 {statistics.median(watched):.2f}s, max {max(watched):.2f}s", file=sys.stderr)
            stressed = stress(index, watcher, folder, args.ops, rng, pool)
            watcher.stop()
            with Index(Path(tmp) / "fresh", model=args.model) as fresh:
                fresh.add([folder])
                stressed["equal_to_fresh_index"] = contents(index) == contents(fresh)
            stressed.update(index.info().to_dict())
            peer = latencies(index, folder, args.edits, rng, watching=False, first=args.edits)
            print(f"index after each save: p50 {statistics.median(peer):.2f}s, max {max(peer):.2f}s", file=sys.stderr)
    failures = [line for line in notices if line.startswith("update failed")]
    stressed.update(update_failures=failures[:5], update_failure_count=len(failures))
    data = {
        "files": args.files, "edits": args.edits, "ops": args.ops, "first_index_seconds": first_index_seconds,
        "watch": spread_ms(watched), "index_after_each_save": spread_ms(peer),
        "p50_ratio": statistics.median(peer) / statistics.median(watched),
        "stress": stressed, "load_average_before": load_before,
    }
    path = write_result("watch", data, args.out_dir)
    (args.out_dir / "watch.md").write_text(render(json.loads(path.read_text())))


def render(result: dict) -> str:
    """The docs section for one run (benchmarks/report.py includes results/*.md as they are)."""
    m, watch, peer, stress = result["machine"], result["watch"], result["index_after_each_save"], result["stress"]
    ops = ", ".join(f"{count} {kind}" for kind, count in stress["operations"].items())
    return f"""## Watching a folder (`bertsearch watch`, `mcp --watch`)

Save-to-searchable latency: a folder of {result['files']} text files (three SQuAD v1.1 dev paragraphs
each) watched in one process, as `bertsearch mcp --watch` runs; {result['edits']} edits, each appending a
sentence with a new word to a random file, timed from the write's close until a search finds the word
(the 0.3 s debounce included). The peer is re-running `bertsearch index FOLDER` after each save, timed as
the library call alone (no process start, no model load: the command costs more).

```bash
{result['command']}
```

Run on {result['date']} on {m['cores']} cores ({m['cpu']}), torch {m['torch']}, {m.get('torch_threads')} torch
threads, **shared with other jobs**: load average {result['load_average_before']:.1f} at the start,
{m['load_average']:.1f} at the end (2 means both cores busy).

| save to searchable | p50 | p90 | max | edits |
|---|---|---|---|---|
| `watch` | {watch['p50_ms'] / 1000:.2f} s | {watch['p90_ms'] / 1000:.2f} s | {watch['max_ms'] / 1000:.2f} s | {watch['runs']} |
| `index FOLDER` after each save | {peer['p50_ms'] / 1000:.2f} s | {peer['p90_ms'] / 1000:.2f} s | {peer['max_ms'] / 1000:.2f} s | {peer['runs']} |

`watch` makes a save searchable {result['p50_ratio']:.1f}× sooner than re-indexing the folder (p50 against
p50, same run); the first catch-up of the {result['files']} files took {result['first_index_seconds']:.0f} s.

Stress: {result['ops']:,} file operations in bursts of 1–25 ({ops}) over
{stress['operations_seconds']:.0f} s, while a thread searched without pause ({stress['searches']:,} searches).
The watcher was idle again {stress['caught_up_seconds']:.0f} s after the first operation. The index then held
{stress['documents']} documents and {stress['passages']:,} passages, **{"the same documents and passages as" if stress['equal_to_fresh_index'] else "NOT the same as"}**
a fresh index of the folder; {stress['update_failure_count']} failed updates, {stress['search_error_count']} failed searches.
"""



if __name__ == "__main__":
    main()
