"""`bertsearch serve` refuses unsafe or impossible settings in one line, before it binds anything."""

import socket

import pytest
from click.testing import CliRunner

from bertsearch import Index
from bertsearch.cli import cli


@pytest.fixture(scope="module")
def indexed(tmp_path_factory, tiny_bert):
    root = tmp_path_factory.mktemp("cli-serve")
    (root / "docs").mkdir()
    (root / "docs" / "a.txt").write_text("Something worth finding.")
    with Index(root / "index", model=tiny_bert) as index:
        index.add([root / "docs"])
    return root / "index"


def one_line_error(result, words: str):
    assert result.exit_code != 0
    assert "Traceback" not in result.output
    assert result.exception is None or isinstance(result.exception, SystemExit)
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and words in lines[0], result.stderr


def test_binding_beyond_loopback_without_a_token_is_refused(indexed, monkeypatch):
    monkeypatch.delenv("BERTSEARCH_TOKEN", raising=False)
    one_line_error(CliRunner().invoke(cli, ["serve", "--index", str(indexed), "--host", "0.0.0.0"]), "token")


def test_a_missing_index_is_said_at_once(tmp_path):
    one_line_error(CliRunner().invoke(cli, ["serve", "--index", str(tmp_path / "nothing")]), "index")


def test_a_port_in_use_is_one_line(indexed):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = CliRunner().invoke(cli, ["serve", "--index", str(indexed), "--port", str(port)])
    one_line_error(result, f"port {port}")
