"""How `add` moves work: passages reach the encoding step in bounded batches, and an unchanged
folder costs a stat per file (no reading, no extraction, no encoding, no FAISS file rewritten)."""

import crashkit
from bertsearch import Index
from bertsearch.ingest import LocalEncoding

FILES = 40


class CountingEncoding(LocalEncoding):
    """The local step, recording how many texts each call receives."""

    def __init__(self, passages_per_call: int):
        self.passages_per_call, self.calls = passages_per_call, []

    def encode(self, encoder, texts, progress):
        self.calls.append(len(texts))
        return super().encode(encoder, texts, progress)


def test_passages_reach_the_encoder_in_bounded_batches_never_all_at_once(tmp_path, tiny_bert):
    crashkit.write_corpus(tmp_path / "docs", FILES, seed=3)
    counting = CountingEncoding(passages_per_call=30)
    with Index(tmp_path / "index", model=tiny_bert, passage_tokens=32, overlap_tokens=4) as index:
        report = index.add([tmp_path / "docs"], encoding=counting)
        longest_file = max(len(index.passages(document_id=d.id)) for d in index.documents())
        assert index.info().passages == report.passages_encoded + report.passages_reused
    assert sum(counting.calls) == report.passages_encoded
    assert len(counting.calls) > 3  # many calls, each a batch ...
    # ... of at most the step's size, plus the file that crossed it (a file is committed whole)
    assert max(counting.calls) < counting.passages_per_call + longest_file
    assert report.passages_encoded > 2 * max(counting.calls)


def test_an_unchanged_folder_is_skipped_on_stat_alone(tmp_path, tiny_bert, monkeypatch):
    crashkit.write_corpus(tmp_path / "docs", FILES, seed=4)
    with Index(tmp_path / "index", model=tiny_bert) as index:
        index.add([tmp_path / "docs"])
        vector_file = index.store.vector_file()
        saved = vector_file.stat().st_mtime_ns
    import bertsearch.ingest

    def must_not_run(*args, **kwargs):
        raise AssertionError("an unchanged file was read")

    monkeypatch.setattr(bertsearch.ingest, "extract", must_not_run)
    counting = CountingEncoding(passages_per_call=30)
    with Index(tmp_path / "index") as index:
        report = index.add([tmp_path / "docs"], encoding=counting)
    assert (report.unchanged, report.added, report.updated, report.removed) == (FILES, [], [], [])
    assert counting.calls == []
    assert vector_file.stat().st_mtime_ns == saved  # the FAISS file was not rewritten
