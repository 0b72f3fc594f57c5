"""Bad input never crashes indexing or search: each case is reported, and nothing indexed is lost.

The table in docs/reliability.md comes from `test_every_bad_file_is_reported_and_nothing_is_lost`
(run with `-s` to print it).
"""

import builtins
import codecs
import os

import pytest
from click.testing import CliRunner

from bertsearch import Index, InvalidQueryError
from bertsearch.cli import cli
from bertsearch import ingest as ingest_module


def make_bad_corpus(folder):
    """One file (or folder) per kind of bad input; returns what each is expected to get."""
    folder.mkdir()
    (folder / "binary.txt").write_bytes(b"\x00\x01\x02\xff" * 100)
    (folder / "bin\nary.txt").write_bytes(b"\x00\x01\x02\xff" * 100)  # its notice must stay on one line
    (folder / "latin1.txt").write_bytes("Café crème, ½ price in Zürich.".encode("latin-1"))
    (folder / "utf16.txt").write_bytes(codecs.BOM_UTF16_LE + "Text in UTF-16 with a BOM.".encode("utf-16-le"))
    (folder / "empty.txt").write_bytes(b"")
    (folder / "whitespace.md").write_text(" \n\n\t\n")
    with open(folder / "huge.txt", "wb") as file:  # 200 MB, sparse: costs no disk
        file.truncate(200_000_000)
    (folder / "locked.txt").write_text("nobody may read this")
    (folder / "broken.pdf").write_bytes(b"%PDF-1.4\n1 0 obj << /Type /Catalog /Pages 2 0 R >> endobj\ntrailer <<")
    (folder / "deep.html").write_text("<div>" * 20_000 + "deeply nested" + "</div>" * 20_000)
    (folder / "a name with spaces.txt").write_text("spaces in the name")
    (folder / "new\nline.txt").write_text("a newline in the name")
    (folder / "日本語.txt").write_text("東京タワーは東京にあります。")
    (folder / os.fsdecode(b"bad-\xff-name.txt")).write_text("a name that is not UTF-8")
    os.symlink(folder / "loop-b.txt", folder / "loop-a.txt")
    os.symlink(folder / "loop-a.txt", folder / "loop-b.txt")
    os.symlink(folder, folder / "self")  # a folder link back to itself: not followed
    (folder / "vanishing.txt").write_text("here when listed, gone when read")
    (folder / "unlistable").mkdir()
    (folder / "unlistable" / "inside.txt").write_text("in a folder that cannot be listed")
    return {
        "binary.txt": "binary file",
        "bin\nary.txt": "binary file",
        "latin1.txt": "indexed",
        "utf16.txt": "indexed",
        "empty.txt": "no text",
        "whitespace.md": "no text",
        "huge.txt": "over the 10 MB limit",
        "locked.txt": "unreadable (Permission denied)",
        "broken.pdf": "could not parse PDF",
        "deep.html": "indexed",
        "a name with spaces.txt": "indexed",
        "new\nline.txt": "indexed",
        "日本語.txt": "indexed",
        os.fsdecode(b"bad-\xff-name.txt"): "not valid UTF-8",
        "loop-a.txt": "symbolic link loop",
        "loop-b.txt": "symbolic link loop",
        "vanishing.txt": "disappeared during indexing",
        "unlistable": "unreadable folder (Permission denied)",
    }


@pytest.fixture
def unkind_filesystem(monkeypatch):
    """Tests run as root, where chmod 000 blocks nothing: refuse reads of `locked*` and listing of
    `unlistable`, and delete `vanishing.txt` between listing and reading."""
    real_open, real_scandir, real_find = builtins.open, os.scandir, ingest_module.find_files

    def open_(file, *args, **kwargs):
        if os.path.basename(os.fspath(file)).startswith("locked"):
            raise PermissionError(13, "Permission denied", os.fspath(file))
        return real_open(file, *args, **kwargs)

    def scandir(path="."):
        if os.path.basename(os.fspath(path)) == "unlistable":
            raise PermissionError(13, "Permission denied", os.fspath(path))
        return real_scandir(path)

    def find_files(*args, **kwargs):
        found = list(real_find(*args, **kwargs))
        for path in found:
            if getattr(path, "name", "") == "vanishing.txt":
                path.unlink()
        return iter(found)

    monkeypatch.setattr(builtins, "open", open_)
    monkeypatch.setattr(os, "scandir", scandir)
    monkeypatch.setattr(ingest_module, "find_files", find_files)


