"""Reading documents: per format, files read, characters extracted and time per file; and what
section boundaries do to passages.

    python benchmarks/ingestion.py              # 20 files per format, 3 rounds
    python benchmarks/ingestion.py --smoke      # 2 files, 1 round, into a temporary page

Formats: each file is written by tests/format_samples.py with the format's own
library (python-docx, python-pptx) or by hand (OpenDocument, EPUB, notebooks,
e-mail), at a size like a real document's (a few pages); Markdown, reST,
HTML and text are the files of sample_corpus/. `extract()` reads every file
once per round, rounds in turns; the time per file is the median round's total
over the files.

Passages: the repository's own Markdown (README.md, docs/*.md: real documents
with real heading trees) split with the default encoder's tokenizer, three
ways: ignoring headings (the old behaviour), with headings as boundaries, and
with headings as boundaries where a title alone joins the next section (what
ingest does). Counted: passages, passages that are only headings, passages
that run across a heading, tokens per passage.

Writes benchmarks/results/ingestion.json and the formats section of
docs/ingestion.md (between its `formats` markers).
"""

from __future__ import annotations

import argparse
import re
import statistics
import sys
import tempfile
import time
from pathlib import Path

from common import REPO, RESULTS, write_result

sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "tests"))

import format_samples  # noqa: E402

from bertsearch import chunking, structure  # noqa: E402
from bertsearch.extract import extract  # noqa: E402

PAGE = REPO / "docs" / "ingestion.md"
BEGIN, END = "<!-- formats: begin (benchmarks/ingestion.py) -->", "<!-- formats: end -->"
SIZES = {"docx": {"paragraphs": 40}, "pptx": {"slides": 20}, "odt": {"repeat": 60}, "epub": {"chapters": 20},
         "ipynb": {"cells": 15}, "eml": {"lines": 60}}


def write_samples(folder: Path, files: int, smoke: bool) -> dict[str, list[Path]]:
    samples = {}
    for name, write in format_samples.WRITERS.items():
        size = {key: 2 for key in SIZES[name]} if smoke else SIZES[name]
        samples[name] = [write(folder / f"{name}-{n}.{name}", **size) for n in range(files)]
    for suffix in ("md", "rst", "html", "txt"):
        samples[suffix] = sorted((REPO / "sample_corpus").rglob(f"*.{suffix}"))
    return samples


def time_formats(samples: dict[str, list[Path]], rounds: int) -> list[dict]:
    for paths in samples.values():
        extract(paths[0])  # a warm-up: each reader imports its library on first use
    seconds = {name: [] for name in samples}
    documents = {}
    for r in range(rounds):
        names = list(samples)[r % len(samples):] + list(samples)[: r % len(samples)]
        for name in names:
            started = time.perf_counter()
            documents[name] = [extract(path) for path in samples[name]]
            seconds[name].append(time.perf_counter() - started)
    rows = []
    for name, found in documents.items():
        rows.append({
            "format": name, "files": len(found),
            "bytes_per_file": statistics.mean(p.stat().st_size for p in samples[name]),
            "chars_per_file": statistics.mean(len(d.text) for d in found),
            "headings_per_file": statistics.mean(len(d.headings) for d in found),
            "pages_per_file": statistics.mean(len(d.pages) for d in found),
            "ms_per_file": {"median": 1000 * statistics.median(seconds[name]) / len(found),
                            "min": 1000 * min(seconds[name]) / len(found),
                            "max": 1000 * max(seconds[name]) / len(found), "runs": rounds},
        })
    return rows


def token_spans():
    from tokenizers import Tokenizer

    from bertsearch.checkpoints import DEFAULT_ENCODER, resolve_model_path

    tokenizer = Tokenizer.from_file(str(Path(resolve_model_path(DEFAULT_ENCODER)) / "tokenizer.json"))
    tokenizer.no_padding()
    tokenizer.no_truncation()
    return lambda texts: [e.offsets for e in tokenizer.encode_batch(list(texts), add_special_tokens=False)]


