"""Consultants' labels, and the labels an item effectively has (pure).

A consultant's label says some axes of one item (topics, sectors, severity); None on an axis
means "not said". Labels are kept as a history: per axis, the latest label that says something
wins, and it wins over the model, so an item a consultant labelled shows the consultant's
labels. Kept apart from techwatch.classify so that reading labels never imports scikit-learn.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any, Final, Literal

from techwatch.taxonomy import (
    EXCLUSIVE_TOPIC,
    SECTOR_KEYS,
    SEVERITY_KEYS,
    TOPIC_KEYS,
    label_problems,
)

AXES: Final = ("topics", "sectors", "severity")
Labels = tuple[str, ...]


@dataclass(frozen=True, slots=True)
class ConsultantLabel:
    """One label in an item's history: who said what, when, on which axes."""

    item_id: str
    labelled_by: str
    labelled_at: datetime
    topics: Labels | None = None
    sectors: Labels | None = None
    severity: str | None = None
    note: str | None = None

    def says(self, axis: str) -> bool:
        return getattr(self, axis) is not None

    def to_row(self) -> dict[str, Any]:
        """The shape storage.classes.add_label writes."""
        row = {axis: _listed(getattr(self, axis)) for axis in AXES}
        return {
            "item_id": self.item_id,
            **row,
            "labelled_by": self.labelled_by,
            "labelled_at": self.labelled_at,
            "note": self.note,
        }


@dataclass(frozen=True, slots=True)
class ModelLabels:
    """The model's current labels of one item, as stored."""

    item_id: str
    model_version: str
    topics: Labels
    sectors: Labels
    severity: str
    scores: Mapping[str, float]
    classified_at: datetime


@dataclass(frozen=True, slots=True)
class Origin:
    """Where one axis of the effective labels comes from."""

    by: Literal["consultant", "model"]
    who: str  # the consultant's name, or the model version
    at: datetime
    note: str | None = None


@dataclass(frozen=True, slots=True)
class EffectiveLabels:
    """What an item is labelled, axis by axis, and who said it; None when nobody did."""

    topics: Labels | None = None
    sectors: Labels | None = None
    severity: str | None = None
    origins: Mapping[str, Origin] = field(default_factory=dict)

    @property
    def by_consultant(self) -> bool:
        """Whether a consultant said at least one axis."""
        return any(o.by == "consultant" for o in self.origins.values())

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready: the labels, and per axis who said it and when."""
        return {
            **{axis: _listed(getattr(self, axis)) for axis in AXES},
            "origins": {
                axis: {"by": o.by, "who": o.who, "at": o.at, "note": o.note}
                for axis, o in self.origins.items()
            },
        }


def consultant_label(row: Mapping[str, Any]) -> ConsultantLabel:
    """A history row (storage.classes.label_history) as a record."""
    return ConsultantLabel(
        item_id=row["item_id"],
        labelled_by=row["labelled_by"],
        labelled_at=row["labelled_at"],
        topics=_tupled(row.get("topics")),
        sectors=_tupled(row.get("sectors")),
        severity=row.get("severity"),
        note=row.get("note"),
    )


def model_labels(row: Mapping[str, Any]) -> ModelLabels:
    """A stored prediction row (storage.classes.predictions) as a record."""
    return ModelLabels(
        item_id=row["item_id"],
        model_version=row["model_version"],
        topics=tuple(row["topics"]),
        sectors=tuple(row["sectors"]),
        severity=row["severity"],
        scores=dict(row["scores"]),
        classified_at=row["classified_at"],
    )


def effective_labels(
    prediction: ModelLabels | None, history: Sequence[ConsultantLabel]
) -> EffectiveLabels:
    """Per axis: the latest consultant label that says it, else the model's, else nothing.

    `history` is oldest first. storage.classes.listing applies the same rule in SQL.
    """
    values: dict[str, Any] = {}
    origins: dict[str, Origin] = {}
    for axis in AXES:
        said = [label for label in history if label.says(axis)]
        if said:
            latest = said[-1]
            values[axis] = getattr(latest, axis)
            origins[axis] = Origin(
                "consultant", latest.labelled_by, latest.labelled_at, latest.note
            )
        elif prediction is not None:
            values[axis] = getattr(prediction, axis)
            origins[axis] = Origin("model", prediction.model_version, prediction.classified_at)
    return EffectiveLabels(**values, origins=origins)


def normalised(label: ConsultantLabel) -> ConsultantLabel:
    """Off topic concerns no sector: saying `off_topic` says "no sectors" too."""
    if label.topics == (EXCLUSIVE_TOPIC,) and label.sectors is None:
        return replace(label, sectors=())
    return label


def problems(label: ConsultantLabel, current: EffectiveLabels) -> list[str]:
    """What is wrong with adding `label` to an item whose labels are `current`; empty if fine.

    The labelling that would result (this label over the current one) must follow the
    taxonomy's rules. When an axis stays unknown (no model yet), the axes said are checked alone.
    """
    if not any(label.says(axis) for axis in AXES):
        return ["say at least one of topics, sectors, severity"]
    merged = {axis: getattr(label if label.says(axis) else current, axis) for axis in AXES}
    topics, sectors, severity = merged["topics"], merged["sectors"], merged["severity"]
    if topics is not None and sectors is not None:
        found = label_problems(list(topics), list(sectors), severity)
        return [_with_origin(p, label, current) for p in found]
    found = []
    if topics is not None:
        found += [f"unknown topic {t!r}" for t in topics if t not in TOPIC_KEYS]
        found += ["no topic"] if not topics else []
        if EXCLUSIVE_TOPIC in topics and len(topics) > 1:
            found.append("off_topic cannot be combined with another topic")
    if sectors is not None:
        found += [f"unknown sector {s!r}" for s in sectors if s not in SECTOR_KEYS]
    if severity is not None and severity not in SEVERITY_KEYS:
        found.append(f"unknown severity {severity!r}")
    return found


def parse_labels(text: str | None) -> Labels | None:
    """'a, b' -> ('a', 'b'); '' -> () (explicitly none); None -> None (not said)."""
    if text is None:
        return None
    return tuple(dict.fromkeys(part.strip() for part in text.split(",") if part.strip()))


def top_scores(
    scores: Mapping[str, float], keys: Sequence[str], n: int = 3
) -> list[tuple[str, float]]:
    """The `n` highest scores among `keys`, highest first: what `items show` prints."""
    ranked = sorted(((k, scores.get(k, 0.0)) for k in keys), key=lambda kv: (-kv[1], kv[0]))
    return ranked[:n]


def _with_origin(problem: str, label: ConsultantLabel, current: EffectiveLabels) -> str:
    """Name the axes the label leaves to someone else, since the problem may lie there."""
    kept = [
        f"{axis} {list(getattr(current, axis))} from {current.origins[axis].by}"
        for axis in ("topics", "sectors")
        if not label.says(axis) and axis in current.origins
    ]
    return f"{problem} (kept: {'; '.join(kept)})" if kept else problem


def _tupled(value: Sequence[str] | None) -> Labels | None:
    return None if value is None else tuple(value)


def _listed(value: Labels | str | None) -> list[str] | str | None:
    return list(value) if isinstance(value, tuple) else value
