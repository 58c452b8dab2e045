"""Metrics of predictions against labelled examples, axis by axis, on the labels each example has.

Used at training time (held-out split, stored in the metadata) and by `techwatch model evaluate`.
Pure: examples and predictions in, a JSON-ready dict out.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from techwatch.classify.corpus import Example
from techwatch.taxonomy import EXCLUSIVE_TOPIC, SECTOR_KEYS, SEVERITY_KEYS, TOPIC_KEYS

if TYPE_CHECKING:
    from techwatch.classify.predict import Prediction


def evaluate(examples: Sequence[Example], predictions: Sequence[Prediction]) -> dict[str, Any]:
    """Per-label P/R/F1, micro and macro F1 per axis; severity accuracy, within-one, confusion."""
    by_id = {p.id: p for p in predictions}
    pairs = [(e, by_id[e.document.id]) for e in examples if e.document.id in by_id]
    topics = [(e.topics, p.topics) for e, p in pairs if e.topics is not None]
    # Sectors are judged on items that are not off topic, as the taxonomy defines them there.
    sectors = [
        (e.sectors, p.sectors)
        for e, p in pairs
        if e.sectors is not None and EXCLUSIVE_TOPIC not in (e.topics or ())
    ]
    severity = [(e.severity, p.severity) for e, p in pairs if e.severity is not None]
    return {
        "topics": multi_label_report(topics, TOPIC_KEYS),
        "sectors": multi_label_report(sectors, SECTOR_KEYS),
        "severity": severity_report(severity),
    }


def multi_label_report(
    pairs: Sequence[tuple[Sequence[str], Sequence[str]]], keys: Sequence[str]
) -> dict[str, Any]:
    """Metrics over the labels present in the truth (an absent label has no recall to measure)."""
    from sklearn.metrics import f1_score, precision_recall_fscore_support

    if not pairs:
        return {"examples": 0}
    truth = _indicator([t for t, _ in pairs], keys)
    predicted = _indicator([p for _, p in pairs], keys)
    present = [j for j, _ in enumerate(keys) if truth[:, j].any()]
    precision, recall, f1, support = precision_recall_fscore_support(
        truth, predicted, labels=present, zero_division=0
    )
    per_label = {
        keys[j]: _prf(precision[i], recall[i], f1[i], support[i]) for i, j in enumerate(present)
    }
    micro = f1_score(truth, predicted, labels=present, average="micro", zero_division=0)
    return {
        "examples": len(pairs),
        "micro_f1": _round(micro),
        "macro_f1": _round(float(np.mean(f1))),
        "per_label": per_label,
    }


def severity_report(pairs: Sequence[tuple[str, str]]) -> dict[str, Any]:
    """Accuracy, within-one-level accuracy (the scale is ordered), per-label F1 and confusion."""
    from sklearn.metrics import confusion_matrix, precision_recall_fscore_support

    if not pairs:
        return {"examples": 0}
    truth = [t for t, _ in pairs]
    predicted = [p for _, p in pairs]
    rank = {label: i for i, label in enumerate(SEVERITY_KEYS)}
    distance = np.array([abs(rank[t] - rank[p]) for t, p in pairs])
    present = [label for label in SEVERITY_KEYS if label in truth]
    precision, recall, f1, support = precision_recall_fscore_support(
        truth, predicted, labels=present, zero_division=0
    )
    return {
        "examples": len(pairs),
        "accuracy": _round(float(np.mean(distance == 0))),
        "within_one": _round(float(np.mean(distance <= 1))),
        "macro_f1": _round(float(np.mean(f1))),
        "per_label": {
            label: _prf(precision[i], recall[i], f1[i], support[i])
            for i, label in enumerate(present)
        },
        "confusion": {
            "labels": list(SEVERITY_KEYS),
            "rows_truth_columns_predicted": confusion_matrix(
                truth, predicted, labels=list(SEVERITY_KEYS)
            ).tolist(),
        },
    }


def _indicator(label_lists: Sequence[Sequence[str]], keys: Sequence[str]) -> np.ndarray:
    return np.array([[key in labels for key in keys] for labels in label_lists], dtype=np.int8)


def _prf(precision: float, recall: float, f1: float, support: int) -> dict[str, Any]:
    return {
        "precision": _round(precision),
        "recall": _round(recall),
        "f1": _round(f1),
        "support": int(support),
    }


def _round(value: float) -> float:
    return round(float(value), 4)
