"""`Classifier`: train, predict, evaluate, save and load a text classifier over the encoder's vectors."""

from __future__ import annotations

import json
import shutil
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..errors import ClassifierNotFoundError, InvalidDataError
from ..checkpoints import DEFAULT_ENCODER
from .head import DEFAULT_L2, LinearHead, fit_probe, zero_shot_head
from .metrics import Evaluation, evaluate_probabilities

METHODS = ("probe", "fine-tune", "zero-shot")
CONFIG, HEAD, ENCODER_DIR = "classifier.json", "head.npz", "encoder"
FORMAT_VERSION = 1
PROBE_POOLING = "mean"  # measured on SST-2 dev: see docs/classification.md
FINE_TUNE_POOLING = "mean"  # the pooling SST-2 fine-tuning was measured with (and the probe prefers): docs/classification.md
DEFAULT_TEMPLATE = "This text is about {label}."


@dataclass
class Prediction:
    """The most likely label and the probability of each label, most likely first."""

    text: str
    label: str
    probabilities: dict[str, float]

    def to_dict(self) -> dict:
        return {"text": self.text, "label": self.label, "probabilities": self.probabilities}


class Classifier:
    """A linear head over an encoder's unit vectors (see `head.py`), with its label names.

    `encoder` says which vectors the head reads: {"model", "pooling", "dim"}, and
    "fine_tuned": True when the encoder's weights are the classifier's own (kept in
    `model_dir`). A classifier that is not fine-tuned reads exactly the vectors an
    index built with the same model and pooling stores.
    """

    def __init__(self, labels: Sequence[str], head: LinearHead, *, encoder: dict, method: str,
                 report: dict | None = None, template: str | None = None, model_dir: str | Path | None = None,
                 device: str | None = None, precision: str = "auto"):
        self.labels = list(labels)
        self.head = head
        self.encoder_identity = dict(encoder)
        self.method = method
        self.report = report or {}
        self.template = template
        self.model_dir = Path(model_dir) if model_dir else None
        self._device, self._precision = device, precision
        self._encoder = None
        self._scratch = None  # a temporary folder holding a fine-tuned encoder not yet saved

    # -- training -------------------------------------------------------------

    @classmethod
    def train(cls, texts: Sequence[str], labels: Sequence[str], *, method: str = "probe", model: str | None = None,
              pooling: str | None = None, device: str | None = None, precision: str = "auto", l2: float = DEFAULT_L2,
              recipe=None, checkpoints: str | Path | None = None, resume: bool = False,
              progress: bool = False, validation: tuple[Sequence[str], Sequence[str]] | None = None) -> "Classifier":
        """Train on texts and their labels. `method`: "probe" (a logistic regression on frozen vectors)
        or "fine-tune" (the encoder too; `recipe` is a `finetune.Recipe`, `checkpoints` a folder
        for the per-epoch checkpoint that `resume=True` continues from, `validation` the (texts,
        labels) scored after each epoch for early stopping, else a share of the texts)."""
        if method not in METHODS[:2]:
            raise InvalidDataError(f"unknown method {method!r}: use probe or fine-tune (zero-shot needs no training)")
        names, targets = _targets(texts, labels)
        model = model or DEFAULT_ENCODER
        if method == "probe":
            encoder = _load_encoder(model, pooling or PROBE_POOLING, device, precision)
            vectors = encoder.encode(list(texts), progress=_bar(len(texts), "Encoding") if progress else None)
            classifier = cls.train_on_vectors(vectors, [names[t] for t in targets], encoder=encoder.fingerprint,
                                              l2=l2, device=device, precision=precision)
            classifier._encoder = encoder
            return classifier
        if validation is not None:
            validation = _validation(validation, names)
        return cls._fine_tune(list(texts), names, targets, model, pooling or FINE_TUNE_POOLING, device, precision,
                              recipe, checkpoints, resume, progress, validation)

    @classmethod
    def train_on_vectors(cls, vectors: np.ndarray, labels: Sequence[str], *, encoder: dict, l2: float = DEFAULT_L2,
                         device: str | None = None, precision: str = "auto") -> "Classifier":
        """A probe on vectors already encoded (by the encoder `encoder` names: {"model", "pooling", "dim"})."""
        names, targets = _targets(list(range(len(vectors))), labels, check_texts=False)
        head = fit_probe(vectors, targets, len(names), l2=l2)
        report = {"method": "probe", "examples": len(targets), "l2": l2,
                  "train_accuracy": float((head.logits(vectors).argmax(1) == targets).mean())}
        return cls(names, head, encoder=encoder, method="probe", report=report, device=device, precision=precision)

    @classmethod
    def zero_shot(cls, labels: Sequence[str], *, template: str = DEFAULT_TEMPLATE, model: str | None = None,
                  pooling: str | None = None, device: str | None = None, precision: str = "auto") -> "Classifier":
        """A classifier with no training: each text goes to the label whose `template` sentence it is closest to."""
        names = [str(label).strip() for label in labels if str(label).strip()]
        if len(set(names)) < 2 or len(set(names)) != len(names):
            raise InvalidDataError("zero-shot needs at least two distinct label names, e.g. --labels 'sports,politics'")
        if "{label}" not in template:
            raise InvalidDataError(f"the template must contain {{label}}, as in {DEFAULT_TEMPLATE!r}")
        encoder = _load_encoder(model or DEFAULT_ENCODER, pooling, device, precision)
        head = zero_shot_head(encoder.encode([template.format(label=name) for name in names]))
        classifier = cls(names, head, encoder=encoder.fingerprint, method="zero-shot", template=template,
                         report={"method": "zero-shot", "template": template}, device=device, precision=precision)
        classifier._encoder = encoder
        return classifier

    @classmethod
    def _fine_tune(cls, texts, names, targets, model, pooling, device, precision, recipe, checkpoints, resume, progress,
                   validation):
        from transformers import AutoModel, AutoTokenizer

        from ..checkpoints import resolve_model_path
        from .finetune import Recipe, fine_tune

        path = resolve_model_path(model)
        network, tokenizer = AutoModel.from_pretrained(path), AutoTokenizer.from_pretrained(path)
        scratch = tempfile.TemporaryDirectory(prefix="bertsearch-fine-tune-")
        head, report = fine_tune(network, tokenizer, texts, targets, len(names), pooling=pooling,
                                 recipe=recipe or Recipe(), checkpoints=Path(checkpoints or scratch.name),
                                 device=device, precision=precision, resume=resume, progress=progress,
                                 validation=validation)
        folder = Path(scratch.name) / ENCODER_DIR
        network.save_pretrained(folder)
        tokenizer.save_pretrained(folder)
        identity = {"model": model, "pooling": pooling, "dim": network.config.hidden_size, "fine_tuned": True}
        classifier = cls(names, head, encoder=identity, method="fine-tune", report={"method": "fine-tune", **report},
                         model_dir=folder, device=device, precision=precision)
        classifier._scratch = scratch
        return classifier

    # -- using ----------------------------------------------------------------

    @property
    def encoder(self):
        """The encoder whose vectors the head reads, loaded on first use."""
        if self._encoder is None:
            model = str(self.model_dir) if self.model_dir else self.encoder_identity["model"]
            self._encoder = _load_encoder(model, self.encoder_identity["pooling"], self._device, self._precision)
        return self._encoder

    def reads_vectors_of(self, fingerprint: dict) -> bool:
        """Whether the head can read vectors made by the encoder `fingerprint` names (an index's, say)."""
        own = self.encoder_identity
        return not own.get("fine_tuned") and all(own.get(k) == fingerprint.get(k) for k in ("model", "pooling", "dim"))

    def probabilities(self, texts: Sequence[str]) -> np.ndarray:
        """(texts, labels) probabilities, columns in the order of `labels`."""
        return self.probabilities_of_vectors(self.encoder.encode(list(texts)))

    def probabilities_of_vectors(self, vectors: np.ndarray) -> np.ndarray:
        return self.head.probabilities(vectors)

    def predict(self, texts: Sequence[str], *, top: int | None = None) -> list[Prediction]:
        """The label of each text and the probabilities of the `top` likeliest labels (all by default)."""
        texts = list(texts)
        if not texts:
            return []
        return [self._prediction(text, row, top) for text, row in zip(texts, self.probabilities(texts))]

    def _prediction(self, text: str, row: np.ndarray, top: int | None) -> Prediction:
        order = np.argsort(-row, kind="stable")[: top or len(row)]
        return Prediction(text, self.labels[order[0]], {self.labels[i]: round(float(row[i]), 6) for i in order})

    def evaluate(self, texts: Sequence[str], labels: Sequence[str]) -> Evaluation:
        """Accuracy, macro-F1, per-label precision/recall, the confusion matrix and calibration on labelled texts."""
        targets = self.targets(labels)
        return evaluate_probabilities(self.probabilities(texts), targets, self.labels)

    def evaluate_vectors(self, vectors: np.ndarray, labels: Sequence[str]) -> Evaluation:
        """`evaluate` on texts already encoded by the classifier's encoder."""
        return evaluate_probabilities(self.probabilities_of_vectors(vectors), self.targets(labels), self.labels)

    def targets(self, labels: Sequence[str]) -> np.ndarray:
        """Label names as column indices; a name the classifier does not know is an InvalidDataError."""
        index = {name: i for i, name in enumerate(self.labels)}
        unknown = sorted({str(label) for label in labels} - set(index))
        if unknown:
            raise InvalidDataError(f"label {unknown[0]!r} is not one this classifier knows ({', '.join(self.labels)})")
        return np.array([index[str(label)] for label in labels], dtype=np.int64)

    # -- saving ---------------------------------------------------------------

    def save(self, folder: str | Path) -> Path:
        """Write the head, the label names, the encoder's identity (and a fine-tuned encoder) and the report."""
        folder = Path(folder)
        folder.mkdir(parents=True, exist_ok=True)
        self.head.save(folder / HEAD)
        if self.model_dir and self.model_dir.resolve() != (folder / ENCODER_DIR).resolve():
            shutil.copytree(self.model_dir, folder / ENCODER_DIR, dirs_exist_ok=True)
        config = {"format_version": FORMAT_VERSION, "method": self.method, "labels": self.labels,
                  "encoder": self.encoder_identity, "template": self.template, "report": self.report}
        (folder / CONFIG).write_text(json.dumps(config, indent=2) + "\n")
        return folder

    @classmethod
    def load(cls, folder: str | Path, *, device: str | None = None, precision: str = "auto") -> "Classifier":
        folder = Path(folder)
        try:
            config = json.loads((folder / CONFIG).read_text())
            head = LinearHead.load(folder / HEAD)
        except FileNotFoundError:
            raise ClassifierNotFoundError(
                f"no classifier in {folder}: train one with 'bertsearch classify train DATA --out {folder}'"
            ) from None
        except (ValueError, KeyError, OSError) as error:
            raise ClassifierNotFoundError(f"the classifier in {folder} is damaged ({error}): train it again") from None
        model_dir = folder / ENCODER_DIR if config["encoder"].get("fine_tuned") else None
        return cls(config["labels"], head, encoder=config["encoder"], method=config["method"], report=config["report"],
                   template=config.get("template"), model_dir=model_dir, device=device, precision=precision)


