"""Classifiers over the encoder's vectors: the probe, fine-tuning, zero-shot, their files and their scores."""

import json
from pathlib import Path

import numpy as np
import torch
import pytest

from bertsearch import Classifier, ClassifierNotFoundError, InvalidDataError
from bertsearch.classify import examples_from_folders, load_examples
from bertsearch.classify.finetune import Recipe, length_grouped_batches
from bertsearch.classify.metrics import evaluate_probabilities, expected_calibration_error

SENTIMENT = Path(__file__).parent / "data" / "sentiment"

FRUIT = ["apple banana cherry", "banana grape", "cherry plum apple", "grape melon", "plum peach", "melon cherry grape",
         "peach apple", "banana melon plum"]
TOOLS = ["hammer saw drill", "wrench saw", "drill chisel hammer", "chisel pliers", "pliers wrench", "saw drill chisel",
         "hammer pliers", "wrench chisel drill"]


@pytest.fixture(scope="module")
def toy_probe(tiny_bert):
    return Classifier.train(FRUIT + TOOLS, ["fruit"] * 8 + ["tool"] * 8, model=tiny_bert, device="cpu")


def test_a_probe_learns_a_separable_toy_set_perfectly(toy_probe):
    result = toy_probe.evaluate(FRUIT + TOOLS, ["fruit"] * 8 + ["tool"] * 8)
    assert result.accuracy == 1.0 and result.macro_f1 == 1.0
    assert result.confusion == [[8, 0], [0, 8]]
    assert toy_probe.labels == ["fruit", "tool"]


def test_predict_gives_the_label_and_every_probability_best_first(toy_probe):
    fruit, tool = toy_probe.predict([FRUIT[0], TOOLS[0]])
    assert (fruit.label, tool.label) == ("fruit", "tool")
    assert list(fruit.probabilities)[0] == "fruit" and sum(fruit.probabilities.values()) == pytest.approx(1, abs=1e-5)
    (only,) = toy_probe.predict([TOOLS[1]], top=1)
    assert list(only.probabilities) == ["tool"]


def test_a_saved_classifier_loads_and_predicts_the_same(toy_probe, tmp_path):
    toy_probe.save(tmp_path / "clf")
    loaded = Classifier.load(tmp_path / "clf", device="cpu")
    config = json.loads((tmp_path / "clf" / "classifier.json").read_text())
    assert config["method"] == "probe" and config["labels"] == ["fruit", "tool"]
    assert config["encoder"] == toy_probe.encoder_identity and config["encoder"]["pooling"] == "mean"
    np.testing.assert_allclose(loaded.probabilities(FRUIT + TOOLS), toy_probe.probabilities(FRUIT + TOOLS), atol=1e-6)


def test_loading_a_folder_without_a_classifier_says_how_to_make_one(tmp_path):
    with pytest.raises(ClassifierNotFoundError, match="classify train"):
        Classifier.load(tmp_path)


def test_training_needs_two_labels_and_one_label_per_text(tiny_bert):
    with pytest.raises(InvalidDataError, match="at least two labels"):
        Classifier.train(["a", "b"], ["x", "x"], model=tiny_bert)
    with pytest.raises(InvalidDataError, match="one label per text"):
        Classifier.train(["a", "b"], ["x"], model=tiny_bert)


def test_evaluating_with_a_label_the_classifier_does_not_know_is_an_error(toy_probe):
    with pytest.raises(InvalidDataError, match="'vegetable' is not one this classifier knows"):
        toy_probe.evaluate(["leek"], ["vegetable"])


# -- fine-tuning ----------------------------------------------------------------

# mean pooling: a random tiny BERT's [CLS] vectors are all alike, too weak a start for a 16-text test
FAST = dict(learning_rate=1e-3, head_learning_rate=1e-2, batch_size=4, held_out=0.0, max_length=16)
TUNE = dict(method="fine-tune", pooling="mean", device="cpu")


