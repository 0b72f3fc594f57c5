"""The public `Index` API: keyword-only options, result types, batched search and ask, browsing the index."""

import json
import os

import pytest
from click.testing import CliRunner

import bertsearch
from bertsearch import DocumentInfo, DocumentNotFoundError, Index, IndexInfo, InvalidQueryError, Passage
from bertsearch.cli import cli

STORY = (
    "The lighthouse keeper climbed the stairs every evening. He lit the lamp before the sun went down.\n"
    "Ships passed far out at sea.\n"
    "\n"
    "In winter the storms came from the north. Waves broke over the rocks and the spray reached the lamp room. "
    "The keeper wrote every storm into his log.\n"
    "\n\n"
    "Spring brought calm water and fishing boats."
)


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    docs = tmp_path_factory.mktemp("api") / "docs"
    (docs / "sub").mkdir(parents=True)
    (docs / "paris.txt").write_text("The Eiffel Tower stands in Paris.\n\nIt was finished in 1889 for the World's Fair.\n")
    (docs / "bees.md").write_text("# Bees\n\nHoneybees dance to tell each other where flowers are.\n")
    (docs / "sub" / "story.txt").write_text(STORY)
    return docs


@pytest.fixture(scope="module")
def index(tmp_path_factory, folder, tiny_bert, tiny_qa):
    """Read-only: small passages (24 tokens, up to 12 shared), so the story is split into several."""
    with Index(tmp_path_factory.mktemp("api-index"), model=tiny_bert, reader=tiny_qa,
               passage_tokens=24, overlap_tokens=12) as idx:
        idx.add([folder])
        yield idx


def test_options_after_the_first_are_keyword_only(index, tiny_bert):
    with pytest.raises(TypeError):
        Index(index.path, tiny_bert)
    with pytest.raises(TypeError):
        index.search("bees", 3)
    with pytest.raises(TypeError):
        index.ask("where?", 3)


def test_info_is_a_dataclass_whose_dict_is_info_json(index):
    info = index.info()
    assert isinstance(info, IndexInfo)
    assert (info.documents, info.passage_tokens, info.overlap_tokens) == (3, 24, 12)
    assert info.passages == sum(d.passages for d in index.documents())
    printed = CliRunner().invoke(cli, ["info", "--index", str(index.path), "--json"]).stdout
    assert json.loads(printed) == index.info().to_dict()
    assert list(json.loads(printed)) == ["index", "documents", "passages", "model", "pooling", "dim",
                                         "passage_tokens", "overlap_tokens", "size_bytes", "generation", "encoded_with",
                                         "faiss", "faiss_setting", "dense_weight", "dense_weight_from"]


def test_documents_are_listed_by_path_with_their_passage_counts(index, folder):
    documents = index.documents()
    assert [d.path for d in documents] == sorted(str(p) for p in (folder / "paris.txt", folder / "bees.md",
                                                                  folder / "sub" / "story.txt"))
    assert all(isinstance(d, DocumentInfo) for d in documents)
    story = next(d for d in documents if d.path.endswith("story.txt"))
    assert story.passages > 2 and story.format == "txt" and story.size == len(STORY)
    assert story.mtime_ns == os.stat(folder / "sub" / "story.txt").st_mtime_ns


def test_documents_take_a_path_glob_and_pages(index, folder):
    assert [d.path for d in index.documents(path=str(folder / "sub" / "*"))] == [str(folder / "sub" / "story.txt")]
    everything = index.documents()
    assert index.documents(limit=2) == everything[:2]
    assert index.documents(limit=2, offset=2) == everything[2:]
    assert index.documents(path="/nowhere/*") == []
    with pytest.raises(InvalidQueryError):
        index.documents(offset=-1)


def test_a_document_is_found_by_id_or_by_path(index, folder, monkeypatch):
    story = index.document(str(folder / "sub" / "story.txt"))
    assert index.document(story.id) == story
    assert index.document(folder / "sub" / "story.txt") == story
    monkeypatch.chdir(folder)
    assert index.document("sub/story.txt") == story