def _targets(texts: Sequence, labels: Sequence[str], check_texts: bool = True) -> tuple[list[str], np.ndarray]:
    """The sorted label names and each example's index among them; bad training data is an InvalidDataError."""
    if len(texts) != len(labels):
        raise InvalidDataError(f"{len(texts)} texts but {len(labels)} labels: give one label per text")
    if check_texts:
        for number, text in enumerate(texts, 1):
            if not isinstance(text, str) or not text.strip():
                raise InvalidDataError(f"text {number} is empty")
    names = sorted({str(label) for label in labels})
    if len(names) < 2:
        raise InvalidDataError(f"training needs examples of at least two labels, found {len(names)}")
    index = {name: i for i, name in enumerate(names)}
    return names, np.array([index[str(label)] for label in labels], dtype=np.int64)


def _validation(validation, names: list[str]) -> tuple[list[str], np.ndarray]:
    """Held-out (texts, labels) as texts and targets among the training labels' names."""
    texts, labels = list(validation[0]), [str(label) for label in validation[1]]
    if len(texts) != len(labels) or not texts:
        raise InvalidDataError(f"validation: {len(texts)} texts and {len(labels)} labels: give one label per text")
    unknown = sorted(set(labels) - set(names))
    if unknown:
        raise InvalidDataError(f"validation label {unknown[0]!r} is not among the training labels ({', '.join(names)})")
    return texts, np.array([names.index(label) for label in labels], dtype=np.int64)


def _load_encoder(model: str, pooling: str | None, device: str | None, precision: str):
    from ..encoder import Encoder

    return Encoder(model, pooling=pooling, device=device, precision=precision)


def _bar(total: int, desc: str):
    from tqdm.auto import tqdm

    bar = tqdm(total=total, desc=desc, unit="text", leave=False)
    return bar.update
