"""Saved models: round trip, and refusal of untrusted content or another label set."""

from __future__ import annotations

import hashlib
import json
import pickle
from pathlib import Path

import pytest
import skops.io as sio
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.pipeline import Pipeline

from techwatch.classify import Model, classify, load_current
from techwatch.classify.artefact import ArtefactError, load, mark_current, save
from techwatch.classify.corpus import Document

DOCS = [
    Document("1", "Critical flaw in FortiOS", "Patch now.", "en"),
    Document("2", "Servette gewinnt das Derby", "Ein spätes Tor.", "de"),
]


class Passthrough(TransformerMixin, BaseEstimator):
    """A custom type: skops must not rebuild it unless it is explicitly trusted."""

    def fit(self, x: object, y: object = None) -> Passthrough:
        return self

    def transform(self, x: object) -> object:
        return x


def _saved(tmp_path: Path, model: Model) -> Path:
    return save(model, tmp_path / "models" / "v1")


def _rewrite_metadata(folder: Path, **changes: object) -> None:
    path = folder / "metadata.json"
    metadata = json.loads(path.read_text())
    metadata.update(changes)
    path.write_text(json.dumps(metadata))


def _replace_topics_file(folder: Path, content: bytes) -> None:
    """Swap topics.skops and fix its checksum, so only the content check can refuse it."""
    (folder / "topics.skops").write_bytes(content)
    metadata = json.loads((folder / "metadata.json").read_text())
    metadata["files"]["topics"]["sha256"] = hashlib.sha256(content).hexdigest()
    (folder / "metadata.json").write_text(json.dumps(metadata))


def test_round_trip_keeps_predictions_and_metadata(tmp_path: Path, tiny_model: Model) -> None:
    folder = _saved(tmp_path, tiny_model)
    mark_current(folder.parent, folder.name)
    loaded = load_current(folder.parent)
    assert loaded is not None and loaded.version == "v1"
    assert classify(loaded, DOCS) == classify(tiny_model, DOCS)
    metadata = json.loads((folder / "metadata.json").read_text())
    assert {"sklearn", "numpy", "skops", "python"} <= set(metadata["versions"])
    assert metadata["label_set"]["severity"] == ["info", "low", "medium", "high", "critical"]
    assert metadata["created_at"].startswith("2026-11-28")


def test_a_version_is_never_overwritten(tmp_path: Path, tiny_model: Model) -> None:
    _saved(tmp_path, tiny_model)
    with pytest.raises(ArtefactError, match="already exists"):
        _saved(tmp_path, tiny_model)


def test_a_file_with_an_untrusted_type_is_refused(tmp_path: Path, tiny_model: Model) -> None:
    folder = _saved(tmp_path, tiny_model)
    sio.dump(Pipeline([("custom", Passthrough())]), tmp_path / "custom.skops")
    _replace_topics_file(folder, (tmp_path / "custom.skops").read_bytes())
    with pytest.raises(ArtefactError, match=r"untrusted types: \[.*Passthrough"):
        load(folder)


def test_a_pickle_renamed_skops_is_refused(tmp_path: Path, tiny_model: Model) -> None:
    folder = _saved(tmp_path, tiny_model)
    _replace_topics_file(folder, pickle.dumps(tiny_model.pipelines["topics"]))
    with pytest.raises(ArtefactError, match="not a readable skops file"):
        load(folder)


def test_a_tampered_file_is_refused_by_its_checksum(tmp_path: Path, tiny_model: Model) -> None:
    folder = _saved(tmp_path, tiny_model)
    (folder / "sectors.skops").write_bytes(b"garbage")
    with pytest.raises(ArtefactError, match="checksum"):
        load(folder)


def test_a_model_for_another_label_set_is_refused(tmp_path: Path, tiny_model: Model) -> None:
    folder = _saved(tmp_path, tiny_model)
    label_set = json.loads((folder / "metadata.json").read_text())["label_set"]
    label_set["topics"] = [t for t in label_set["topics"] if t != "ai"] + ["crypto"]
    _rewrite_metadata(folder, label_set=label_set)
    with pytest.raises(ArtefactError, match=r"another topics label set.*missing \['ai'\].*crypto"):
        load(folder)


def test_no_current_model_is_none_not_an_error(tmp_path: Path) -> None:
    assert load_current(tmp_path / "models") is None