def test_fine_tuning_lowers_the_loss_and_saves_its_encoder(tiny_bert, tmp_path):
    texts, labels = FRUIT + TOOLS, ["fruit"] * 8 + ["tool"] * 8
    tuned = Classifier.train(texts, labels, model=tiny_bert, **TUNE,
                             recipe=Recipe(epochs=6, **FAST), checkpoints=tmp_path / "run")
    losses = tuned.report["epoch_losses"]
    assert len(losses) == 6 and losses[-1] < 0.5 * losses[0]
    assert tuned.evaluate(texts, labels).accuracy == 1.0
    tuned.save(tmp_path / "clf")
    assert (tmp_path / "clf" / "encoder" / "config.json").exists()
    loaded = Classifier.load(tmp_path / "clf", device="cpu")
    assert loaded.encoder_identity == {"model": tiny_bert, "pooling": "mean", "dim": 32, "fine_tuned": True}
    np.testing.assert_allclose(loaded.probabilities(texts), tuned.probabilities(texts), atol=1e-5)


def test_fine_tuning_resumes_after_the_last_checkpointed_epoch(tiny_bert, tmp_path):
    settings = dict(model=tiny_bert, checkpoints=tmp_path, **TUNE)
    first = Classifier.train(FRUIT + TOOLS, ["fruit"] * 8 + ["tool"] * 8, recipe=Recipe(epochs=1, **FAST), **settings)
    resumed = Classifier.train(FRUIT + TOOLS, ["fruit"] * 8 + ["tool"] * 8, recipe=Recipe(epochs=2, **FAST),
                               resume=True, **settings)
    assert resumed.report["epoch_losses"][0] == first.report["epoch_losses"][0]  # epoch 1 was not run again
    assert len(resumed.report["epoch_losses"]) == 2
    assert resumed.report["epoch_train_seconds"][0] == first.report["epoch_train_seconds"][0]  # its time carried over


def test_fine_tuning_stops_early_and_keeps_the_best_held_out_epoch(tiny_bert, tmp_path):
    texts = FRUIT * 2 + TOOLS * 2
    labels = ["fruit"] * 16 + ["tool"] * 16
    recipe = Recipe(epochs=8, learning_rate=0.0, head_learning_rate=0.0, batch_size=8, held_out=0.25, patience=2)
    frozen = Classifier.train(texts, labels, model=tiny_bert, **TUNE, recipe=recipe,
                              checkpoints=tmp_path)
    report = frozen.report  # nothing learns, so the held-out score never improves after epoch 1
    assert report["stopped_early"] and report["best_epoch"] == 1
    assert len(report["epoch_losses"]) == 3 and report["held_out_examples"] == 8


def test_length_grouped_batches_hold_every_example_once_and_texts_of_similar_length():
    rng = np.random.default_rng(0)
    lengths = rng.integers(2, 60, size=1000).tolist()
    indices = np.arange(10, 1000)  # a training split: not every position
    batches = length_grouped_batches(lengths, indices, 32, seed=3, pool_batches=8)
    together = np.concatenate(batches)
    assert sorted(together.tolist()) == indices.tolist()
    assert all(len(batch) <= 32 for batch in batches)
    padded = sum(len(b) * max(lengths[i] for i in b) for b in batches)
    random_order = rng.permutation(indices)
    padded_at_random = sum(32 * max(lengths[i] for i in random_order[k : k + 32]) for k in range(0, len(indices), 32))
    assert padded < 0.75 * padded_at_random  # far less padding than random batches
    assert not np.array_equal(together, np.sort(together))  # still shuffled
    other_epoch = np.concatenate(length_grouped_batches(lengths, indices, 32, seed=4, pool_batches=8))
    assert not np.array_equal(together, other_epoch)


def test_fine_tuning_scores_the_validation_set_given_and_trains_on_every_text(tiny_bert, tmp_path):
    texts, labels = FRUIT + TOOLS, ["fruit"] * 8 + ["tool"] * 8
    tuned = Classifier.train(texts, labels, model=tiny_bert, **TUNE, recipe=Recipe(epochs=2, **FAST),
                             checkpoints=tmp_path, validation=(FRUIT[:2] + TOOLS[:2], ["fruit", "fruit", "tool", "tool"]))
    assert tuned.report["train_examples"] == 16 and tuned.report["held_out_examples"] == 4
    assert len(tuned.report["held_out_accuracy"]) == 2
    with pytest.raises(InvalidDataError, match="'vegetable' is not among the training labels"):
        Classifier.train(texts, labels, model=tiny_bert, **TUNE, validation=(["leek"], ["vegetable"]))


