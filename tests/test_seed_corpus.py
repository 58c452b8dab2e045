"""The seed corpus written for the classifier meets the bar the classification issue sets."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from techwatch.taxonomy import SECTOR_KEYS, SEVERITY_KEYS, TOPIC_KEYS, label_problems

SEED = Path(__file__).resolve().parents[1] / "techwatch" / "classify" / "seed"
KEYS = {"id", "title", "text", "language", "source_type", "topics", "sectors", "severity"}
SOURCE_TYPES = {"advisory", "vendor", "press", "regulation", "status", "blog"}


@pytest.fixture(scope="module")
def corpus() -> list[dict[str, Any]]:
    rows = []
    for path in sorted(SEED.glob("*.jsonl")):
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            row = json.loads(line)
            row["_where"] = f"{path.name}:{number}"
            rows.append(row)
    return rows


def test_every_item_is_well_formed_and_follows_the_taxonomy(corpus: list[dict[str, Any]]) -> None:
    for row in corpus:
        where = row["_where"]
        assert set(row) - {"_where"} == KEYS, where
        assert row["language"] in {"fr", "de", "en"}, where
        assert row["source_type"] in SOURCE_TYPES, where
        assert row["title"].strip() and row["text"].strip(), where
        assert label_problems(row["topics"], row["sectors"], row["severity"]) == [], where


def test_size_languages_and_label_coverage(corpus: list[dict[str, Any]]) -> None:
    assert len(corpus) >= 2000
    languages = Counter(row["language"] for row in corpus)
    assert languages["fr"] >= 0.30 * len(corpus)
    assert languages["de"] >= 0.20 * len(corpus)
    topics = Counter(t for row in corpus for t in row["topics"])
    sectors = Counter(s for row in corpus for s in row["sectors"])
    severities = Counter(row["severity"] for row in corpus)
    assert min(topics[k] for k in TOPIC_KEYS) >= 50, topics
    assert min(sectors[k] for k in SECTOR_KEYS) >= 50, sectors
    assert min(severities[k] for k in SEVERITY_KEYS) >= 50, severities


def test_no_repeated_items(corpus: list[dict[str, Any]]) -> None:
    """Ids and titles are unique; within one annotator's file no two texts open alike. Across
    files two outlets may open a report of the same event the same way, as real ones do."""
    ids = Counter(row["id"] for row in corpus)
    openings = Counter((row["_where"].split(":")[0], row["text"][:60].lower()) for row in corpus)
    titles = Counter(row["title"].strip().lower() for row in corpus)
    assert [i for i, n in ids.items() if n > 1] == []
    assert [t for t, n in titles.items() if n > 1] == []
    assert [o for o, n in openings.items() if n > 1] == []
