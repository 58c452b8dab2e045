"""Hashed n-grams computed once per batch for the three axes: same results as each pipeline."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import MaxAbsScaler

from techwatch.classify import Document, Model, classify, read_examples
from techwatch.classify.artefact import load, save
from techwatch.classify.model import build_features, to_frame
from techwatch.classify.predict import axis_probabilities, decide

AXES = ("topics", "sectors", "severity")
DOCUMENTS = [
    Document("q1", "Faille critique dans Exchange Server", "Mise à jour urgente, CVE-2026-1234."),
    Document("q2", "Störung bei Swisscom", "E-Mail und Anmeldung seit Stunden nicht erreichbar."),
    Document("q3", "FC Basel wins the derby", "A late goal in the stadium."),
    Document("q4", "", ""),
    Document(
        "q5", "Phishing: fake UBS e-mails", "Customers asked to confirm their e-banking login."
    ),
]


def test_shared_probabilities_equal_each_pipelines_own(tiny_model: Model) -> None:
    frame = to_frame(DOCUMENTS)
    cache: dict = {}
    shared = axis_probabilities(tiny_model, frame, cache)
    for axis in AXES:
        assert np.array_equal(shared[axis], tiny_model.pipelines[axis].predict_proba(frame))
    # Four hashed blocks (title/text x words/chars) for the three axes, not twelve.
    assert len(cache) == 4


def test_classify_gives_what_the_per_axis_path_gave(tiny_model: Model) -> None:
    """Scores are each pipeline's probabilities rounded to 4 places; labels follow from them."""
    frame = to_frame(DOCUMENTS)
    predictions = classify(tiny_model, DOCUMENTS)
    for axis in AXES:
        proba = tiny_model.pipelines[axis].predict_proba(frame)
        for row, prediction in enumerate(predictions):
            for j, label in enumerate(tiny_model.labels[axis]):
                assert prediction.scores[label] == round(float(proba[row, j]), 4)
    for prediction in predictions:
        assert (prediction.topics, prediction.sectors, prediction.severity) == decide(
            prediction.scores, tiny_model.thresholds
        )
        assert all(isinstance(v, float) for v in prediction.scores.values())


def test_documents_classified_in_chunks_get_what_one_chunk_gave(
    tiny_model: Model, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Features are built FEATURE_CHUNK documents at a time (memory): chunks of 2, 2 and 1
    give the labels and scores of all five at once, in input order."""
    whole = classify(tiny_model, DOCUMENTS)
    monkeypatch.setattr("techwatch.classify.predict.FEATURE_CHUNK", 2)
    assert classify(tiny_model, DOCUMENTS) == whole
    assert [p.id for p in whole] == [d.id for d in DOCUMENTS]


def test_a_model_round_tripped_through_skops_classifies_the_same(
    tiny_model: Model, tmp_path: Path
) -> None:
    loaded = load(save(tiny_model, tmp_path / "v1"))
    assert classify(loaded, DOCUMENTS) == classify(tiny_model, DOCUMENTS)
    cache: dict = {}
    axis_probabilities(loaded, to_frame(DOCUMENTS), cache)
    assert len(cache) == 4  # the loaded pipelines' hashers are recognised as the same


def test_a_pipeline_of_another_shape_takes_the_plain_path(tiny_model: Model, tiny_file) -> None:
    examples = [e for e in read_examples([tiny_file]) if e.severity is not None]
    other = Pipeline(
        [
            ("features", build_features(10)),
            ("scale", MaxAbsScaler()),
            ("classifier", LogisticRegression(max_iter=500)),
        ]
    ).fit(to_frame([e.document for e in examples]), [e.severity for e in examples])
    model = Model(
        {**tiny_model.pipelines, "severity": other},
        {**tiny_model.labels, "severity": tuple(other.classes_)},
        tiny_model.thresholds,
    )
    frame = to_frame(DOCUMENTS)
    shared = axis_probabilities(model, frame)
    assert np.array_equal(shared["severity"], other.predict_proba(frame))
    assert np.array_equal(shared["topics"], tiny_model.pipelines["topics"].predict_proba(frame))


def test_an_empty_batch_classifies_to_nothing(tiny_model: Model) -> None:
    assert classify(tiny_model, []) == []
