"""What a newcomer meets first: one clear line for a bad option, dates as the README writes them,
text in legacy encodings, and a library that loads its models quietly."""

import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from bertsearch.cli import cli
from bertsearch.extract import decode, extract


@pytest.fixture
def run(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("BERTSEARCH_INDEX", raising=False)

    def invoke(*args):
        return CliRunner().invoke(cli, [str(a) for a in args], catch_exceptions=False)

    return invoke


@pytest.fixture
def indexed(run, corpus, tiny_bert):
    assert run("index", corpus, "--model", tiny_bert, "-q").exit_code == 0
    return corpus


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
