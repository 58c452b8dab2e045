"""Classification of items on the taxonomy's three axes (topics, sectors, severity).

    corpus.py     labelled examples and classify inputs (JSON Lines), validated line by line
    model.py      the Pipeline factory `build_pipeline` and training with held-out metrics
    predict.py    probabilities -> labels under the taxonomy's rules
    evaluate.py   metrics per axis
    artefact.py   skops files + metadata.json under models/<version>/, the `current` marker

This module is the facade the CLI and the flows call: train-and-save, load the current model.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from pathlib import Path

from techwatch.classify import artefact
from techwatch.classify.corpus import (
    CorpusError,
    Document,
    Example,
    read_documents,
    read_examples,
)
from techwatch.classify.evaluate import evaluate
from techwatch.classify.model import (
    HASH_BITS,
    Model,
    TrainingError,
    build_pipeline,
    new_version,
    train,
)
from techwatch.classify.predict import Prediction, classify

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
    bits: int = HASH_BITS,
    with_realdata: bool = True,
) -> Model:
    """Train the default model, save it as a new version, mark it current.

    Seed corpus plus `labels` files, plus the real labelled advisories and the DEV half of the
    hand-labelled news items when they are there (realdata.default_folder(); held-out rows
    are never trained on, nor TEST news items). The metadata's `origins` say how many examples
    came from where.
    """
    from techwatch.classify import realdata, training

    folder = realdata.default_folder() if with_realdata else None
    data = training.gather(None, labels, include_seed=include_seed, realdata_folder=folder)
    model = training.train_model(data, now=now, seed=seed, bits=bits)
    saved = artefact.save(model, _free_folder(models, new_version(now)))
    artefact.mark_current(models, saved.name)
    return artefact.load(saved)


def load_current(models: Path) -> Model | None:
    """The current model, or None when none was trained yet."""
    folder = artefact.current_folder(models)
    return None if folder is None else artefact.load(folder)


def _free_folder(models: Path, version: str) -> Path:
    """models/<version>, with a suffix when two trainings share the same second."""
    folder, n = models / version, 1
    while folder.exists():
        n += 1
        folder = models / f"{version}-{n}"
    return folder
