"""SharedFacts, a bulletin's facts kept as one template: they read, compare, hash and pickle
as the tuple of facts they stand for."""

from __future__ import annotations

import pickle
from dataclasses import replace
from datetime import UTC, datetime

import pytest

from techwatch.types import Affected, ParsedFeed, ParsedItem, SharedFacts, VulnFacts

TEMPLATE = VulnFacts(
    "",
    published=datetime(2026, 11, 28, tzinfo=UTC),
    affected=(Affected("Mozilla", "Firefox", ("< 134",)),),
    ssvc=(("Exploitation", "active"),),
    references=("https://vendor.example/a", "https://vendor.example/b"),
)
FACTS = SharedFacts(
    TEMPLATE,
    ("CVE-2026-0001", "CVE-2026-0002", "CVE-2026-0003", "CVE-2026-0004"),
    ("https://cve.example/1", None, "https://vendor.example/b", ""),
)
#: The same facts one by one, as the parsers built them before.
TUPLE = (
    replace(
        TEMPLATE,
        vuln_id="CVE-2026-0001",
        references=("https://cve.example/1", *TEMPLATE.references),
    ),
    replace(TEMPLATE, vuln_id="CVE-2026-0002"),
    replace(TEMPLATE, vuln_id="CVE-2026-0003"),
    replace(TEMPLATE, vuln_id="CVE-2026-0004"),
)


def test_they_read_as_their_tuple() -> None:
    assert tuple(FACTS) == TUPLE
    assert len(FACTS) == 4
    assert FACTS[0] == TUPLE[0] and FACTS[-1] == TUPLE[-1]
    assert FACTS[1:3] == TUPLE[1:3]
    assert [f.vuln_id for f in FACTS] == list(FACTS.vuln_ids)


def test_they_compare_and_hash_as_their_tuple() -> None:
    assert FACTS == TUPLE and TUPLE == FACTS
    assert hash(FACTS) == hash(TUPLE)
    assert TUPLE[:3] != FACTS and replace(FACTS, links=(None,) * 4) != FACTS
    assert SharedFacts(TEMPLATE, (), ()) == ()
    assert list(TUPLE) != FACTS  # as a tuple compares with a list


def test_items_holding_them_equal_items_holding_the_tuple() -> None:
    item = ParsedItem("s", "x", None, None, "t", "", "", None, None, facts=FACTS)
    assert item == replace(item, facts=TUPLE)
    assert hash(item) == hash(replace(item, facts=TUPLE))


def test_they_cross_processes_in_their_form() -> None:
    feed = ParsedFeed(
        "s", (ParsedItem("s", "x", None, None, "t", "", "", None, None, facts=FACTS),), 1
    )
    back = pickle.loads(pickle.dumps(feed))
    assert isinstance(back.items[0].facts, SharedFacts)
    assert back == feed and tuple(back.items[0].facts) == TUPLE
    bulky = pickle.dumps(replace(feed, items=(replace(feed.items[0], facts=TUPLE),)))
    assert len(pickle.dumps(feed)) < len(bulky)


def test_one_link_per_vulnerability() -> None:
    with pytest.raises(ValueError, match="one link"):
        SharedFacts(TEMPLATE, ("CVE-2026-0001",), ())
