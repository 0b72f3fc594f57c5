"""`ask`'s confidence: the features, the model, the cut, and how the library and CLI honour it."""

import dataclasses
import json
import math
import random
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

from bertsearch import Index
from bertsearch.eval.calibration import Asked, choose_cut, fit_logistic, reliability
from bertsearch.cli import cli
from bertsearch.confidence import FEATURES, Candidate, ConfidenceModel, SoftmaxShare, features
from bertsearch.errors import InvalidQueryError, InvalidSettingError
from bertsearch.answers import READER_WEIGHT
from bertsearch.checkpoints import BUNDLED_READER_PATH

from conftest import hand_set_logits

FUSED = FEATURES.index("fused")


def only_fused(min_confidence=0.5) -> dict:
    """A hand-made model: confidence = sigmoid(fused score), nothing else counts."""
    return {"features": list(FEATURES), "weights": [1.0 if f == "fused" else 0.0 for f in FEATURES], "bias": 0.0,
            "mean": [0.0] * len(FEATURES), "scale": [1.0] * len(FEATURES), "min_confidence": min_confidence}


def shipped_model() -> ConfidenceModel:
    return ConfidenceModel.from_config(json.loads((BUNDLED_READER_PATH / "reader_config.json").read_text())["confidence"])


# -- the features ---------------------------------------------------------------


def test_features_read_margin_agreement_passage_rank_and_cosines():
    candidates = [
        Candidate("the Moon", 18.0, 5.0, 2.0, passage=1, cosine=0.6),
        Candidate("Mars", 12.0, 4.0, 3.0, passage=0, cosine=0.3),
        Candidate("moon", 10.0, 3.5, 1.0, passage=2, cosine=0.4),  # the same answer after normalisation, elsewhere
    ]
    rows = features(candidates, retrieval_scores=[3.0, 2.0, 1.0], cosines=[0.3, 0.6, 0.4])
    span, fused, margin, agreement, rank, cosine, top_cosine = zip(*rows)
    assert span == (18.0, 12.0, 10.0) and fused == (5.0, 4.0, 3.5)
    assert margin == pytest.approx((1.0, -1.0, -0.5))  # against the best answer with another text
    assert agreement == pytest.approx((math.log(2), 0.0, math.log(2)))  # two passages say "moon"
    assert rank == pytest.approx((math.log(2), 0.0, math.log(3)))  # passage 0 was retrieved first
    assert cosine == (0.6, 0.3, 0.4) and top_cosine == (0.6, 0.6, 0.6)


def test_the_only_answer_text_found_has_the_largest_margin():
    (row,) = features([Candidate("1969", 15.0, 4.0, 1.0, passage=0)], [1.0])
    assert row[FEATURES.index("margin")] == 10.0


# -- the model ------------------------------------------------------------------


@pytest.mark.parametrize("which", ["hand-made", "shipped"])
def test_confidence_is_a_probability_monotone_in_the_fused_score(which):
    model = ConfidenceModel.from_config(only_fused()) if which == "hand-made" else shipped_model()
    base = [14.0, 4.0, 1.0, 0.0, 0.0, 0.5, 0.5]
    confidences = model.predict([base[:FUSED] + [fused] + base[FUSED + 1 :] for fused in range(-10, 15)])
    assert all(0.0 <= c <= 1.0 for c in confidences)
    assert confidences == sorted(confidences) and confidences[-1] > confidences[0]


def test_the_shipped_model_is_fitted_with_a_cut_and_says_how():
    config = json.loads((BUNDLED_READER_PATH / "reader_config.json").read_text())["confidence"]
    model = ConfidenceModel.from_config(config)
    assert 0.0 < model.min_confidence < 0.5  # abstains only when the answer is unlikely to be there
    assert "train" in config["fitted_on"] and "F1 >= 0.5" in config["right"]


def test_a_model_over_other_features_is_refused():
    with pytest.raises(InvalidSettingError, match="fit it again"):
        ConfidenceModel.from_config({**only_fused(), "features": ["span", "fused"]})


def test_the_fallback_shares_out_the_fused_scores():
    fallback = SoftmaxShare()
    candidates = [Candidate(t, 10.0, fused, 1.0, n) for n, (t, fused) in enumerate((("a", 3.0), ("b", 2.0), ("c", 0.0)))]
    shares = fallback.score(candidates, retrieval_scores=[1.0])
    assert sum(shares) == pytest.approx(1.0) and shares == sorted(shares, reverse=True)
    assert fallback.accepts(shares[0], best=candidates[0])  # no threshold, no cut: it never abstains
    assert not SoftmaxShare(no_answer_threshold=11.0).accepts(shares[0], best=candidates[0])
    assert not fallback.accepts(shares[0], best=candidates[0], min_confidence=0.99)


