"""The label set in code is the one of ../shared/TAXONOMY.md, and its rules hold."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from techwatch.taxonomy import (
    PRIORITY_KEYS,
    SECTOR_KEYS,
    SEVERITY_KEYS,
    TOPIC_KEYS,
    TOPICS,
    label_problems,
)

TAXONOMY_MD = Path(__file__).resolve().parents[2] / "shared" / "TAXONOMY.md"


def _section_labels(text: str, heading: str) -> list[str]:
    """The backticked labels in the first column of the table under `heading`."""
    section = text.split(heading, 1)[1].split("\n## ", 1)[0]
    return re.findall(r"^\| `([a-z_]+)` \|", section, flags=re.MULTILINE)


def test_labels_match_the_shared_taxonomy() -> None:
    if not TAXONOMY_MD.is_file():
        pytest.skip(f"{TAXONOMY_MD} not found")
    text = TAXONOMY_MD.read_text(encoding="utf-8")
    assert tuple(_section_labels(text, "## topics")) == TOPIC_KEYS
    assert tuple(_section_labels(text, "## sectors")) == SECTOR_KEYS
    assert tuple(_section_labels(text, "## severity")) == SEVERITY_KEYS
    assert set(_section_labels(text, "## priority")) == set(PRIORITY_KEYS)


def test_every_label_has_three_display_names() -> None:
    for label in TOPICS:
        assert all(label.name(lang) for lang in ("fr", "de", "en"))
    assert TOPICS[0].name("it") == TOPICS[0].fr, "French is the default"


@pytest.mark.parametrize(
    ("topics", "sectors", "severity", "problem"),
    [
        (["vulnerability"], ["all"], "high", None),
        (["off_topic"], [], "info", None),
        ([], ["all"], "low", "no topic"),
        (["off_topic", "ai"], [], "info", "off_topic cannot be combined"),
        (["off_topic"], ["health"], "info", "off_topic concerns no sector"),
        (["breach"], [], "high", "sectors may be empty only for off_topic"),
        (["hacking"], ["all"], "high", "unknown topic 'hacking'"),
        (["breach"], ["banks"], "high", "unknown sector 'banks'"),
        (["breach"], ["finance"], "severe", "unknown severity 'severe'"),
    ],
)
def test_label_rules(
    topics: list[str], sectors: list[str], severity: str, problem: str | None
) -> None:
    problems = label_problems(topics, sectors, severity)
    if problem is None:
        assert problems == []
    else:
        assert any(problem in p for p in problems), problems
