"""`classify label`: an index's documents labelled from their stored vectors, kept up to date, and filtered on."""

import json

import pytest
from click.testing import CliRunner

from bertsearch import Classifier, Index
from bertsearch.cli import cli
from test_classify import FRUIT, TOOLS


@pytest.fixture
def shelves(tmp_path):
    """One document per toy text, in a folder named after its kind."""
    for kind, texts in (("fruit", FRUIT), ("tools", TOOLS)):
        (tmp_path / "docs" / kind).mkdir(parents=True)
        for n, text in enumerate(texts):
            (tmp_path / "docs" / kind / f"{n}.txt").write_text(text + "\n")
    return tmp_path / "docs"


@pytest.fixture
def index(shelves, tiny_bert, tmp_path):
    with Index(tmp_path / "index", model=tiny_bert, device="cpu") as idx:
        idx.add([shelves])
        yield idx


def train(tiny_bert, folder, pooling):
    """A probe told fruit from tools on the same texts, saved in `folder`."""
    classifier = Classifier.train(FRUIT + TOOLS, ["fruit"] * 8 + ["tool"] * 8, model=tiny_bert, pooling=pooling,
                                  device="cpu")
    return classifier.save(folder)


def labels_by_kind(index):
    return {doc.path.split("/")[-2] + "/" + doc.path.split("/")[-1]: index.store.document_label(doc.id)[0]
            for doc in index.documents()}


def test_labelling_reads_the_stored_vectors_when_the_encoders_agree(index, tiny_bert, tmp_path):
    report = index.label(train(tiny_bert, tmp_path / "clf", pooling="cls"))  # the index's pooling
    assert report.reused_vectors and report.documents == 16
    assert report.counts == {"fruit": 8, "tool": 8}
    assert all(label == ("fruit" if path.startswith("fruit/") else "tool")
               for path, label in labels_by_kind(index).items())
    assert index.info().labels == {"fruit": 8, "tool": 8}


def test_labelling_encodes_the_passages_again_for_another_pooling(index, tiny_bert, tmp_path):
    report = index.label(train(tiny_bert, tmp_path / "clf", pooling="mean"))
    assert not report.reused_vectors
    assert report.counts == {"fruit": 8, "tool": 8}


def test_search_and_ask_keep_only_documents_with_the_label(index, tiny_bert, tiny_qa, tmp_path):
    index.label(train(tiny_bert, tmp_path / "clf", pooling="cls"))
    hits = index.search("apple hammer", k=16, label="tool")
    assert len(hits) == 8 and all("/tools/" in hit.path for hit in hits)
    assert index.search("apple", k=5, label="vegetable") == []
    with Index(index.path, reader=tiny_qa, device="cpu") as reading:
        result = reading.ask("Which fruit?", k=3, label="fruit", always_answer=True)
    assert result.passages and all("/fruit/" in p.path for p in result.passages)


def test_a_changed_document_is_labelled_again_when_indexed(index, shelves, tiny_bert, tmp_path):
    index.label(train(tiny_bert, tmp_path / "clf", pooling="cls"))
    changed = shelves / "fruit" / "0.txt"
    changed.write_text(TOOLS[0] + "\n")
    report = index.add([shelves])
    assert report.updated == [str(changed.resolve())] and report.labelled == 1
    assert index.store.document_label(index.document(changed).id)[0] == "tool"
    assert index.info().labels == {"tool": 9, "fruit": 7}


def test_an_index_labelled_without_a_saved_classifier_leaves_new_documents_unlabelled(index, shelves, tiny_bert):
    classifier = Classifier.train(FRUIT + TOOLS, ["fruit"] * 8 + ["tool"] * 8, model=tiny_bert, pooling="cls")
    index.label(classifier)
    (shelves / "fruit" / "new.txt").write_text("plum cherry\n")
    assert index.add([shelves]).labelled == 0
    assert index.info().labels == {"fruit": 8, "tool": 8}


def test_an_index_from_before_labels_opens_and_can_be_labelled(shelves, tiny_bert, tmp_path, monkeypatch):
    from bertsearch import schema

    with monkeypatch.context() as old_version:  # an index made without migration 3 (the labels)
        old_version.setattr(schema, "MIGRATIONS", [m for m in schema.MIGRATIONS if "labels" not in m.__name__])
        with Index(tmp_path / "old", model=tiny_bert, device="cpu") as old:
            old.add([shelves])
    with Index(tmp_path / "old", device="cpu") as reopened:
        assert reopened.info().labels is None and "labels" not in reopened.info().to_dict()
        assert reopened.label(train(tiny_bert, tmp_path / "clf", pooling="cls")).documents == 16


def test_the_cli_labels_then_searches_by_label(index, tiny_bert, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    train(tiny_bert, tmp_path / "clf", pooling="cls")
    index.close()
    run = CliRunner().invoke
    labelled = run(cli, ["classify", "label", "clf", "--index", "index", "-q"])
    assert labelled.exit_code == 0, labelled.output
    assert "Labelled 16 documents in index (from the stored vectors): fruit 8, tool 8." in labelled.stdout
    hits = json.loads(run(cli, ["search", "saw", "--index", "index", "--label", "fruit", "--json", "-k", "20"]).stdout)
    assert len(hits) == 8 and all("/fruit/" in hit["path"] for hit in hits)
    assert "labels          fruit 8, tool 8" in run(cli, ["info", "--index", "index"]).stdout