def test_the_logistic_fit_recovers_a_known_model():
    rng = random.Random(0)
    rows = [[rng.gauss(0, 1), rng.gauss(0, 2)] for _ in range(4000)]
    labels = [rng.random() < 1 / (1 + math.exp(-(0.5 + 2.0 * x - 0.5 * y))) for x, y in rows]
    weights, bias, mean, scale = fit_logistic(rows, labels)
    raw = [w / s for w, s in zip(weights, scale)]  # back to the unstandardised features
    assert raw == pytest.approx([2.0, -0.5], abs=0.2)
    assert bias - sum(r * m for r, m in zip(raw, mean)) == pytest.approx(0.5, abs=0.15)


def test_reliability_bins_predictions_and_weighs_their_gaps():
    table = reliability([0.05, 0.15, 0.95, 0.95], [False, True, True, False])
    assert [(b["low"], b["count"]) for b in table["bins"]] == [(0.0, 1), (0.1, 1), (0.9, 2)]
    # |0.05 - 0| + |0.15 - 1| + 2 * |0.95 - 0.5|, over 4.
    assert table["ece"] == pytest.approx((0.05 + 0.85 + 0.9) / 4)


def test_the_cut_keeps_the_asked_share_of_in_corpus_questions():
    def asked(kind, fused):
        return Asked(f"{kind}{fused}", "?", kind, [1.0], [["x", 10.0, fused, 1.0, 0, 0.5]], [0.0], [0.0], [0.5])

    questions = [asked("in", fused) for fused in range(-5, 5)] + [asked("out", 9)]
    model = ConfidenceModel.from_config(only_fused())
    cut = choose_cut(questions, model, keep_answered=0.8)  # 8 of the 10 in-corpus questions: fused -3 and up
    assert cut == pytest.approx(1 / (1 + math.exp(3)))


# -- ask, in the library and the CLI ----------------------------------------------


@pytest.fixture
def reader_with(tmp_path, tiny_qa):
    """A copy of the tiny reader with the given confidence model in its reader_config.json."""

    def make(config: dict) -> str:
        folder = tmp_path / f"reader-{len(list(tmp_path.glob('reader-*')))}"
        shutil.copytree(tiny_qa, folder)
        (folder / "reader_config.json").write_text(json.dumps({"confidence": config}))
        return str(folder)

    return make


@pytest.fixture
def ask_hand_made(tmp_path, tiny_bert, monkeypatch):
    """`ask` over two indexed passages, the reader scoring 'bridge' 18 and 'river' 2, 'bridge' retrieved at
    `retrieval` and 'river' one less."""
    (tmp_path / "docs").mkdir()
    for word in ("bridge", "river"):
        (tmp_path / "docs" / f"{word}.txt").write_text(f"by the {word} here")
    with Index(tmp_path / "index", model=tiny_bert) as index:
        index.add([tmp_path / "docs"])

    def ask(reader: str, retrieval: float, **options):
        index = Index(tmp_path / "index", reader=reader, backend="torch")  # hand-set logits live in torch
        hand_set_logits(index.reader, {"bridge": 9.0, "river": 1.0})
        found = sorted(index.search("where?", k=2), key=lambda p: "river" in p.path)
        passages = [dataclasses.replace(p, score=retrieval - n) for n, p in enumerate(found)]
        monkeypatch.setattr(index, "search_many", lambda *args, **kwargs: [passages])
        return index.ask("where?", k=2, **options)

    return ask


def test_every_answer_has_its_confidence(ask_hand_made, reader_with):
    result = ask_hand_made(reader_with(only_fused()), 0.0)
    assert result.found and result.confident
    for answer in result.answers:
        assert answer.confidence == pytest.approx(1 / (1 + math.exp(-answer.rank_score)))
    assert result.confidence == result.answers[0].confidence
    assert result.answers[0].rank_score == pytest.approx(READER_WEIGHT * 18.0)


def test_ask_abstains_under_the_cut_and_still_says_the_best_guess_confidence(ask_hand_made, reader_with):
    # fused = 0.8 * -10 + 0.2 * 18 = -4.4: confidence 0.012, under the model's cut of 0.5.
    abstained = ask_hand_made(reader_with(only_fused()), -10.0)
    assert not abstained.found and not abstained.confident
    assert abstained.confidence == pytest.approx(1 / (1 + math.exp(4.4)))
    assert [Path(p.path).name for p in abstained.passages] == ["bridge.txt", "river.txt"]
    guessed = ask_hand_made(reader_with(only_fused()), -10.0, always_answer=True)
    assert guessed.answers[0].text == "bridge" and not guessed.confident


