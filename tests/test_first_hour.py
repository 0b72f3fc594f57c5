"""What a newcomer meets first (issue #11): one clear line for a bad device, model or file, dates as the
README writes them, text in legacy encodings, symbolic links, no leftovers, an honest progress bar and
Ctrl-C, and a library that loads its models quietly. `run` and `indexed` come from conftest."""

import io
import re
import subprocess
import sys
from pathlib import Path

import pytest

from bertsearch.extract import decode, extract


def only_line(result) -> str:
    assert result.exit_code != 0 and "Traceback" not in result.output
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, result.stderr
    return lines[0]


@pytest.mark.parametrize("command", [["search", "Eiffel"], ["ask", "Who?"]])
@pytest.mark.parametrize("device", ["cuda", "cuda:1", "tpu"])
def test_a_device_this_machine_lacks_is_one_line_naming_the_devices_it_has(run, indexed, command, device):
    line = only_line(run(*command, "--device", device))
    assert line.startswith("Error:") and repr(device) in line
    assert "this machine has cpu" in line


def test_index_with_a_missing_device_fails_in_one_line(run, corpus, tiny_bert):
    line = only_line(run("index", corpus, "--model", tiny_bert, "--device", "cuda"))
    assert "this machine has cpu" in line


def test_dates_take_the_readme_formats(run, indexed):
    for moment in ("2024-05-31", "2024-05-31T14:00", "2024-05-31 14:00:30"):
        result = run("search", "Eiffel", "--after", moment, "--mode", "bm25")
        assert result.exit_code == 0, result.output
        assert "paris.txt" in result.output  # written today, so after each date
    assert "paris.txt" not in run("search", "Eiffel", "--before", "2024-05-31T14:00", "--mode", "bm25").output
    bad = run("search", "Eiffel", "--after", "31/05/2024")
    assert bad.exit_code == 2 and "use 2024-05-31 or 2024-05-31T14:00" in bad.stderr


@pytest.mark.parametrize("flag", ["-V", "--version"])
def test_version(run, flag):
    result = run(flag)
    assert result.exit_code == 0 and result.output.startswith("bertsearch, version ")


@pytest.mark.parametrize("text, encoding", [
    ("Café au lait, crème brûlée.", "latin-1"),
    ("He said “hello” – it’s a naïve café.", "cp1252"),
    ("Москва — столица России, крупнейший город страны.", "cp1251"),
    ("東京は日本の首都であり、世界最大の都市圏を形成している。", "shift_jis"),
])
def test_text_in_a_legacy_encoding_is_read_as_written(text, encoding):
    decoded = decode(text.encode(encoding))
    assert decoded.text == text and decoded.undecodable == 0


def test_utf8_with_a_stray_byte_stays_utf8_and_counts_it():
    decoded = decode("Grüße aus München ".encode() + b"\xff\xfe" + " und schön".encode())
    assert decoded.encoding == "utf-8" and decoded.undecodable == 2
    assert decoded.text.startswith("Grüße aus München") and decoded.text.endswith("und schön")


def test_a_latin1_file_is_indexed_with_its_accents(tmp_path):
    menu = tmp_path / "menu.txt"
    menu.write_bytes("Café au lait".encode("latin-1"))
    document = extract(menu)
    assert document.text == "Café au lait" and document.encoding == "cp1252"


def test_loading_models_prints_nothing(tiny_bert, tiny_qa, capfd, monkeypatch):
    from bertsearch import Encoder, Reader

    monkeypatch.delenv("TRANSFORMERS_VERBOSITY", raising=False)
    Encoder(tiny_bert, device="cpu")
    Reader(tiny_qa, device="cpu")
    captured = capfd.readouterr()
    assert captured.err == "" and captured.out == ""


def test_a_reader_path_that_does_not_exist_says_so(run, indexed, tmp_path):
    line = only_line(run("ask", "Who?", "--reader", tmp_path / "no_such_reader"))
    assert "no model folder at" in line and "does not exist" in line


def test_a_folder_that_holds_no_model_says_so(run, indexed, tmp_path, tiny_qa):
    empty = tmp_path / "empty"
    empty.mkdir()
    assert "it has no config.json" in only_line(run("ask", "Who?", "--reader", empty))
    untokenized = tmp_path / "weights-only"
    untokenized.mkdir()
    (untokenized / "config.json").write_text(Path(tiny_qa, "config.json").read_text())
    assert "has no tokenizer" in only_line(run("ask", "Who?", "--reader", untokenized))


