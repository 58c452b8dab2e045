"""From probabilities to labels: the taxonomy's rules applied to the model's scores.

The pipelines only give probabilities; `decide` turns one item's scores into a valid labelling
(off_topic exclusive, at least one topic, at least one sector unless off_topic). It is pure, so
the rules are tested without a model.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from techwatch.classify.corpus import Document
from techwatch.classify.model import LABEL_SET, MULTI_LABEL_AXES, Model, to_frame
from techwatch.taxonomy import EXCLUSIVE_TOPIC

_DECIMALS = 4


@dataclass(frozen=True, slots=True)
class Prediction:
    """One classify output line."""

    id: str
    topics: tuple[str, ...]
    sectors: tuple[str, ...]
    severity: str
    scores: dict[str, float]

    def to_json(self) -> dict[str, Any]:
        """The contract's shape: id, topics, sectors, severity, scores {label: probability}."""
        return {
            "id": self.id,
            "topics": list(self.topics),
            "sectors": list(self.sectors),
            "severity": self.severity,
            "scores": self.scores,
        }


def classify(model: Model, documents: Sequence[Document]) -> list[Prediction]:
    """Label every document, in input order."""
    if not documents:
        return []
    scores = _scores(model, documents)
    return [
        Prediction(document.id, *decide(row, model.thresholds), scores=row)
        for document, row in zip(documents, scores, strict=True)
    ]


def decide(
    scores: Mapping[str, float], thresholds: Mapping[str, Mapping[str, float]]
) -> tuple[tuple[str, ...], tuple[str, ...], str]:
    """(topics, sectors, severity) for one item from its scores and the tuned thresholds."""
    topics = _topics(scores, thresholds["topics"])
    sectors = () if topics == (EXCLUSIVE_TOPIC,) else _sectors(scores, thresholds["sectors"])
    severity = max(LABEL_SET["severity"], key=lambda label: scores.get(label, 0.0))
    return topics, sectors, severity


def _topics(scores: Mapping[str, float], thresholds: Mapping[str, float]) -> tuple[str, ...]:
    """Topics over their threshold; off_topic wins alone only if it is the most probable."""
    passed = _passing(scores, thresholds)
    real = [t for t in passed if t != EXCLUSIVE_TOPIC]
    if EXCLUSIVE_TOPIC in passed and all(scores[EXCLUSIVE_TOPIC] >= scores[t] for t in real):
        return (EXCLUSIVE_TOPIC,)
    if real:
        return tuple(real)
    return (_most_probable(scores, thresholds),)


def _sectors(scores: Mapping[str, float], thresholds: Mapping[str, float]) -> tuple[str, ...]:
    """Sectors over their threshold, else the most probable one: never empty for real topics."""
    return tuple(_passing(scores, thresholds)) or (_most_probable(scores, thresholds),)


def _passing(scores: Mapping[str, float], thresholds: Mapping[str, float]) -> list[str]:
    return [label for label, cut in thresholds.items() if scores.get(label, 0.0) >= cut]


def _most_probable(scores: Mapping[str, float], thresholds: Mapping[str, float]) -> str:
    return max(thresholds, key=lambda label: scores.get(label, 0.0))


def _scores(model: Model, documents: Sequence[Document]) -> list[dict[str, float]]:
    """Probability of every taxonomy label per document; labels the model never learned get 0."""
    frame = to_frame(documents)
    rows: list[dict[str, float]] = [
        {label: 0.0 for keys in LABEL_SET.values() for label in keys} for _ in documents
    ]
    for axis in (*MULTI_LABEL_AXES, "severity"):
        proba = np.asarray(model.pipelines[axis].predict_proba(frame), dtype=float)
        for j, label in enumerate(model.labels[axis]):
            for row, value in zip(rows, proba[:, j], strict=True):
                row[label] = round(float(value), _DECIMALS)
    return rows
