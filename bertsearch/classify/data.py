"""Labelled examples from a file (TSV, CSV, JSON Lines) or from folders named after their labels.

Columns are found by name (a header row with `text`/`sentence`/... and `label`/`category`/...),
by the names given, or, in a two-column file without a header, guessed: the label is the
column with fewer distinct values and shorter ones. Anything unreadable raises InvalidDataError naming the
file, the row (1-based, as an editor counts lines) and the column.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from ..errors import InvalidDataError

TEXT_NAMES = ("text", "sentence", "content", "document", "review", "body", "message", "title")
LABEL_NAMES = ("label", "labels", "category", "class", "target", "topic", "sentiment", "intent")


@dataclass
class Examples:
    texts: list[str] = field(default_factory=list)
    labels: list[str] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.texts)


def load_examples(path: str | Path, *, text_column: str | None = None, label_column: str | None = None) -> Examples:
    """Read text/label pairs from a .tsv, .csv or .jsonl file (any other suffix: tab-separated)."""
    path = Path(path)
    try:
        content = path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as error:
        raise InvalidDataError(f"cannot read {path}: {getattr(error, 'strerror', None) or error}") from None
    if path.suffix.lower() in (".jsonl", ".ndjson", ".json"):
        examples = _from_json_lines(path, content, text_column, label_column)
    else:
        examples = _from_table(path, content, text_column, label_column)
    if not examples.texts:
        raise InvalidDataError(f"{path} holds no examples")
    return examples


def _from_table(path: Path, content: str, text_column, label_column) -> Examples:
    delimiter = "," if path.suffix.lower() == ".csv" else "\t"
    quoting = csv.QUOTE_MINIMAL if delimiter == "," else csv.QUOTE_NONE
    reader = csv.reader(io.StringIO(content, newline=""), delimiter=delimiter, quoting=quoting)
    rows = [(reader.line_num, row) for row in reader if any(cell.strip() for cell in row)]
    if not rows:
        return Examples()
    header = [cell.strip() for cell in rows[0][1]]
    if _is_header(header, text_column, label_column):
        names, rows = header, rows[1:]
        text_at = _named_column(path, names, text_column, TEXT_NAMES, "text")
        label_at = _named_column(path, names, label_column, LABEL_NAMES, "label")
    else:
        names = [f"column {i + 1}" for i in range(len(header))]
        text_at, label_at = _guessed_columns(path, [row for _, row in rows], text_column, label_column)
    examples = Examples()
    for number, row in rows:
        if len(row) != len(names):
            raise InvalidDataError(f"{path} row {number}: expected {len(names)} columns, found {len(row)}")
        _append(examples, path, number, row[text_at], row[label_at], names[text_at], names[label_at])
    return examples


def _is_header(first_row: list[str], text_column, label_column) -> bool:
    lowered = {cell.lower() for cell in first_row}
    wanted = {c.lower() for c in (text_column, label_column) if c and not c.isdigit()}
    return bool(wanted & lowered) or bool(lowered & set(TEXT_NAMES)) and bool(lowered & set(LABEL_NAMES))


def _named_column(path: Path, names: list[str], asked: str | None, candidates: Sequence[str], kind: str) -> int:
    lowered = [n.lower() for n in names]
    for wanted in ([asked] if asked else candidates):
        if wanted.lower() in lowered:
            return lowered.index(wanted.lower())
    if asked:
        raise InvalidDataError(f"{path} has no column named {asked!r} (its columns: {', '.join(names)})")
    raise InvalidDataError(
        f"{path}: cannot tell which column holds the {kind} (its columns: {', '.join(names)}); "
        f"name it {candidates[0]!r} or pass --{kind}-column"
    )


def _guessed_columns(path: Path, rows: list[list[str]], text_column, label_column) -> tuple[int, int]:
    """Column positions in a file without a header: given as numbers (1-based), or guessed for two columns."""
    if text_column and label_column and text_column.isdigit() and label_column.isdigit():
        return int(text_column) - 1, int(label_column) - 1
    width = len(rows[0])
    if width == 2:
        columns = [[row[i].strip() for row in rows if len(row) == width] for i in range(2)]
        distinct = [len(set(values)) for values in columns]
        length = [sum(map(len, values)) / len(values) for values in columns]
        label_at = distinct.index(min(distinct))
        if distinct[0] != distinct[1] and length[label_at] < length[1 - label_at]:
            return 1 - label_at, label_at
    raise InvalidDataError(
        f"{path}: cannot tell which column holds the text and which the label; add a header row "
        "naming them (text, label) or pass --text-column and --label-column"
    )


def _from_json_lines(path: Path, content: str, text_column, label_column) -> Examples:
    examples = Examples()
    for number, line in enumerate(content.split("\n"), 1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except json.JSONDecodeError as error:
            raise InvalidDataError(f"{path} line {number}: not valid JSON ({error.msg})") from None
        if not isinstance(record, dict):
            raise InvalidDataError(f"{path} line {number}: expected a JSON object with a text and a label")
        keys = list(record)
        text_key = keys[_named_column(path, keys, text_column, TEXT_NAMES, "text")]
        label_key = keys[_named_column(path, keys, label_column, LABEL_NAMES, "label")]
        _append(examples, path, number, record[text_key], record[label_key], text_key, label_key, row="line")
    return examples


def _append(examples: Examples, path: Path, number: int, text, label, text_name: str, label_name: str,
            row: str = "row") -> None:
    if not isinstance(text, str) or not text.strip():
        raise InvalidDataError(f"{path} {row} {number}, column {text_name!r}: the text is empty")
    if label is None or isinstance(label, (dict, list)) or not str(label).strip():
        raise InvalidDataError(f"{path} {row} {number}, column {label_name!r}: no label")
    examples.texts.append(text.strip())
    examples.labels.append(str(label).strip())


def examples_from_folders(root: str | Path, token_spans: Callable, *, passage_tokens: int, overlap_tokens: int,
                          max_file_bytes: int | None = None) -> Examples:
    """One example per passage of each document, labelled with the name of its top folder under `root`.

    Documents are extracted and chunked as `bertsearch index` does; files that
    cannot be extracted are left out, as `index` skips them.
    """
    from ..chunking import split_passages
    from ..extract import MAX_FILE_BYTES, SkipFile, Skipped, extract, find_files

    root = Path(root)
    folders = sorted(p for p in root.iterdir() if p.is_dir() and not p.name.startswith(".")) if root.is_dir() else []
    if not folders:
        raise InvalidDataError(f"{root} has no subfolders: put each label's documents in a folder named after it")
    examples = Examples()
    for folder in folders:
        for found in find_files([folder]):
            if isinstance(found, Skipped):
                continue
            try:
                text = extract(found, max_file_bytes or MAX_FILE_BYTES).text
            except (SkipFile, OSError):
                continue
            for passage in split_passages(text, token_spans, passage_tokens, overlap_tokens):
                examples.texts.append(passage.text)
                examples.labels.append(folder.name)
    if len(set(examples.labels)) < 2:
        raise InvalidDataError(f"{root} needs documents in at least two label folders, found {len(set(examples.labels))}")
    return examples
