"""techwatch/classify/labels/realnews.jsonl and realnews_train.jsonl: hand labels of real news
items, valid against the taxonomy; the TEST half stays the same items as labels are added.

The files hold pointers into ../shared/realdata and labels only; with realdata present, every
pointer must still find its item as techwatch/classify/realnews.py re-parses it.
"""

from __future__ import annotations

import hashlib
import json
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from techwatch.classify import realnews as module
from techwatch.taxonomy import EXCLUSIVE_TOPIC, SECTOR_KEYS, SEVERITY_KEYS, TOPIC_KEYS

LABELS = module.LABELS
TRAIN_LABELS = module.TRAIN_LABELS
KEYS = {"file", "identity", "topics", "sectors", "severity"}
KEV_FEED = "feeds/security/netsec-rss_kev-aggregate_500items.xml"
PINNED_PARTS = ["dev", "test", "dev", "dev"]
# The TEST half as it was measured before the train part existed: its 136 keys, sorted, hashed.
TEST_ITEMS = 136
TEST_DIGEST = "0b0a7ec0b27fc75b9523a6bf3bd5b9988db574aa0e37c34b511ee1e3dab71989"


def rows(path: Path = LABELS) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def every_row() -> list[dict[str, Any]]:
    return [*rows(), *rows(TRAIN_LABELS)]


def problems(row: dict[str, Any]) -> list[str]:
    """What is wrong with one label line under TAXONOMY.md's rules (empty when valid)."""
    out = []
    if set(row) != KEYS:
        return [f"keys {sorted(row)}"]
    topics, sectors = row["topics"], row["sectors"]
    if not topics or len(set(topics)) != len(topics) or not set(topics) <= set(TOPIC_KEYS):
        out.append(f"topics {topics}")
    if EXCLUSIVE_TOPIC in topics and len(topics) > 1:
        out.append("off_topic combined with another topic")
    if len(set(sectors)) != len(sectors) or not set(sectors) <= set(SECTOR_KEYS):
        out.append(f"sectors {sectors}")
    if (not sectors) != (EXCLUSIVE_TOPIC in topics):
        out.append("sectors must be empty exactly when off_topic")
    if row["severity"] not in SEVERITY_KEYS:
        out.append(f"severity {row['severity']}")
    if not row["file"].startswith(("feeds/", "html/")) or ".." in row["file"]:
        out.append(f"file {row['file']}")
    return out


@pytest.mark.parametrize(
    ("row", "wrong"),
    [
        ({"topics": ["off_topic", "ai"], "sectors": [], "severity": "info"}, True),
        ({"topics": ["ai"], "sectors": [], "severity": "info"}, True),
        ({"topics": ["off_topic"], "sectors": ["all"], "severity": "info"}, True),
        ({"topics": ["malware"], "sectors": ["all"], "severity": "info"}, True),
        ({"topics": ["ai"], "sectors": ["dentists"], "severity": "info"}, True),
        ({"topics": ["ai"], "sectors": ["all"], "severity": "urgent"}, True),
        ({"topics": [], "sectors": ["all"], "severity": "info"}, True),
        ({"topics": ["ai"], "sectors": ["all"], "severity": "info"}, False),
        ({"topics": ["off_topic"], "sectors": [], "severity": "info"}, False),
    ],
)
def test_the_rules_catch_what_the_taxonomy_forbids(row: dict[str, Any], wrong: bool) -> None:
    assert bool(problems({"file": "feeds/x.rss", "identity": "i", **row})) is wrong


@pytest.mark.parametrize("path", [LABELS, TRAIN_LABELS], ids=["realnews", "realnews_train"])
def test_every_label_line_is_valid(path: Path) -> None:
    labelled = rows(path)
    bad = {f"line {n}": problems(row) for n, row in enumerate(labelled, 1) if problems(row)}
    assert bad == {}


def test_every_item_is_labelled_once_across_both_files() -> None:
    keys = Counter((row["file"], row["identity"]) for row in every_row())
    assert [k for k, n in keys.items() if n > 1] == []


def test_enough_items_and_at_most_twenty_of_the_kev_aggregate() -> None:
    labelled = rows()
    assert len(labelled) >= 250
    assert sum(row["file"] == KEV_FEED for row in labelled) <= 20
    assert sum(row["topics"] == [EXCLUSIVE_TOPIC] for row in labelled) >= 50  # negatives too


def test_the_train_part_adds_items_without_flooding_one_kind() -> None:
    labelled = rows(TRAIN_LABELS)
    assert len(labelled) >= 250
    # KEV entries all teach the same topics and severity: at most a quarter of the part (their
    # sectors, by product market, are what they add).
    assert sum(row["file"] == KEV_FEED for row in labelled) <= len(labelled) // 4
    assert {row["file"].split("/")[1] for row in labelled} >= {"vendor", "tech-news", "lang-de"}


def test_the_test_half_is_the_same_136_items() -> None:
    """Labels added later go to the train part: the TEST half never changes (pinned keys)."""
    keys = sorted(module.row_key(row) for row in every_row() if module.in_part(row, "test"))
    assert len(keys) == TEST_ITEMS
    assert hashlib.sha256("\n".join(keys).encode()).hexdigest() == TEST_DIGEST
    assert all(module.part(module.row_key(row)) == "train" for row in rows(TRAIN_LABELS))


@pytest.mark.parametrize("path", [LABELS, TRAIN_LABELS], ids=["realnews", "realnews_train"])
def test_every_identity_resolves_to_an_item_of_its_file(realdata: Path, path: Path) -> None:
    examples, missing = module.examples(realdata, rows(path))
    assert missing == []
    assert len(examples) == len(rows(path))
    assert all(e.document.title for e in examples)


def test_dev_and_test_halves_are_stable_and_balanced() -> None:
    keys = [f"{row['file']}#{row['identity']}" for row in rows()]
    parts = Counter(module.part(key) for key in keys)
    assert set(parts) == {"dev", "test"}
    assert abs(parts["dev"] - parts["test"]) <= 0.15 * len(keys)
    # a hash of the key alone: an item keeps its side whatever is added (pinned values)
    assert [module.part(f"feeds/a.xml#{n}") for n in range(1, 5)] == PINNED_PARTS


def test_no_seed_example_copies_an_evaluation_item_title(realdata: Path) -> None:
    """Seed examples are written by hand: none may take the title of a labelled real item."""
    from techwatch.classify.corpus import read_examples, seed_files

    examples, _ = module.examples(realdata, every_row())
    real = {_words(e.document.title) for e in examples} - {""}
    seeded = {_words(e.document.title) for e in read_examples(seed_files())}
    assert not real & seeded


def _words(title: str) -> str:
    return " ".join("".join(c for c in title.lower() if c.isalnum() or c.isspace()).split())
