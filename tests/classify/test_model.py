"""Training: named steps, partial labels teach only their axis, determinism, held-out metrics."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from techwatch.classify import Model, build_pipeline, classify, read_examples
from techwatch.classify.corpus import Document, Example
from techwatch.classify.model import fit, to_frame, tune_threshold
from tests.classify.conftest import TEST_BITS


def test_the_factory_names_every_step() -> None:
    pipeline = build_pipeline("topics")
    assert list(pipeline.named_steps) == ["features", "classifier"]
    names = [name for name, _, _ in pipeline.named_steps["features"].transformers]
    assert names == ["title_words", "title_chars", "text_words", "text_chars", "cvss_stated"]
    assert list(build_pipeline("severity").named_steps) == ["features", "classifier"]
    with pytest.raises(ValueError, match="unknown axis"):
        build_pipeline("colour")


def test_tuned_threshold_separates_positives_from_negatives() -> None:
    truth = np.array([1, 1, 1, 0, 0, 0])
    proba = np.array([0.9, 0.35, 0.3, 0.2, 0.1, 0.05])
    assert 0.2 < tune_threshold(truth, proba) <= 0.3


def test_training_metadata_records_heldout_metrics_and_thresholds(tiny_model: Model) -> None:
    metadata = tiny_model.metadata
    assert metadata["heldout"]["test"] > 0
    assert {"topics", "sectors", "severity"} <= set(metadata["metrics"])
    assert 0.0 <= metadata["metrics"]["severity"]["accuracy"] <= 1.0
    assert set(metadata["thresholds"]["topics"]) == set(tiny_model.labels["topics"])
    assert "off_topic" in tiny_model.labels["topics"]


def test_a_severity_only_example_is_not_a_negative_for_topics(tiny_file) -> None:
    """Severity-only copies of vulnerability items change the severity model, nothing else."""
    examples = read_examples([tiny_file])
    vulnerable = [e for e in examples if e.topics == ("vulnerability",)]
    extra = [
        Example(replace(e.document, id=f"{e.document.id}-sev"), severity="low") for e in vulnerable
    ]
    base, more = (
        fit(examples, seed=0, bits=TEST_BITS),
        fit([*examples, *extra], seed=0, bits=TEST_BITS),
    )
    frame = to_frame([e.document for e in vulnerable])
    for axis in ("topics", "sectors"):
        assert np.array_equal(
            base.pipelines[axis].predict_proba(frame), more.pipelines[axis].predict_proba(frame)
        )
        assert base.thresholds[axis] == more.thresholds[axis]
    assert not np.array_equal(
        base.pipelines["severity"].predict_proba(frame),
        more.pipelines["severity"].predict_proba(frame),
    )


def test_an_example_weight_sets_how_much_it_pulls_the_severity_axis(tiny_file) -> None:
    """Light rows (the many CVE descriptions) move the severity model less than full ones."""
    examples = read_examples([tiny_file])
    vulnerable = [e for e in examples if e.topics == ("vulnerability",)]

    def low_probability(weight: float) -> float:
        extra = [
            Example(replace(e.document, id=f"{e.document.id}-sev"), severity="low", weight=weight)
            for e in vulnerable
        ]
        model = fit([*examples, *extra], seed=0, bits=TEST_BITS)
        pipeline = model.pipelines["severity"]
        column = list(pipeline.classes_).index("low")
        proba = pipeline.predict_proba(to_frame([e.document for e in vulnerable]))
        return float(proba[:, column].mean())

    assert low_probability(0.05) < low_probability(1.0) - 0.1


def test_predictions_are_deterministic_for_a_fixed_seed(tiny_file) -> None:
    examples = read_examples([tiny_file])
    documents = [Document("q1", "Faille critique dans Exchange Server", "Mise à jour urgente.")]
    first = classify(fit(examples, seed=7, bits=TEST_BITS), documents)
    second = classify(fit(examples, seed=7, bits=TEST_BITS), documents)
    assert first == second
