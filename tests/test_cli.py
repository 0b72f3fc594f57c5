import json
import shutil

import pytest
from click.testing import CliRunner

from bertsearch.cli import cli
from conftest import one_line_error


def test_index_reports_what_it_did(run, corpus, tiny_bert):
    result = run("index", corpus, "--model", tiny_bert)
    assert result.exit_code == 0
    assert "3 new, 0 changed, 0 unchanged, 0 removed, 0 skipped" in result.stdout
    again = run("index", corpus, "--json")
    assert json.loads(again.stdout)["unchanged"] == 3


def test_search_json_has_the_documented_fields(run, indexed):
    result = run("search", "When did Apollo land?", "-k", "2", "--json")
    hits = json.loads(result.stdout)
    assert len(hits) == 2
    assert {"score", "path", "start", "end", "text"} <= set(hits[0])


def test_search_prints_ranked_passages_with_their_source(run, indexed):
    result = run("search", "bees", "-k", "3")
    assert result.exit_code == 0
    assert result.stdout.startswith("1. ") and "[chars " in result.stdout and "docs/" in result.stdout


def test_ask_json_cites_file_and_position(run, indexed, tiny_qa):
    result = run("ask", "When did Apollo land?", "--reader", tiny_qa, "--json")
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    best = data["answers"][0]
    assert {"text", "score", "path", "start", "end", "passage"} <= set(best)
    assert best["passage"][best["passage_start"] : best["passage_end"]] == best["text"]
    ranks = [a["rank_score"] for a in data["answers"]]
    assert ranks == sorted(ranks, reverse=True)


def test_ask_prints_the_answer_highlighted_with_alternatives(run, indexed, tiny_qa):
    result = run("ask", "Where is the tower?", "--reader", tiny_qa, "-n", "2")
    assert result.exit_code == 0
    assert "**" in result.stdout and "Alternatives:" in result.stdout and "[chars " in result.stdout


def test_ask_says_no_answer_found_under_the_threshold_unless_always_answering(run, indexed, tiny_qa, tmp_path):
    strict = tmp_path / "strict-reader"
    shutil.copytree(tiny_qa, strict)
    (strict / "reader_config.json").write_text(json.dumps({"no_answer_threshold": 1e9}))
    assert "No answer found" in run("ask", "Where is the tower?", "--reader", strict).stdout
    data = json.loads(run("ask", "Where is the tower?", "--reader", strict, "--always-answer", "--json").stdout)
    assert data["answers"] and data["confident"] is False
    assert "a best guess" in run("ask", "Where is the tower?", "--reader", strict, "--always-answer").stdout


def test_ask_without_a_reader_fails_in_one_line_naming_the_fix(run, indexed, tmp_path):
    result = run("ask", "Who?", "--reader", tmp_path / "no-reader-here")
    one_line_error(result, "--reader", "BERTSEARCH_READER")


def test_info_json(run, indexed, tiny_bert):
    data = json.loads(run("info", "--json").stdout)
    assert (data["documents"], data["model"], data["pooling"]) == (3, tiny_bert, "cls")


def test_missing_index(run):
    one_line_error(run("search", "anything"), "no index", "bertsearch index")


def test_empty_folder(run, tmp_path, tiny_bert):
    (tmp_path / "empty").mkdir()
    one_line_error(run("index", tmp_path / "empty", "--model", tiny_bert), "nothing to index")


def test_bad_path(run):
    result = run("index", "does/not/exist")
    assert result.exit_code == 2 and "does not exist" in result.stderr


def test_binary_file_is_skipped_with_a_notice(run, corpus, tiny_bert):
    (corpus / "blob.txt").write_bytes(b"\x00\x01\x02 not text")
    result = run("index", corpus, "--model", tiny_bert)
    assert result.exit_code == 0
    assert "blob.txt: binary file" in result.stderr
    assert "1 skipped" in result.stdout


def test_only_a_binary_file_is_nothing_to_index(run, tmp_path, tiny_bert):
    (tmp_path / "blob.bin").write_bytes(b"\x00\x01\x02")
    result = run("index", tmp_path / "blob.bin", "--model", tiny_bert)
    assert "binary file" in result.stderr and "nothing to index" in result.stderr
    assert result.exit_code == 1


def test_encoder_mismatch(run, indexed):
    one_line_error(run("index", indexed, "--model", "other/model"), "other/model", "new --index")


def test_empty_query(run, indexed):
    one_line_error(run("search", "   "), "empty")


def test_remove_then_info(run, indexed):
    assert "Removed 1 documents." in run("remove", indexed / "bees.md").stdout
    assert json.loads(run("info", "--json").stdout)["documents"] == 2
    one_line_error(run("remove", indexed / "bees.md"), "none of these paths is in the index")


def test_every_command_has_help():
    for name, command in cli.commands.items():
        result = CliRunner().invoke(cli, [name, "--help"])
        assert result.exit_code == 0 and command.help, name
