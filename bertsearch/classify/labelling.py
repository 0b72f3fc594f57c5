"""Labelling an index's documents with a classifier.

A document's label comes from its passages: the probabilities of each passage,
averaged with each passage weighted by its length in characters, and the most
probable label of that average. Passages are read from the vectors the index
already stores when the classifier reads that encoder's vectors (same model,
pooling and dimension, not fine-tuned); otherwise their texts are encoded again
by the classifier's own encoder.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

HOW = "mean of its passages' label probabilities, weighted by passage length"


@dataclass
class LabelReport:
    """What `Index.label` did: how many documents it labelled, with which labels, and
    whether it read the stored vectors (`reused_vectors`) or encoded the passages again."""

    documents: int = 0
    counts: dict[str, int] = field(default_factory=dict)
    reused_vectors: bool = True
    classifier: str | None = None


def open_classifier(classifier, *, device: str | None, precision: str):
    """The `Classifier` and its folder: `classifier` is a saved classifier's folder, or a `Classifier` (no folder)."""
    from .classifier import Classifier

    if isinstance(classifier, Classifier):
        return classifier, None
    folder = Path(classifier).resolve()
    return Classifier.load(folder, device=device, precision=precision), folder


def label_new_documents(store, *, device: str | None, precision: str,
                        notify: Callable[[str], None] | None = None) -> int:
    """Label what `add` wrote, when the index was labelled with a saved classifier; how many were labelled."""
    from ..errors import ClassifierNotFoundError

    labeller = store.meta("labeller") or {}
    todo = store.unlabelled_documents() if labeller.get("classifier") else []
    if not todo:
        return 0
    try:
        classifier, folder = open_classifier(labeller["classifier"], device=device, precision=precision)
    except ClassifierNotFoundError as error:
        if notify:
            notify(f"new documents left unlabelled: {error}")
        return 0
    return label_index(store, classifier, folder=folder, document_ids=todo).documents


def label_index(store, classifier, *, folder=None, document_ids=None, progress: bool = False) -> LabelReport:
    """Label the documents `document_ids` (None: all) of the index in `store`, and store the labels.

    `folder`, the classifier's folder when it was loaded from one, is recorded so that
    later `add` runs label new and changed documents with it.
    """
    reuse = classifier.reads_vectors_of(store.meta("encoder") or {})
    documents = store.document_vectors(document_ids)
    if progress:
        from tqdm import tqdm

        total = store.counts()["documents"] if document_ids is None else len(document_ids)
        documents = tqdm(documents, total=total, unit="document", desc="Labelling", disable=None, leave=False)
    labels = label_documents(classifier, documents, reuse_vectors=reuse)
    labeller = {"classifier": str(folder) if folder else None, "method": classifier.method,
                "labels": classifier.labels, "document_label": HOW}
    store.put_labels(labels, labeller)
    counts: dict[str, int] = {}
    for label, _ in labels.values():
        counts[label] = counts.get(label, 0) + 1
    return LabelReport(documents=len(labels), counts=counts, reused_vectors=reuse, classifier=labeller["classifier"])


def label_documents(classifier, documents: Iterable, *, reuse_vectors: bool) -> dict[int, tuple[str, dict[str, float]]]:
    """Each document's label and label probabilities, from (id, vectors, lengths, texts) of its passages."""
    labels = {}
    for document_id, vectors, lengths, texts in documents:
        passages = classifier.probabilities_of_vectors(vectors) if reuse_vectors else classifier.probabilities(texts)
        probabilities = document_probabilities(passages, lengths)
        best = int(np.argmax(probabilities))
        labels[document_id] = (classifier.labels[best],
                               {name: round(float(p), 6) for name, p in zip(classifier.labels, probabilities)})
    return labels


def document_probabilities(passage_probabilities: np.ndarray, lengths: np.ndarray) -> np.ndarray:
    """The length-weighted mean of a document's passage probabilities."""
    weights = np.maximum(np.asarray(lengths, dtype=np.float64), 1.0)
    return (passage_probabilities * weights[:, None]).sum(0) / weights.sum()
