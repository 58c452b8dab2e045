"""Consultants' labels: history kept, latest per axis wins, and they win over the model."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from techwatch import labelling
from techwatch.errors import StorageError
from techwatch.labelling import ConsultantLabel, EffectiveLabels, ModelLabels, Origin
from techwatch.storage import open_reader, open_writer
from tests.storage.factories import T0, item, outcome

T1, T2, T3 = T0 + timedelta(hours=1), T0 + timedelta(hours=2), T0 + timedelta(hours=3)

PREDICTION = ModelLabels(
    item_id="i1",
    model_version="m1",
    topics=("product_update",),
    sectors=("all",),
    severity="info",
    scores={"product_update": 0.8, "vulnerability": 0.3, "all": 0.9, "info": 0.7},
    classified_at=T0,
)


def said(at: Any, who: str = "alice", **axes: Any) -> ConsultantLabel:
    return ConsultantLabel(item_id="i1", labelled_by=who, labelled_at=at, **axes)


def test_without_consultant_labels_the_model_speaks() -> None:
    labels = labelling.effective_labels(PREDICTION, [])
    assert (labels.topics, labels.sectors, labels.severity) == (
        ("product_update",),
        ("all",),
        "info",
    )
    assert not labels.by_consultant
    assert labels.origins["topics"] == Origin("model", "m1", T0)


def test_the_latest_label_saying_an_axis_wins_and_silence_keeps_the_earlier_one() -> None:
    history = [
        said(T1, topics=("vulnerability",), severity="high"),
        said(T2, who="bob", severity="critical", note="exploited at a client"),
        said(T3, who="carol", sectors=("health",)),
    ]
    labels = labelling.effective_labels(PREDICTION, history)
    assert labels.topics == ("vulnerability",)  # alice: nobody said topics since
    assert labels.severity == "critical"  # bob overrides alice
    assert labels.sectors == ("health",)  # carol overrides the model
    assert labels.origins["topics"] == Origin("consultant", "alice", T1)
    assert labels.origins["severity"] == Origin("consultant", "bob", T2, "exploited at a client")
    assert labels.by_consultant


def test_an_unclassified_item_has_only_what_consultants_said() -> None:
    labels = labelling.effective_labels(None, [said(T1, severity="low")])
    assert (labels.topics, labels.sectors, labels.severity) == (None, None, "low")
    assert set(labels.origins) == {"severity"}
    assert labelling.effective_labels(None, []) == EffectiveLabels()


@pytest.mark.parametrize(
    ("axes", "current", "expected"),
    [
        ({"severity": "high"}, PREDICTION, []),
        ({"topics": ("vulnerability", "exploited")}, PREDICTION, []),
        ({"topics": ("phishing",)}, PREDICTION, ["unknown topic 'phishing'"]),
        ({"severity": "urgent"}, PREDICTION, ["unknown severity 'urgent'"]),
        (
            {"topics": ("off_topic", "ai")},
            PREDICTION,
            ["off_topic cannot be combined", "concerns no sector"],
        ),
        # off_topic alone: normalised to "no sectors", so the model's sectors do not clash
        ({"topics": ("off_topic",)}, PREDICTION, []),
        ({"topics": ("off_topic",), "sectors": ("health",)}, PREDICTION, ["concerns no sector"]),
        ({"sectors": ()}, PREDICTION, ["sectors may be empty only for off_topic"]),
        ({}, PREDICTION, ["say at least one"]),
        # no model yet: the axes said are checked alone
        ({"sectors": ("health",)}, None, []),
        ({"sectors": ("dentists",)}, None, ["unknown sector 'dentists'"]),
    ],
)
def test_problems_of_a_new_label(
    axes: dict[str, Any], current: ModelLabels | None, expected: list[str]
) -> None:
    label = labelling.normalised(said(T1, **axes))
    found = labelling.problems(label, labelling.effective_labels(current, []))
    assert len(found) == len(expected), found
    for problem, words in zip(found, expected, strict=True):
        assert words in problem


def test_a_problem_on_an_axis_left_to_the_model_names_it() -> None:
    off_topic = ModelLabels("i1", "m1", ("off_topic",), (), "info", {}, T0)
    [problem] = labelling.problems(
        said(T1, topics=("vulnerability",)), labelling.effective_labels(off_topic, [])
    )
    assert "sectors may be empty only for off_topic" in problem
    assert "sectors [] from model" in problem


@pytest.mark.parametrize(
    ("text", "expected"),
    [(None, None), ("", ()), ("a, b,,a ", ("a", "b")), ("health", ("health",))],
)
def test_parse_labels(text: str | None, expected: tuple[str, ...] | None) -> None:
    assert labelling.parse_labels(text) == expected


# --- the store -----------------------------------------------------------------------------


@pytest.fixture
def db(tmp_path: Path) -> Path:
    return tmp_path / "var" / "techwatch.duckdb"


def _store(db: Path, *identities: str) -> list[str]:
    with open_writer(db) as writer:
        items = [item("s1", identity, title=f"title {identity}") for identity in identities]
        writer.write_outcomes("run", [outcome("s1", items)], [], T0)
    with open_reader(db) as reader:
        return sorted(r["id"] for r in reader.items(limit=100))


def _predict(item_id: str, version: str, topics: list[str], severity: str) -> dict[str, Any]:
    return {
        "item_id": item_id,
        "model_version": version,
        "topics": topics,
        "sectors": [] if topics == ["off_topic"] else ["all"],
        "severity": severity,
        "scores": {topics[0]: 0.9, severity: 0.6},
        "classified_at": T1,
    }


def test_history_is_appended_and_read_back_oldest_first(db: Path) -> None:
    [a, b] = _store(db, "a", "b")
    with open_writer(db) as writer:
        first = writer.add_label(ConsultantLabel(a, "alice", T1, severity="high").to_row())
        second = writer.add_label(ConsultantLabel(a, "bob", T2, topics=("breach",)).to_row())
        writer.add_label(ConsultantLabel(b, "bob", T2, sectors=()).to_row())
    assert second > first
    with open_reader(db) as reader:
        history = reader.label_history([a])
        everything = reader.label_history()
    assert list(history) == [a]
    assert [(r["labelled_by"], r["severity"], r["topics"]) for r in history[a]] == [
        ("alice", "high", None),
        ("bob", None, ["breach"]),
    ]
    assert everything[b][0]["sectors"] == []  # "no sectors" is stored, not confused with NULL
    assert set(everything) == {a, b}


def test_a_label_for_an_unknown_item_is_refused_and_nothing_is_written(db: Path) -> None:
    _store(db, "a")
    with open_writer(db) as writer, pytest.raises(StorageError, match="no item with id 'nope'"):
        writer.add_label(ConsultantLabel("nope", "alice", T1, severity="low").to_row())
    with open_reader(db) as reader:
        assert reader.label_history() == {}


def test_a_prediction_is_replaced_and_listing_filters_on_effective_labels(db: Path) -> None:
    [a, b] = _store(db, "a", "b")
    with open_writer(db) as writer:
        writer.write_predictions([_predict(a, "m1", ["vulnerability"], "high")])
        writer.write_predictions(
            [_predict(a, "m2", ["product_update"], "info"), _predict(b, "m2", ["breach"], "high")]
        )
        writer.add_label(ConsultantLabel(b, "alice", T2, severity="low").to_row())
        writer.add_label(
            ConsultantLabel(b, "alice", T3, topics=("off_topic",), sectors=()).to_row()
        )
    with open_reader(db) as reader:
        stored = reader.predictions([a, b])
        history = reader.label_history()

        def ids(**filters: Any) -> list[str]:
            return sorted(r["id"] for r in reader.items_labelled(**filters))

        listed = {r["id"]: r for r in reader.items_labelled()}
        assert ids(topic="product_update") == [a]
        assert ids(topic="breach") == []  # the consultant changed b's topics
        assert ids(topic="off_topic") == [b]
        assert ids(severity="high") == []
        assert ids(severity="low") == [b]
        assert ids(sector="all") == [a]
        assert ids(topic="vulnerability") == []  # m1's row was replaced
    assert stored[a]["model_version"] == "m2" and stored[a]["scores"]["product_update"] == 0.9
    # The SQL of the listing and the pure rule agree on every item.
    for item_id, row in listed.items():
        prediction = labelling.model_labels(stored[item_id])
        records = [labelling.consultant_label(r) for r in history.get(item_id, [])]
        expected = labelling.effective_labels(prediction, records)
        assert tuple(row["topics"]) == expected.topics
        assert tuple(row["sectors"]) == expected.sectors
        assert row["severity"] == expected.severity
        assert row["labelled"] == expected.by_consultant