def test_fine_tuning_can_leave_the_word_embeddings_as_they_are(tiny_bert, tmp_path):
    from transformers import AutoModel

    texts, labels = FRUIT + TOOLS, ["fruit"] * 8 + ["tool"] * 8
    tuned = Classifier.train(texts, labels, model=tiny_bert, **TUNE, checkpoints=tmp_path / "run",
                             recipe=Recipe(epochs=2, freeze_word_embeddings=True, **FAST))
    tuned.save(tmp_path / "clf")
    before, after = AutoModel.from_pretrained(tiny_bert), AutoModel.from_pretrained(tmp_path / "clf" / "encoder")
    assert torch.equal(before.get_input_embeddings().weight, after.get_input_embeddings().weight)
    assert not torch.equal(before.encoder.layer[0].attention.self.query.weight,
                           after.encoder.layer[0].attention.self.query.weight)


# -- zero-shot --------------------------------------------------------------------


def test_zero_shot_needs_two_distinct_labels_and_a_template_with_the_label(tiny_bert):
    with pytest.raises(InvalidDataError, match="two distinct label names"):
        Classifier.zero_shot(["sports"], model=tiny_bert)
    with pytest.raises(InvalidDataError, match="must contain"):
        Classifier.zero_shot(["sports", "politics"], template="About sport.", model=tiny_bert)


def test_zero_shot_with_the_packaged_encoder_tells_topics_apart():
    classifier = Classifier.zero_shot(["sports", "cooking", "astronomy"], device="cpu")
    predictions = classifier.predict([
        "The striker scored twice and the team won the cup final.",
        "Fry the onions in butter, then add the garlic and simmer the sauce.",
        "The telescope photographed a distant galaxy and its stars.",
    ])
    assert [p.label for p in predictions] == ["sports", "cooking", "astronomy"]


# -- data files ---------------------------------------------------------------------


def write(tmp_path, name, content):
    path = tmp_path / name
    path.write_text(content)
    return path


def test_columns_are_found_by_header_name_in_any_order(tmp_path):
    examples = load_examples(write(tmp_path, "d.csv", 'label,text\npos,"good, really"\nneg,bad\n'))
    assert examples.texts == ["good, really", "bad"] and examples.labels == ["pos", "neg"]
    jsonl = load_examples(write(tmp_path, "d.jsonl", '{"sentence": "fine", "sentiment": 1}\n\n{"sentence": "awful", "sentiment": 0}\n'))
    assert jsonl.texts == ["fine", "awful"] and jsonl.labels == ["1", "0"]


def test_a_headerless_two_column_file_has_its_label_column_guessed(tmp_path):
    rows = "".join(f"{text}\t{label}\n" for text, label in [("the cup final", "Sports"), ("stocks fell", "Business"),
                                                           ("a new chip", "Sci/Tech"), ("the derby", "Sports")])
    examples = load_examples(write(tmp_path, "ag.tsv", rows))
    assert examples.labels == ["Sports", "Business", "Sci/Tech", "Sports"] and examples.texts[1] == "stocks fell"


def test_a_quoted_csv_text_may_span_lines_and_rows_are_counted_as_lines(tmp_path):
    content = 'text,label\n"two\nlines",a\n"one\u2028line",b\nno label here\n'
    with pytest.raises(InvalidDataError, match="d.csv row 5: expected 2 columns, found 1"):
        load_examples(write(tmp_path, "d.csv", content))
    examples = load_examples(write(tmp_path, "d.csv", content.rsplit("no label", 1)[0]))
    assert examples.texts == ["two\nlines", "one\u2028line"]


def test_columns_can_be_named(tmp_path):
    examples = load_examples(write(tmp_path, "d.tsv", "id\tbody\tstars\n1\tgreat\t5\n2\tpoor\t1\n"),
                             text_column="body", label_column="stars")
    assert examples.texts == ["great", "poor"] and examples.labels == ["5", "1"]


