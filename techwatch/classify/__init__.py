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
    seed_files,
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
) -> Model:
    """Train on the seed corpus plus `labels` files, save as a new version, mark it current."""
    files = [*(seed_files() if include_seed else []), *labels]
    examples = read_examples(files)
    model = train(examples, now=now, seed=seed, sources=[str(f) for f in files], bits=bits)
    folder = artefact.save(model, _free_folder(models, new_version(now)))
    artefact.mark_current(models, folder.name)
    return artefact.load(folder)


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
