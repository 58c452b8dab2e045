"""The current model applied to the items of the store, batch by batch.

Each batch is read with a short read-only connection, classified, and written with a short
write (one transaction), so a consultant's CLI can read in between and a crash loses at most
the batch under way. Which items: those the model version has not classified as they are now
(no prediction, another model's, or one older than the item's last change); `every` for all.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final

from techwatch.classify.documents import DOCUMENT_CHARS, item_document
from techwatch.storage import open_reader, open_writer

if TYPE_CHECKING:
    from techwatch.classify.model import Model

BATCH_SIZE: Final = 2_000


@dataclass(frozen=True, slots=True)
class ApplyReport:
    """What one application of a model to the store did."""

    model_version: str | None
    classified: int
    seconds: float
    trained_default: bool = False  # no model existed: the default one was trained first
    train_seconds: float = 0.0
    skipped: str | None = None  # why nothing was classified, when nothing could be

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def apply_model(
    db_path: Path,
    model: Model,
    *,
    now: datetime,
    every: bool = False,
    since: datetime | None = None,
    batch_size: int = BATCH_SIZE,
    on_batch: Callable[[int], None] | None = None,
) -> ApplyReport:
    """Classify the items that need it with `model`; `since` keeps items written since then."""
    from techwatch.classify.predict import classify

    started = time.perf_counter()
    done, after = 0, None
    while True:
        with open_reader(db_path) as reader:
            rows = reader.to_classify(
                model_version=model.version,
                since=since,
                every=every,
                after=after,
                limit=batch_size,
                text_chars=DOCUMENT_CHARS,
            )
        if not rows:
            break
        predictions = classify(model, [item_document(row) for row in rows])
        with open_writer(db_path) as writer:
            writer.write_predictions(
                [
                    {
                        "item_id": p.id,
                        "model_version": model.version,
                        "topics": list(p.topics),
                        "sectors": list(p.sectors),
                        "severity": p.severity,
                        "scores": p.scores,
                        "classified_at": now,
                    }
                    for p in predictions
                ]
            )
        done += len(rows)
        after = rows[-1]["id"]
        if on_batch is not None:
            on_batch(len(rows))
    return ApplyReport(model.version, done, round(time.perf_counter() - started, 3))


def classify_new_items(
    db_path: Path, models: Path, *, since: datetime, train_default: bool
) -> ApplyReport:
    """The ingestion run's step: classify the items written since `since` with the current model.

    Without a current model, the default one is trained first only when `train_default` (the
    demo: a minute, said in its report); a nightly run never trains unasked: it skips and says
    how to set the model up. A model that cannot be loaded is reported, not raised: the items
    are stored already, and `techwatch model apply` classifies them once the model is fixed.
    scikit-learn (~100 MiB) is imported only when there is a model to load or train: a run
    without one never loads it. The model stays in this process on purpose: a child process
    (measured, session 7) took ~90 MiB off this process's peak but held ~300 MiB of its own
    (libraries, model, features), where this process reuses heap that earlier stages freed.
    """
    from techwatch.classify import load_current, train_and_save
    from techwatch.classify.artefact import ArtefactError, current_version

    try:
        version = current_version(models)
        if version is not None and not _written_since(db_path, since):
            # An unchanged night: loading the model (libraries and 42 MB of pipelines, ~5 s)
            # would classify nothing.
            return ApplyReport(version, 0, 0.0)
        model = load_current(models)
    except ArtefactError as error:
        return ApplyReport(None, 0, 0.0, skipped=f"classification failed: {error}")
    trained, train_seconds = False, 0.0
    if model is None and not train_default:
        return ApplyReport(None, 0, 0.0, skipped=no_model_message(models))
    if model is None:
        t = time.perf_counter()
        model = train_and_save(models, now=datetime.now(UTC))
        trained, train_seconds = True, round(time.perf_counter() - t, 3)
    report = apply_model(db_path, model, now=datetime.now(UTC), since=since)
    return replace(report, trained_default=trained, train_seconds=train_seconds)


def _written_since(db_path: Path, since: datetime) -> bool:
    """Whether any item was written (new or changed) since `since`: none needs classifying
    otherwise, whatever the model."""
    with open_reader(db_path) as reader:
        rows = reader.to_classify(
            model_version="", since=since, every=True, after=None, limit=1, text_chars=0
        )
    return bool(rows)


def no_model_message(models: Path) -> str:
    """What to do when there is no model: said in the run report and by `model apply`."""
    return (
        f"no current model in {models}: items were not classified; "
        "run `techwatch model train`, then `techwatch model apply`"
    )
