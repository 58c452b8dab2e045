"""Classification of items on the taxonomy's three axes (topics, sectors, severity).

    corpus.py     labelled examples and classify inputs (JSON Lines), validated line by line
    model.py      the Pipeline factory `build_pipeline` and training with held-out metrics
    predict.py    probabilities -> labels under the taxonomy's rules
    evaluate.py   metrics per axis
    artefact.py   skops files + metadata.json under models/<version>/, the `current` marker

This module is the facade the CLI and the flows call: train-and-save, load the current model.
Names that need scikit-learn are resolved on first use (PEP 562 `__getattr__`): importing a
light submodule (documents, corpus, apply) must not load scikit-learn, scipy and skops (~100
MiB) into an ingestion run that has no model to apply.
"""

from __future__ import annotations

import importlib
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final

from techwatch.classify.corpus import (
    CorpusError,
    Document,
    Example,
    read_documents,
    read_examples,
)

# evaluate.py imports scikit-learn in its functions; eager, so that the submodule's import
# never leaves the package attribute `evaluate` naming the module instead of the function.
from techwatch.classify.evaluate import evaluate

if TYPE_CHECKING:
    from techwatch.classify.model import Model, TrainingError, build_pipeline, train
    from techwatch.classify.predict import Prediction, classify

# Facade name -> the submodule that defines it, imported when the name is first asked for.
_LAZY: Final = {
    "Model": "techwatch.classify.model",
    "TrainingError": "techwatch.classify.model",
    "build_pipeline": "techwatch.classify.model",
    "train": "techwatch.classify.model",
    "Prediction": "techwatch.classify.predict",
    "classify": "techwatch.classify.predict",
}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = [
    "CorpusError",
    "Document",
    "Example",
    "Model",
    "Prediction",
    "TrainingError",
    "build_pipeline",
    "classify",
    "evaluate",
    "load_current",
    "read_documents",
    "read_examples",
    "train",
    "train_and_save",
]


def train_and_save(
    models: Path,
    *,
    now: datetime,
    labels: Sequence[Path] = (),
    seed: int = 0,
    include_seed: bool = True,
    bits: int | None = None,
    with_realdata: bool = True,
) -> Model:
    """Train the default model, save it as a new version, mark it current.

    Seed corpus plus `labels` files, plus the real labelled advisories and the DEV half of the
    hand-labelled news items when they are there (realdata.default_folder(); held-out rows
    are never trained on, nor TEST news items). The metadata's `origins` say how many examples
    came from where.
    """
    from techwatch.classify import artefact, realdata, training
    from techwatch.classify.model import HASH_BITS, new_version

    folder = realdata.default_folder() if with_realdata else None
    data = training.gather(None, labels, include_seed=include_seed, realdata_folder=folder)
    bits = HASH_BITS if bits is None else bits
    model = training.train_model(data, now=now, seed=seed, bits=bits)
    saved = artefact.save(model, _free_folder(models, new_version(now)))
    artefact.mark_current(models, saved.name)
    return artefact.load(saved)


def load_current(models: Path) -> Model | None:
    """The current model, or None when none was trained yet."""
    from techwatch.classify import artefact

    folder = artefact.current_folder(models)
    return None if folder is None else artefact.load(folder)


def _free_folder(models: Path, version: str) -> Path:
    """models/<version>, with a suffix when two trainings share the same second."""
    folder, n = models / version, 1
    while folder.exists():
        n += 1
        folder = models / f"{version}-{n}"
    return folder