def passage_shapes(paths: list[Path], spans) -> list[dict]:
    """Passages of real Markdown three ways: headings ignored, headings as boundaries, and titles alone joined on."""
    rows = []
    for way, bounded, min_tokens in (("headings ignored", False, 0), ("headings as boundaries", True, 0),
                                     ("boundaries, a title alone joins the next section", True, None)):
        counts = {"way": way, "documents": len(paths), "passages": 0, "heading_only": 0, "across_a_heading": 0,
                  "tokens": []}
        saved = chunking.MIN_SECTION_TOKENS
        chunking.MIN_SECTION_TOKENS = saved if min_tokens is None else min_tokens
        try:
            for path in paths:
                document = extract(path)
                starts = {h.start for h in document.headings}
                chunks = chunking.split_passages(document.text, spans,
                                                 boundaries=structure.boundaries(document) if bounded else ())
                for chunk in chunks:
                    paragraphs = [m.start() for m in chunking.PARAGRAPH.finditer(document.text, chunk.start, chunk.end)]
                    counts["passages"] += 1
                    counts["heading_only"] += all(p in starts for p in paragraphs)
                    counts["across_a_heading"] += any(chunk.start < s < chunk.end for s in starts
                                                      if not _leading(s, paragraphs, starts))
                    counts["tokens"].append(len(spans([chunk.text])[0]))
        finally:
            chunking.MIN_SECTION_TOKENS = saved
        tokens = counts.pop("tokens")
        counts.update(median_tokens=statistics.median(tokens), mean_tokens=statistics.mean(tokens))
        rows.append(counts)
    return rows


def _leading(start: int, paragraphs: list[int], heading_starts: set[int]) -> bool:
    """Whether a heading is one of the titles a passage opens with (those it was meant to hold)."""
    for paragraph in paragraphs:
        if paragraph == start:
            return True
        if paragraph not in heading_starts:
            return False
    return False


def render(result: dict) -> str:
    lines = [BEGIN, "", f"Command: `{result['command']}`, run on {result['date']} on "
             f"{result['machine']['cpu']}, {result['machine']['cores']} cores, load average "
             f"{result['machine']['load_average']:.1f} at the end (a machine shared with other jobs).", "",
             "| format | files | bytes per file | characters per file | headings per file | pages per file | "
             "ms per file, median (min–max) of rounds |", "|---|--:|--:|--:|--:|--:|--:|"]
    for row in result["formats"]:
        ms = row["ms_per_file"]
        lines.append(f"| {row['format']} | {row['files']} | {row['bytes_per_file']:,.0f} | {row['chars_per_file']:,.0f} | "
                     f"{row['headings_per_file']:.1f} | {row['pages_per_file']:.1f} | "
                     f"{ms['median']:.2f} ({ms['min']:.2f}–{ms['max']:.2f}) |")
    lines += ["", f"Passages of the repository's own Markdown ({result['passages'][0]['documents']} files: "
              "README.md and docs/*.md), default encoder tokenizer, 200-token passages:", "",
              "| passages | count | only a heading | running across a heading | tokens, median | tokens, mean |",
              "|---|--:|--:|--:|--:|--:|"]
    for row in result["passages"]:
        lines.append(f"| {row['way']} | {row['passages']} | {row['heading_only']} | {row['across_a_heading']} | "
                     f"{row['median_tokens']:.0f} | {row['mean_tokens']:.0f} |")
    return "\n".join(lines + ["", END])


def write_page(section: str, page: Path) -> None:
    text = page.read_text() if page.exists() else f"# Ingestion\n\n{BEGIN}\n{END}\n"
    before, rest = text.split(BEGIN, 1)
    after = rest.split(END, 1)[1]
    page.write_text(before + section + after)
    print(f"wrote {page}", file=sys.stderr)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--files", type=int, default=20, help="files per format")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--smoke", action="store_true", help="2 files of each format, 1 round, tiny documents")
    parser.add_argument("--out-dir", type=Path, default=RESULTS)
    parser.add_argument("--page", type=Path, default=PAGE)
    args = parser.parse_args(argv)
    files, rounds = (2, 1) if args.smoke else (args.files, args.rounds)
    with tempfile.TemporaryDirectory() as folder:
        formats = time_formats(write_samples(Path(folder), files, args.smoke), rounds)
    markdown = [REPO / "README.md", *sorted((REPO / "docs").glob("*.md"))]
    passages = passage_shapes(markdown[:2] if args.smoke else markdown, token_spans())
    path = write_result("ingestion", {"formats": formats, "passages": passages}, args.out_dir)
    import json

    write_page(render(json.loads(path.read_text())), args.page)


if __name__ == "__main__":
    main()