@pytest.mark.parametrize("name, content, message", [
    ("d.tsv", "text\tlabel\ngood\tpos\nbad\tneg\textra\n", "d.tsv row 3: expected 2 columns, found 3"),
    ("d.tsv", "text\tlabel\ngood\tpos\n \tneg\n", "d.tsv row 3, column 'text': the text is empty"),
    ("d.csv", "text,label\ngood,pos\nbad,\n", "d.csv row 3, column 'label': no label"),
    ("d.jsonl", '{"text": "good", "label": "pos"}\n{"text": "bad", "label": \n', "d.jsonl line 2: not valid JSON"),
    ("d.jsonl", '{"text": "good", "label": "pos"}\n{"text": "bad"}\n', "cannot tell which column holds the label"),
    ("d.tsv", "a\tb\tc\nx\ty\tz\n", "cannot tell which column holds the text and which the label"),
    ("d.tsv", "", "holds no examples"),
])
def test_bad_data_files_name_the_row_and_column(tmp_path, name, content, message):
    with pytest.raises(InvalidDataError, match=message.replace("(", r"\(")):
        load_examples(write(tmp_path, name, content))


def test_folders_give_each_passage_their_name_as_its_label(tmp_path, tiny_bert):
    from bertsearch.encoder import Encoder

    write(tmp_path, "x", "")
    (tmp_path / "root" / "space" / "deep").mkdir(parents=True)
    (tmp_path / "root" / "cooking").mkdir()
    write(tmp_path / "root" / "space", "moon.md", "# Moon\n\nApollo 11 landed on the Moon.\n")
    write(tmp_path / "root" / "space" / "deep", "mars.txt", "Mars has two moons.")
    write(tmp_path / "root" / "cooking", "soup.html", "<p>Simmer the leeks for an hour.</p>")
    encoder = Encoder(tiny_bert, device="cpu")
    examples = examples_from_folders(tmp_path / "root", encoder.token_spans, passage_tokens=64, overlap_tokens=8)
    assert sorted(zip(examples.labels, examples.texts)) == [
        ("cooking", "Simmer the leeks for an hour."), ("space", "# Moon\n\nApollo 11 landed on the Moon."),
        ("space", "Mars has two moons."),
    ]


def test_folders_need_two_labels(tmp_path, tiny_bert):
    from bertsearch.encoder import Encoder

    (tmp_path / "only").mkdir()
    write(tmp_path / "only", "a.txt", "Some text.")
    with pytest.raises(InvalidDataError, match="at least two label folders"):
        examples_from_folders(tmp_path, Encoder(tiny_bert, device="cpu").token_spans, passage_tokens=64, overlap_tokens=8)


# -- scores ---------------------------------------------------------------------------


def test_evaluation_counts_the_confusion_and_per_label_scores():
    probabilities = np.array([[0.9, 0.1], [0.6, 0.4], [0.3, 0.7], [0.2, 0.8]])
    result = evaluate_probabilities(probabilities, np.array([0, 1, 1, 1]), ["neg", "pos"])
    assert result.confusion == [[1, 0], [1, 2]]
    assert result.accuracy == 0.75
    assert result.per_label["neg"].precision == 0.5 and result.per_label["neg"].recall == 1.0
    assert result.per_label["pos"].precision == 1.0 and result.per_label["pos"].recall == pytest.approx(2 / 3)
    assert result.macro_f1 == pytest.approx((2 / 3 + 0.8) / 2)


def test_calibration_error_is_the_gap_between_confidence_and_accuracy():
    sure_and_right = np.array([[1.0, 0.0], [0.0, 1.0]])
    assert expected_calibration_error(sure_and_right, np.array([0, 1])) == 0.0
    # both at 0.8 confidence, one right: |0.5 - 0.8| = 0.3
    assert expected_calibration_error(np.array([[0.8, 0.2], [0.8, 0.2]]), np.array([0, 1])) == pytest.approx(0.3)


# -- the packaged encoder on real sentiment --------------------------------------------


def test_a_probe_on_the_packaged_encoder_learns_sentiment_from_48_sentences():
    train, test = load_examples(SENTIMENT / "train.tsv"), load_examples(SENTIMENT / "test.tsv")
    classifier = Classifier.train(train.texts, train.labels, device="cpu")
    result = classifier.evaluate(test.texts, test.labels)
    assert result.total == 32
    assert result.accuracy >= 0.85, result.confusion  # measured: 32 of 32