def test_a_hub_id_offline_fails_at_once_without_retrying(run, indexed, monkeypatch):
    from huggingface_hub import constants

    from bertsearch import checkpoints

    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", True)
    line = only_line(run("ask", "Who?", "--reader", "someone/no-such-model"))
    assert "not in the local Hugging Face cache and HF_HUB_OFFLINE is set" in line

    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", False)  # online in name, but no connection
    monkeypatch.setattr(checkpoints, "_hub_reachable", lambda endpoint: False)
    line = only_line(run("ask", "Who?", "--reader", "someone/no-such-model"))
    assert "cannot be reached" in line and "Retrying" not in line


def test_a_pdf_parser_warning_is_not_printed_under_quiet(tiny_bert, tmp_path):
    folder = tmp_path / "docs"
    folder.mkdir()
    (folder / "notes.txt").write_text("Some notes.")
    pdf = (Path(__file__).parent.parent / "sample_corpus" / "history" / "printing_press.pdf").read_bytes()
    (folder / "truncated.pdf").write_bytes(pdf[:3000])  # pypdf logs "EOF marker not found"
    # A real process: pytest's own logging capture would hide what reaches stderr.
    result = subprocess.run([sys.executable, "-m", "bertsearch", "index", str(folder), "--model", tiny_bert, "-q",
                             "--index", str(tmp_path / "index")], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""


def test_check_on_an_index_with_nothing_in_it_says_it_is_empty(run, tmp_path):
    from bertsearch.store import Store

    Store(tmp_path / "interrupted", create=True).close()  # what a first run killed before its first commit leaves
    result = run("check", "--index", tmp_path / "interrupted")
    assert result.exit_code == 0, result.output
    assert "None" not in result.output
    assert "encoder     none recorded yet" in result.output
    assert "status      empty: nothing is indexed yet" in result.output


# -- symbolic links ------------------------------------------------------------


@pytest.fixture
def linked(tmp_path):
    """docs/real.txt, docs/link.txt -> real.txt, docs/away.txt -> a file outside docs/."""
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "real.txt").write_text("The tower stands in Paris.")
    (docs / "link.txt").symlink_to(docs / "real.txt")
    (tmp_path / "elsewhere.txt").write_text("Honeybees dance.")
    (docs / "away.txt").symlink_to(tmp_path / "elsewhere.txt")
    return docs


def names(index) -> set[str]:
    return {Path(d.path).name for d in index.documents()}


def test_a_document_found_through_a_link_is_stored_under_the_link(linked, tiny_bert, tmp_path):
    from bertsearch import Index

    notices = []
    with Index(tmp_path / "index", model=tiny_bert) as index:
        index.add([linked], notify=notices.append)
        assert names(index) == {"real.txt", "link.txt"}
        assert any("away.txt" in n and "--follow-links" in n for n in notices)
        (linked / "link.txt").unlink()
        report = index.add([linked])
        assert [Path(p).name for p in report.removed] == ["link.txt"]
        assert names(index) == {"real.txt"}


def test_removing_a_folder_removes_what_was_found_through_links_in_it(linked, tiny_bert, tmp_path):
    from bertsearch import Index

    with Index(tmp_path / "index", model=tiny_bert) as index:
        index.add([linked], follow_links=True)
        assert names(index) == {"real.txt", "link.txt", "away.txt"}
        assert len(index.remove([linked])) == 3
        assert names(index) == set()


def test_follow_links_follows_folders_and_skips_a_loop(tmp_path, tiny_bert, run):
    docs = tmp_path / "docs"
    (docs / "inner").mkdir(parents=True)
    (docs / "inner" / "a.txt").write_text("Apollo 11 landed on the Moon.")
    (docs / "inner" / "back").symlink_to(docs)  # a loop
    (tmp_path / "shared").mkdir()
    (tmp_path / "shared" / "b.txt").write_text("The Amazon is a river.")
    (docs / "shared").symlink_to(tmp_path / "shared")
    plain = run("index", docs, "--model", tiny_bert, "--index", tmp_path / "plain")
    assert "1 new" in plain.stdout and "outside" in plain.stderr
    followed = run("index", docs, "--model", tiny_bert, "--index", tmp_path / "followed", "--follow-links")
    assert followed.exit_code == 0 and "2 new" in followed.stdout
    assert "symbolic link loop" in followed.stderr


