"""From probabilities to labels: the taxonomy's rules applied to the model's scores.

The pipelines only give probabilities; `decide` turns one item's scores into a valid labelling
(off_topic exclusive, at least one topic, at least one sector unless off_topic). It is pure, so
the rules are tested without a model. `axis_probabilities` computes the hashed n-grams of a
batch once and gives them to the three axes' own TF-IDF weights and classifiers.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final

import numpy as np
from scipy import sparse
from sklearn.compose import ColumnTransformer
from sklearn.feature_extraction.text import HashingVectorizer
from sklearn.pipeline import Pipeline

from techwatch.classify.corpus import Document
from techwatch.classify.model import LABEL_SET, MULTI_LABEL_AXES, Model, to_frame
from techwatch.taxonomy import EXCLUSIVE_TOPIC

_DECIMALS = 4
# Topics that are risks: only they can make an item high or critical (taxonomy's severity).
RISK_TOPICS: Final = frozenset(
    {"vulnerability", "exploited", "breach", "ransomware", "phishing_fraud", "outage"}
)
CALM_SEVERITIES: Final = ("info", "low", "medium")
# Documents whose n-gram features are built at once; each document's scores depend on it alone.
# The sparse features of 2,000 items of ~2,000 characters held ~150 MiB beside the model (session
# 14, bench probe); 500 at a time: ~53 MiB, 250: ~29 MiB, predictions identical.
FEATURE_CHUNK: Final = 500


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
    """Label every document, in input order, FEATURE_CHUNK documents' features at a time."""
    predictions: list[Prediction] = []
    for start in range(0, len(documents), FEATURE_CHUNK):
        chunk = documents[start : start + FEATURE_CHUNK]
        predictions.extend(
            Prediction(document.id, *decide(row, model.thresholds), scores=row)
            for document, row in zip(chunk, _scores(model, chunk), strict=True)
        )
    return predictions


def decide(
    scores: Mapping[str, float], thresholds: Mapping[str, Mapping[str, float]]
) -> tuple[tuple[str, ...], tuple[str, ...], str]:
    """(topics, sectors, severity) for one item from its scores and the tuned thresholds."""
    topics = _topics(scores, thresholds["topics"])
    off_topic = topics == (EXCLUSIVE_TOPIC,)
    sectors = () if off_topic else _sectors(scores, thresholds["sectors"])
    return topics, sectors, _severity(scores, topics)


def _topics(scores: Mapping[str, float], thresholds: Mapping[str, float]) -> tuple[str, ...]:
    """Topics over their threshold; off_topic wins alone only if it is the most probable.

    Tried on the real news items' DEV half (bench/classify_realnews.py): comparing labels by
    score / threshold and never falling back to off_topic raised off_topic precision (0.69 ->
    0.77) but lost more off_topic recall than it gained, topics micro-F1 0.69 -> 0.67.
    """
    passed = _passing(scores, thresholds)
    real = [t for t in passed if t != EXCLUSIVE_TOPIC]
    if EXCLUSIVE_TOPIC in passed and all(scores[EXCLUSIVE_TOPIC] >= scores[t] for t in real):
        return (EXCLUSIVE_TOPIC,)
    if real:
        return tuple(real)
    return (_most_probable(scores, thresholds),)


def _severity(scores: Mapping[str, float], topics: tuple[str, ...]) -> str:
    """The most probable severity the topics allow.

    Off-topic items concern nobody (info); an item without a risk topic (a release, a price
    change, an end of life) is at most medium, as the taxonomy defines high and critical by
    risks. Severity is learned mostly from CVE descriptions and their CVSS band, whose wording
    made release notes and blog posts read as medium or high.
    """
    if topics == (EXCLUSIVE_TOPIC,):
        return "info"
    allowed = LABEL_SET["severity"] if RISK_TOPICS & set(topics) else CALM_SEVERITIES
    return max(allowed, key=lambda label: scores.get(label, 0.0))


def _sectors(scores: Mapping[str, float], thresholds: Mapping[str, float]) -> tuple[str, ...]:
    """Sectors over their threshold, else the most probable one: never empty for real topics."""
    return tuple(_passing(scores, thresholds)) or (_most_probable(scores, thresholds),)


