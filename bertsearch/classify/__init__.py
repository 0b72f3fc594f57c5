"""Classification over the encoder's vectors: a linear head (probe, fine-tuned or zero-shot) and its labels.

- `data.py`: labelled examples from TSV/CSV/JSONL files or from folders named after labels;
- `head.py`: the linear head and how the probe and zero-shot fill it;
- `finetune.py`: the encoder and head trained together;
- `metrics.py`: accuracy, macro-F1, per-label scores, confusion matrix, calibration;
- `classifier.py`: `Classifier`, which ties them to an encoder and saves them in a folder.
"""

from .classifier import DEFAULT_TEMPLATE, METHODS, Classifier, Prediction
from .data import Examples, examples_from_folders, load_examples
from .metrics import Evaluation

__all__ = ["Classifier", "Prediction", "Evaluation", "Examples", "METHODS", "DEFAULT_TEMPLATE",
           "load_examples", "examples_from_folders"]
