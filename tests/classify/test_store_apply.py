"""The model applied to the store: what needs classifying, batches, idempotence, the run step."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta
from pathlib import Path

import pytest

from techwatch.classify import Model
from techwatch.classify.apply import apply_model, classify_new_items
from techwatch.storage import open_reader, open_writer
from techwatch.taxonomy import SEVERITY_KEYS, TOPIC_KEYS
from tests.storage.factories import T0, item, outcome

T1, T2 = T0 + timedelta(hours=1), T0 + timedelta(hours=2)
TITLES = {
    "a": "Critical flaw in Citrix NetScaler, patch now",
    "b": "Lausanne-Sport gagne le derby",
    "c": "Störung bei Swisscom: E-Mail weg",
    "d": "Faux courriels au nom de PostFinance",
    "e": "Nouvelle version de LibreOffice",
}


def _write(db: Path, now: object, **texts: str) -> None:
    items = [item("s1", key, title=TITLES[key], text=text) for key, text in texts.items()]
    with open_writer(db) as writer:
        writer.write_outcomes("run", [outcome("s1", items)], [], now)  # type: ignore[arg-type]


@pytest.fixture
def db(tmp_path: Path) -> Path:
    db = tmp_path / "var" / "techwatch.duckdb"
    _write(db, T0, a="Patch now.", b="Un but tardif.", c="Seit Stunden.", d="Codes.", e="Thèmes.")
    return db


def _stored(db: Path) -> dict[str, dict]:
    with open_reader(db) as reader:
        ids = [r["id"] for r in reader.items(limit=100)]
        return reader.predictions(ids)


def test_apply_classifies_every_item_once_in_batches(db: Path, tiny_model: Model) -> None:
    batches: list[int] = []
    first = apply_model(db, tiny_model, now=T1, batch_size=2, on_batch=batches.append)
    assert (first.classified, batches) == (5, [2, 2, 1])
    stored = _stored(db)
    assert len(stored) == 5
    for row in stored.values():
        assert row["model_version"] == tiny_model.version
        assert set(row["topics"]) <= set(TOPIC_KEYS) and row["severity"] in SEVERITY_KEYS
        assert row["classified_at"] == T1
        assert set(row["scores"]) >= set(row["topics"])
    second = apply_model(db, tiny_model, now=T2)
    assert second.classified == 0, "a second apply finds nothing to do"
    assert _stored(db) == stored
    assert apply_model(db, tiny_model, now=T2, every=True).classified == 5


def test_a_changed_item_or_another_model_version_is_classified_again(
    db: Path, tiny_model: Model
) -> None:
    apply_model(db, tiny_model, now=T1)
    _write(db, T2, a="Patch now: exploited in the wild.", b="Un but tardif.")  # a changed
    assert apply_model(db, tiny_model, now=T2).classified == 1
    retrained = replace(tiny_model, metadata={**tiny_model.metadata, "version": "v2"})
    assert apply_model(db, retrained, now=T2).classified == 5
    assert {r["model_version"] for r in _stored(db).values()} == {"v2"}


def test_since_keeps_the_items_written_since(db: Path, tiny_model: Model) -> None:
    _write(db, T2, e="Thèmes et performances.")  # only e changes at T2
    report = apply_model(db, tiny_model, now=T2, since=T2)
    assert report.classified == 1
    assert len(_stored(db)) == 1


def test_the_run_step_skips_without_a_model_unless_asked(db: Path, tmp_path: Path) -> None:
    report = classify_new_items(db, tmp_path / "no-models", since=T0, train_default=False)
    assert (report.classified, report.model_version, report.trained_default) == (0, None, False)
    assert report.skipped is not None
    assert "techwatch model train" in report.skipped and "model apply" in report.skipped
    assert _stored(db) == {}


def test_the_run_step_reports_a_broken_model_instead_of_failing(db: Path, tmp_path: Path) -> None:
    models = tmp_path / "models"
    (models / "v1").mkdir(parents=True)
    (models / "current").write_text("v1\n")
    report = classify_new_items(db, models, since=T0, train_default=True)
    assert report.classified == 0 and report.trained_default is False
    assert report.skipped is not None and "classification failed" in report.skipped


def test_the_run_step_uses_the_current_model(db: Path, home_with_model: Path) -> None:
    models = home_with_model / "var" / "models"
    report = classify_new_items(db, models, since=T0, train_default=True)
    assert (report.classified, report.trained_default, report.skipped) == (5, False, None)
    assert report.model_version == "20261128T030000Z"