def _passing(scores: Mapping[str, float], thresholds: Mapping[str, float]) -> list[str]:
    return [label for label, cut in thresholds.items() if scores.get(label, 0.0) >= cut]


def _most_probable(scores: Mapping[str, float], thresholds: Mapping[str, float]) -> str:
    return max(thresholds, key=lambda label: scores.get(label, 0.0))


def _scores(model: Model, documents: Sequence[Document]) -> list[dict[str, float]]:
    """Probability of every taxonomy label per document; labels the model never learned get 0.

    Built as one matrix and turned into dicts once: per-label Python loops cost more than the
    features on short items.
    """
    keys = [label for axis_keys in LABEL_SET.values() for label in axis_keys]
    column = {label: j for j, label in enumerate(keys)}
    matrix = np.zeros((len(documents), len(keys)), dtype=float)
    for axis, proba in axis_probabilities(model, to_frame(documents)).items():
        matrix[:, [column[label] for label in model.labels[axis]]] = proba
    return [dict(zip(keys, row, strict=True)) for row in np.round(matrix, _DECIMALS).tolist()]


def axis_probabilities(
    model: Model, frame: np.ndarray, cache: dict[tuple[str, str], Any] | None = None
) -> dict[str, np.ndarray]:
    """predict_proba of every axis, the hashed n-grams computed once for the three axes.

    The n-gram hashing is most of the cost and is the same for every axis (a HashingVectorizer
    learns nothing); only the TF-IDF weights and the classifier differ per axis. Pipelines of
    another shape (a future structured column, a model saved otherwise) take the plain path.
    `cache` holds the hashed blocks of this frame (by column and hashing parameters).
    """
    shared: dict[tuple[str, str], Any] = {} if cache is None else cache
    result = {}
    for axis in (*MULTI_LABEL_AXES, "severity"):
        pipeline = model.pipelines[axis]
        features = _shareable(pipeline)
        if features is None:
            proba = pipeline.predict_proba(frame)
        else:
            proba = pipeline.steps[-1][1].predict_proba(_transform(features, frame, shared))
        result[axis] = np.asarray(proba, dtype=float)
    return result


def _shareable(pipeline: Pipeline) -> ColumnTransformer | None:
    """The fitted features step when the pipeline is (ColumnTransformer, classifier)."""
    if len(pipeline.steps) != 2:
        return None
    features = pipeline.steps[0][1]
    if not isinstance(features, ColumnTransformer) or features.remainder != "drop":
        return None
    return features


def _transform(features: ColumnTransformer, frame: np.ndarray, shared: dict) -> Any:
    """What `features.transform(frame)` returns, reusing hashed blocks from `shared`.

    Same operations in the same order as ColumnTransformer (transform, weight, hstack to CSR),
    so the probabilities equal the pipeline's own (tests/classify/test_shared_features.py).
    """
    weights = features.transformer_weights or {}
    blocks = []
    for name, transformer, columns in features.transformers_:
        if transformer == "drop" or name == "remainder":
            continue
        block = _hashed(transformer, frame, columns, shared)
        weight = weights.get(name)
        blocks.append(block if weight is None else block * weight)
    if features.sparse_output_:
        return sparse.hstack(blocks).tocsr()
    return np.hstack([b.toarray() if sparse.issparse(b) else b for b in blocks])


def _hashed(transformer: Any, frame: np.ndarray, columns: Any, shared: dict) -> Any:
    """One transformer's output; a leading HashingVectorizer's counts come from the cache."""
    data = frame[:, columns]
    steps = transformer.steps if isinstance(transformer, Pipeline) else []
    if not steps or not isinstance(steps[0][1], HashingVectorizer):
        return transformer.transform(data)
    hashing = steps[0][1]
    key = (repr(columns), repr(sorted(hashing.get_params().items())))
    if key not in shared:
        shared[key] = hashing.transform(data)
    block = shared[key]
    for _, step in steps[1:]:
        block = step.transform(block)
    return block