def test_min_confidence_overrides_the_models_cut(ask_hand_made, reader_with):
    reader = reader_with(only_fused(min_confidence=0.5))
    # fused = 3.6: confidence 0.973.
    assert ask_hand_made(reader, 0.0).confident
    assert not ask_hand_made(reader, 0.0, min_confidence=0.99).found
    assert ask_hand_made(reader, -10.0, min_confidence=0.01).found
    with pytest.raises(InvalidQueryError, match="between 0 and 1"):
        ask_hand_made(reader, 0.0, min_confidence=1.5)


@pytest.fixture
def run(tmp_path, monkeypatch, corpus, tiny_bert):
    """The CLI in a scratch folder, over the sample corpus indexed with the tiny encoder."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("BERTSEARCH_INDEX", raising=False)
    monkeypatch.delenv("BERTSEARCH_READER", raising=False)

    def invoke(*args):
        return CliRunner().invoke(cli, [str(a) for a in args], catch_exceptions=False)

    assert invoke("index", corpus, "--model", tiny_bert).exit_code == 0
    return invoke


def test_the_cli_shows_confidence_and_honours_the_cut(run, reader_with):
    sure, unsure = reader_with(only_fused(min_confidence=0.0)), reader_with(only_fused(min_confidence=1.0))
    answered = run("ask", "Where is the tower?", "--reader", sure)
    assert answered.exit_code == 0 and "(confidence 0." in answered.stdout
    data = json.loads(run("ask", "Where is the tower?", "--reader", sure, "--json").stdout)
    assert 0 <= data["answers"][0]["confidence"] <= 1 and data["confidence"] == data["answers"][0]["confidence"]
    abstained = run("ask", "Where is the tower?", "--reader", unsure)
    assert abstained.stdout.startswith("No answer found (the best guess has confidence 0.")
    assert "[chars " in abstained.stdout  # the closest passages
    assert "a best guess" in run("ask", "Where is the tower?", "--reader", unsure, "--always-answer").stdout
    assert "No answer found" in run("ask", "Where is the tower?", "--reader", sure, "--min-confidence", "1").stdout
    lowered = run("ask", "Where is the tower?", "--reader", unsure, "--min-confidence", "0", "--json")
    assert json.loads(lowered.stdout)["confident"] is True
    refused = run("ask", "Where is the tower?", "--reader", sure, "--min-confidence", "2")
    assert refused.exit_code != 0 and "Traceback" not in refused.output and "0<=x<=1" in refused.output


def test_the_benchmark_runs_end_to_end_and_renders_its_section(tiny_bert, tiny_qa, tmp_path, monkeypatch):
    import importlib.util

    benchmarks = Path(__file__).parent.parent / "benchmarks"
    monkeypatch.syspath_prepend(str(benchmarks))
    spec = importlib.util.spec_from_file_location("benchmark_confidence", benchmarks / "confidence.py")
    script = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(script)
    squad = Path(__file__).parent / "data" / "squad-dev-v1.1-slice.json"
    result = script.main(["--squad", str(squad), "--squad-v2", "", "--every", "40", "--limit", "8", "--model",
                          tiny_bert, "--reader", tiny_qa, "--cache", str(tmp_path / "cache"),
                          "--out-dir", str(tmp_path), "-q"])
    kinds = result["sets"]["v1.1"]["kinds"]
    assert kinds["in"]["questions"] + kinds["out"]["questions"] == 8
    assert result["sets"]["v1.1"]["indexed"] == 2 and not result["sets"]["v1.1"]["calibrated"]
    page = (tmp_path / "confidence.md").read_text()
    assert "in-corpus" in page and "ECE" in page and "a random 8 of every 40th question" in page
    assert (tmp_path / "cache" / "squad-dev-v1.1-slice-half-q40-k10.jsonl").exists()


def test_alternatives_do_not_repeat_a_better_answers_words():
    from bertsearch.answers import different_texts
    from bertsearch.results import Answer

    def answer(text, path, start, rank_score):
        return Answer(text, 1.0, path, start, start + len(text), 1, text, 0, len(text), 0.5, rank_score)

    ranked = [answer("Gustave Eiffel", "a.md", 10, 0.9), answer("Émile Nouguier", "a.md", 40, 0.6),
              answer("gustave Eiffel.", "b.md", 5, 0.4), answer("the Gustave Eiffel", "a.md", 90, 0.3)]
    assert [(a.text, a.path) for a in different_texts(ranked)] == [("Gustave Eiffel", "a.md"),
                                                                   ("Émile Nouguier", "a.md")]