def test_every_bad_file_is_reported_and_nothing_is_lost(tmp_path, corpus, tiny_bert, unkind_filesystem):
    index = Index(tmp_path / "index", model=tiny_bert)
    index.add([corpus])
    (corpus / "sub" / "unlistable").mkdir()
    (corpus / "sub" / "unlistable" / "kept.txt").write_text("indexed, then its folder cannot be listed")
    index.add([corpus / "sub" / "unlistable" / "kept.txt"])
    bad = corpus / "bad"
    expected = make_bad_corpus(bad)

    notices = []
    report = index.add([corpus], notify=notices.append)

    got = {os.path.relpath(s.path, bad): s.reason for s in report.skipped if str(s.path).startswith(str(bad))}
    got.update({os.path.relpath(p, bad): "indexed" for p in report.added})
    print("\n| input | what it got |\n|---|---|")
    for name, want in expected.items():
        print(f"| `{name!r}` | {got.get(name)} |")
        assert want in got.get(name, ""), (name, got.get(name))
    assert all("\n" not in line for line in notices) and len(notices) == len(report.skipped)
    documents = set(index.store.document_paths())
    assert str(corpus / "sub" / "unlistable" / "kept.txt") in documents  # its folder was unlistable: kept
    assert {str(corpus / n) for n in ("paris.txt", "bees.md", "sub/moon.html")} <= documents
    assert index.check().ok


def test_a_corpus_inside_the_index_folder_is_refused(tmp_path, corpus, tiny_bert):
    index = Index(tmp_path / "index", model=tiny_bert)
    index.add([corpus])
    inside = tmp_path / "index" / "docs"
    inside.mkdir()
    (inside / "notes.txt").write_text("kept inside the index folder")
    report = index.add([corpus, inside])
    assert [s.reason for s in report.skipped] == [f"inside the index folder {(tmp_path / 'index').resolve()}"]
    assert index.info().documents == 3


def test_a_file_changed_during_the_run_is_picked_up_next_time(tmp_path, corpus, tiny_bert, monkeypatch):
    real_find = ingest_module.find_files

    def find_then_edit(*args, **kwargs):
        found = list(real_find(*args, **kwargs))
        (corpus / "paris.txt").write_text("Rewritten while indexing: the tower is in Paris.")
        return iter(found)

    index = Index(tmp_path / "index", model=tiny_bert)
    monkeypatch.setattr(ingest_module, "find_files", find_then_edit)
    index.add([corpus])
    monkeypatch.setattr(ingest_module, "find_files", real_find)
    os.utime(corpus / "paris.txt", (1e9, 1e9))
    index.add([corpus])
    assert any("Rewritten" in hit.text for hit in index.search("tower", k=10))
    assert index.check().ok


def test_the_cli_reports_bad_files_one_line_each(tmp_path, corpus, tiny_bert, unkind_filesystem, monkeypatch):
    expected = make_bad_corpus(corpus / "bad")
    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(cli, ["index", str(corpus), "--model", tiny_bert])
    assert result.exit_code == 0 and "Traceback" not in result.output
    skipped = [line for line in result.stderr.splitlines() if line.startswith("skipped ")]
    not_indexed = [name for name, got in expected.items() if got != "indexed"]
    assert len(skipped) == len(result.stderr.strip().splitlines()) == len(not_indexed)
    assert f"{len(not_indexed)} skipped" in result.stdout


@pytest.fixture(scope="module")
def searchable(tmp_path_factory, tiny_bert):
    folder = tmp_path_factory.mktemp("searchable")
    for n, text in enumerate(["The Eiffel Tower stands in Paris.", "Honeybees dance.", "Apollo 11 landed in 1969."]):
        (folder / f"{n}.txt").write_text(text)
    index = Index(folder / "index", model=tiny_bert)
    index.add([folder])
    return index


@pytest.mark.parametrize("query", [
    "x" * 100_000,
    "?!.,;:…---",
    'tower AND "river" OR NOT bee* NEAR(moon rocket, 3) ^col: {a b}',
    "东京塔在哪里？ Где находится башня? أين البرج",
    os.fsdecode(b"undecodable \xff bytes"),
    "\x00 null",
])
def test_odd_queries_get_results(searchable, query):
    assert len(searchable.search(query, k=2)) == 2


def test_empty_queries_and_huge_k(searchable):
    for query in ("", "   \n\t"):
        with pytest.raises(InvalidQueryError, match="empty"):
            searchable.search(query)
    assert len(searchable.search("tower", k=10**9)) == 3  # k is capped at the index size


def test_odd_questions_are_read_too(searchable, tiny_qa):
    index = Index(searchable.path, reader=tiny_qa)
    for question in ("x " * 50_000, os.fsdecode(b"who \xff?"), "?!"):
        assert index.ask(question, k=2).passages
