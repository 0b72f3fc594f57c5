import re

import pytest

from bertsearch.chunking import content_hash, join_passages, split_passages
from bertsearch.errors import InvalidSettingError


def words(texts):
    """A stand-in tokenizer: one token per run of non-space characters."""
    return [[m.span() for m in re.finditer(r"\S+", text)] for text in texts]


def count(text):
    return len(words([text])[0])


TEXT = (
    "First paragraph has one sentence here.\n\n"
    "Second paragraph starts. It has three sentences! Does it end? Yes it does.\n\n"
    "Third paragraph is short."
)


def test_every_passage_is_its_span_of_the_source():
    for passage in split_passages(TEXT, words, passage_tokens=8, overlap_tokens=3):
        assert TEXT[passage.start : passage.end] == passage.text
        assert passage.content_hash == content_hash(passage.text)


def test_passages_respect_the_token_budget():
    passages = split_passages(TEXT, words, passage_tokens=8, overlap_tokens=3)
    assert all(count(p.text) <= 8 for p in passages)
    covered = set().union(*(range(p.start, p.end) for p in passages))
    assert all(i in covered for i, c in enumerate(TEXT) if not c.isspace())


def test_a_paragraph_that_fits_is_not_split_across_passages():
    text = "One two three four five six.\n\nSeven eight nine. Ten eleven.\n\nTwelve thirteen fourteen. Fifteen sixteen."
    passages = split_passages(text, words, passage_tokens=14, overlap_tokens=4)
    assert [p.text for p in passages] == [
        "One two three four five six.\n\nSeven eight nine. Ten eleven.",
        "Twelve thirteen fourteen. Fifteen sixteen.",
    ]


def test_cuts_inside_a_paragraph_fall_between_sentences_and_overlap():
    paragraph = " ".join(f"Sentence number {i} ends here." for i in range(10))
    passages = split_passages(paragraph, words, passage_tokens=12, overlap_tokens=5)
    assert all(p.text.endswith(".") for p in passages)
    assert passages[1].start < passages[0].end  # shared sentence


def test_a_sentence_longer_than_a_passage_is_cut_between_tokens():
    text = " ".join(f"w{i}" for i in range(25))
    passages = split_passages(text, words, passage_tokens=10, overlap_tokens=0)
    assert [count(p.text) for p in passages] == [10, 10, 5]
    assert " ".join(p.text for p in passages) == text


def test_empty_text_has_no_passages():
    assert split_passages("  \n\n ", words) == []


def test_bad_settings_are_refused():
    with pytest.raises(InvalidSettingError):
        split_passages(TEXT, words, passage_tokens=10, overlap_tokens=10)


def test_real_tokenizer_offsets_map_back(tiny_bert):
    from bertsearch.encoder import Encoder

    encoder = Encoder(tiny_bert)
    text = "Ünïcode text, with accents — and émojis 🎉.\n\nSecond paragraph here. " * 20
    passages = split_passages(text, encoder.token_spans, passage_tokens=30, overlap_tokens=8)
    assert len(passages) > 5
    for passage in passages:
        assert text[passage.start : passage.end] == passage.text
        assert len(encoder.token_spans([passage.text])[0]) <= 30


def test_joining_the_passages_gives_the_text_back():
    text = ("First paragraph, one sentence. Then a second one that is longer than the first. And a short third.\n"
            "A line of its own.\n\n\nSecond paragraph after two blank lines. It ends here.")
    passages = split_passages(text, words, passage_tokens=20, overlap_tokens=10)
    assert any(b.start < a.end for a, b in zip(passages, passages[1:]))  # some passages overlap
    assert join_passages(passages) == text
    assert [p.line for p in passages] == [text.count("\n", 0, p.start) + 1 for p in passages]
