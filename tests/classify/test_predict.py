"""The taxonomy's rules on top of the scores: pure decisions, no model needed."""

from __future__ import annotations

import pytest

from techwatch.classify.predict import decide

THRESHOLDS = {
    "topics": {"vulnerability": 0.4, "outage": 0.4, "off_topic": 0.5},
    "sectors": {"all": 0.5, "health": 0.3},
}


def _scores(**values: float) -> dict[str, float]:
    base = {"vulnerability": 0.0, "outage": 0.0, "off_topic": 0.0, "all": 0.0, "health": 0.0}
    return {**base, "info": 0.1, "low": 0.2, "medium": 0.6, "high": 0.1, **values}


def test_off_topic_alone_and_without_sectors_when_it_is_the_most_probable() -> None:
    topics, sectors, _ = decide(_scores(off_topic=0.9, outage=0.45, all=0.8), THRESHOLDS)
    assert topics == ("off_topic",)
    assert sectors == ()


def test_off_topic_is_dropped_when_a_real_topic_is_more_probable() -> None:
    topics, sectors, _ = decide(_scores(off_topic=0.6, outage=0.7, health=0.35), THRESHOLDS)
    assert topics == ("outage",)
    assert sectors == ("health",)


def test_nothing_over_threshold_still_gives_one_topic_and_one_sector() -> None:
    topics, sectors, severity = decide(_scores(vulnerability=0.3, outage=0.1, all=0.2), THRESHOLDS)
    assert topics == ("vulnerability",)
    assert sectors == ("all",)
    assert severity == "medium"


def test_several_topics_and_sectors_pass_together() -> None:
    scores = _scores(vulnerability=0.8, outage=0.5, all=0.9, health=0.4)
    assert decide(scores, THRESHOLDS)[:2] == (("vulnerability", "outage"), ("all", "health"))


CALM = {**THRESHOLDS, "topics": {**THRESHOLDS["topics"], "product_update": 0.4}}


@pytest.mark.parametrize(
    ("topic", "expected"),
    [
        ("off_topic", "info"),  # concerns nobody, whatever the severity scores say
        ("product_update", "medium"),  # no risk topic: high and critical are not allowed
        ("vulnerability", "high"),  # a risk: the most probable severity
    ],
)
def test_severity_is_bounded_by_the_topics(topic: str, expected: str) -> None:
    scores = {**_scores(all=0.9), "product_update": 0.0, topic: 0.9}
    scores.update(info=0.1, low=0.05, medium=0.3, high=0.5, critical=0.05)
    assert decide(scores, CALM)[2] == expected