# -- messages that tell the truth -----------------------------------------------


def test_a_file_skipped_for_its_size_is_named_as_the_reason(run, tmp_path, tiny_bert):
    large = tmp_path / "large.txt"
    large.write_text("A line of text.\n" * 100_000)  # 1.6 MB
    line = only_line(run("index", large, "--max-file-mb", "1", "--model", tiny_bert, "-q"))
    assert "nothing to index" in line and "1 file was skipped: over the 1 MB limit (--max-file-mb)" in line


def test_another_model_for_an_existing_index_is_refused_without_describing_it(run, indexed, tiny_bert, tmp_path):
    line = only_line(run("index", indexed, "--model", tmp_path / "nonexistent_model"))
    assert f"this index was built with {tiny_bert} (" in line
    assert "asks for another model" in line and "nonexistent_model (" not in line


# -- leftovers -------------------------------------------------------------------


def test_remove_without_an_index_leaves_nothing(run, tmp_path):
    line = only_line(run("remove", "foo"))
    assert "no index at" in line
    assert not (tmp_path / ".bertsearch").exists()


@pytest.mark.parametrize("why", ["empty folder", "missing device"])
def test_a_first_index_that_fails_leaves_nothing(run, tmp_path, tiny_bert, corpus, why):
    if why == "empty folder":
        (tmp_path / "empty").mkdir()
        result = run("index", tmp_path / "empty", "--index", tmp_path / "X", "--model", tiny_bert)
    else:
        result = run("index", corpus, "--index", tmp_path / "X", "--model", tiny_bert, "--device", "cuda")
    assert result.exit_code == 1
    assert not (tmp_path / "X").exists()


def test_a_failed_first_index_into_an_existing_folder_removes_only_its_own_files(run, tmp_path, tiny_bert):
    (tmp_path / "X").mkdir()
    (tmp_path / "X" / "mine.txt").write_text("the user's own file")
    (tmp_path / "empty").mkdir()
    assert run("index", tmp_path / "empty", "--index", tmp_path / "X", "--model", tiny_bert).exit_code == 1
    assert [p.name for p in (tmp_path / "X").iterdir()] == ["mine.txt"]


def test_a_failure_on_an_existing_index_keeps_it(run, indexed, tmp_path):
    (tmp_path / "empty").mkdir()
    assert run("index", tmp_path / "empty").exit_code == 1
    assert run("check").exit_code == 0
    assert "documents   3" in run("check").output


# -- progress and interruption ----------------------------------------------------


class Terminal(io.StringIO):
    def isatty(self):
        return True


def test_progress_counts_passages_encoded_with_a_rate_and_files_done(corpus, tiny_bert, tmp_path, monkeypatch):
    from bertsearch import Index

    screen = Terminal()
    monkeypatch.setattr(sys, "stderr", screen)
    with Index(tmp_path / "index", model=tiny_bert) as index:
        report = index.add([corpus], progress=True)
    shown = screen.getvalue()
    assert f"{report.passages_encoded} passages" in shown
    assert re.search(r"[\d.]+ passages/s|[\d.]+s/ passages", shown)  # the rate (tqdm inverts it under 1/s)
    assert "files 3/3" in shown


def test_ctrl_c_says_what_was_committed_and_the_next_run_finishes(run, corpus, tiny_bert, monkeypatch):
    from bertsearch.store import Store

    commit = Store.put_document
    calls = []

    def interrupted_after_one(self, *args, **kwargs):
        calls.append(1)
        if len(calls) == 2:
            raise KeyboardInterrupt
        return commit(self, *args, **kwargs)

    monkeypatch.setattr(Store, "put_document", interrupted_after_one)
    result = run("index", corpus, "--model", tiny_bert, "-q")
    assert result.exit_code == 130
    assert "Interrupted: 1 files committed (1 new, 0 changed)" in result.stderr
    assert "run the same command again to finish" in result.stderr
    monkeypatch.setattr(Store, "put_document", commit)
    again = run("index", corpus, "-q")
    assert again.exit_code == 0 and "2 new, 0 changed, 1 unchanged" in again.stdout