def test_a_missing_document_is_a_typed_error(index, folder):
    with pytest.raises(DocumentNotFoundError, match="nothere.txt"):
        index.document(str(folder / "nothere.txt"))
    with pytest.raises(DocumentNotFoundError):
        index.document(10_000)
    with pytest.raises(DocumentNotFoundError):
        index.document_text(10_000)
    assert issubclass(DocumentNotFoundError, bertsearch.BertsearchError)


def test_passages_come_in_path_then_document_order(index, folder):
    passages = index.passages()
    assert all(isinstance(p, Passage) for p in passages)
    assert len(passages) == index.info().passages
    assert [(p.path, p.seq) for p in passages] == sorted((p.path, p.seq) for p in passages)
    story = index.document(str(folder / "sub" / "story.txt"))
    mine = index.passages(document_id=story.id)
    assert [p.seq for p in mine] == list(range(story.passages))
    assert index.passages(path=str(folder / "sub" / "*")) == mine
    for p in mine:
        assert STORY[p.start : p.end] == p.text and p.line == STORY.count("\n", 0, p.start) + 1


def test_passages_by_id_are_the_search_hits(index):
    hits = index.search("storms", k=3)
    found = index.passages(ids=[h.id for h in hits])
    assert sorted(p.id for p in found) == sorted(h.id for h in hits)
    assert {p.id: p.text for p in found} == {h.id: h.text for h in hits}
    assert index.passages(ids=[]) == []


def test_document_text_is_rebuilt_from_overlapping_passages(index, folder):
    story = index.document(str(folder / "sub" / "story.txt"))
    mine = index.passages(document_id=story.id)
    assert any(b.start < a.end for a, b in zip(mine, mine[1:]))  # some passages share sentences
    assert index.document_text(story.id) == STORY
    assert index.document_text(str(folder / "paris.txt")) == (folder / "paris.txt").read_text().rstrip()


@pytest.mark.parametrize("mode", bertsearch.MODES)
def test_search_many_finds_what_searching_one_by_one_does(index, mode):
    queries = ["lighthouse keeper", "honeybees dancing", "storms from the north"]
    together = index.search_many(queries, k=4, mode=mode, ext="txt")
    alone = [index.search(q, k=4, mode=mode, ext="txt") for q in queries]
    assert [[h.id for h in hits] for hits in together] == [[h.id for h in hits] for hits in alone]
    assert [h.score for hits in together for h in hits] == pytest.approx([h.score for hits in alone for h in hits],
                                                                         abs=1e-4)
    assert all(h.path.endswith(".txt") for hits in together for h in hits)
    assert index.search_many([]) == []


def test_ask_many_answers_what_asking_one_by_one_does(index):
    questions = ["Who climbed the stairs?", "When did the storms come?"]
    together = index.ask_many(questions, k=3, always_answer=True)
    alone = [index.ask(q, k=3, always_answer=True) for q in questions]
    assert [[(a.text, a.path, a.start) for a in r.answers] for r in together] == \
        [[(a.text, a.path, a.start) for a in r.answers] for r in alone]
    assert [r.question for r in together] == questions


def test_alternatives_count_the_answers_after_the_best(index):
    result = index.ask("Who climbed the stairs?", alternatives=2, always_answer=True)
    assert 1 <= len(result.answers) <= 3
    assert len(index.ask("Who climbed the stairs?", alternatives=0, always_answer=True).answers) == 1
    with pytest.raises(InvalidQueryError):
        index.ask("Who climbed the stairs?", alternatives=-1)


def test_ask_result_to_dict_is_ask_json(index):
    result = index.ask("Who climbed the stairs?", k=3, always_answer=True)
    printed = CliRunner().invoke(cli, ["ask", "Who climbed the stairs?", "--index", str(index.path), "-k", "3",
                                       "--reader", index.reader.name, "--always-answer", "--json"]).stdout
    assert json.loads(printed) == json.loads(json.dumps(result.to_dict()))
    assert set(result.to_dict()) == {"question", "answers", "passages", "confident", "confidence"}


def test_every_mode_option_offers_the_library_modes():
    commands = {name: cli.commands[name] for name in ("search", "ask", "eval")}
    for command in commands.values():
        mode = next(p for p in command.params if p.name == "mode")
        assert tuple(mode.type.choices) == bertsearch.MODES
