"""Signs handed to grouping (computed by the flow from the collected items, beside the writes)
are exactly those grouping would compute from the stored items: it takes them by lead, and
signs any item whose stored lead none was handed for."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import duckdb
import numpy as np
import pytest

from techwatch.storage import open_writer
from techwatch.stories.grouping import StoryItem
from techwatch.stories.neardup import LEAD_CHARS, lead, text_signs
from techwatch.stories.run import group_pending, sign
from techwatch.stories.signs import Signs, leads_of, pack, unpack
from tests.storage.factories import T0, outcome
from tests.storage.test_stories_store import WIRE, WIRE_EDITED, store, story_item

# Past the lead's 300 characters, with what a character count may disagree on: accents
# written as combining marks, characters outside the BMP, CJK.
LONG = "Fu\u0308r Ärzte 🏥 — 病院 " * 40
NIGHT = [
    story_item("press", "wire", title="Swiss hospital hit", text=WIRE),
    story_item("blog", "copy", title="Swiss hospital hit", text=WIRE_EDITED),
    story_item("cert", "long", "CVE-2026-0001", title="Ärzte 🏥", text=LONG),
    story_item("blog", "short", title="", text="ab"),
]


def pending_items(db: Path) -> list[StoryItem]:
    with open_writer(db) as writer:
        return [item for item, _ in writer.story_pending(100)]


def story_rows(db: Path) -> list[tuple[object, ...]]:
    with duckdb.connect(str(db), read_only=True) as conn:
        return conn.execute(
            "SELECT item_id, story_id, reason, score, via FROM story_items ORDER BY item_id"
        ).fetchall()


def test_the_collected_items_leads_are_those_grouping_reads_back(tmp_path: Path) -> None:
    db = tmp_path / "store.duckdb"
    store(db, T0, *NIGHT)
    collected = leads_of([outcome("press", NIGHT[:1]), outcome("x", NIGHT[1:])])
    read_back = [lead(item.title, item.text) for item in pending_items(db)]
    assert len(LONG) > LEAD_CHARS
    assert sorted(collected) == sorted(read_back)


def test_handed_signs_are_taken_by_lead_and_the_others_computed(tmp_path: Path) -> None:
    db = tmp_path / "store.duckdb"
    store(db, T0, *NIGHT)
    items = pending_items(db)
    leads = [lead(item.title, item.text) for item in items]
    marked = ((-1,), np.array([7], dtype=np.uint32))  # no real sign looks like this
    handed = {leads[0]: marked, "another": marked, **unpack([pack(leads[1:2])])}
    signed, grams = sign([*items, items[1]], handed)  # one lead twice: taken, then computed
    computed, computed_grams = sign([*items, items[1]])
    assert signed[0].bands == (-1,) and grams[items[0].item_id] is marked[1]
    assert signed[1:] == computed[1:]
    assert list(handed) == ["another"], "what was taken is no longer held"
    for item in items[1:]:
        assert np.array_equal(grams[item.item_id], computed_grams[item.item_id])


def test_grouping_with_the_collected_signs_stores_the_same_stories(tmp_path: Path) -> None:
    handed, computed = tmp_path / "handed.duckdb", tmp_path / "computed.duckdb"
    for db in (handed, computed):
        store(db, T0, *NIGHT)
    signs = [pack(leads_of([outcome("x", NIGHT[:2])])), pack(leads_of([outcome("x", NIGHT[2:])]))]
    grouped = group_pending(handed, now=T0, signs=signs)
    assert replace(grouped, seconds=0) == replace(group_pending(computed, now=T0), seconds=0)
    assert story_rows(handed) == story_rows(computed)
    assert len({story for _, story, *_ in story_rows(handed)}) == 3  # wire and copy together


def test_grouping_takes_the_signs_it_is_handed(tmp_path: Path) -> None:
    """Two unrelated texts handed one sign (as if they were copies) end up in one story."""
    db = tmp_path / "store.duckdb"
    apart = [story_item("press", "a", text="Zimbra flaw"), story_item("blog", "b", text="Rain")]
    store(db, T0, *apart)
    leads = [text.encode() for text in leads_of([outcome("x", apart)])]
    one = pack([leads[0].decode()])
    alike = Signs(
        leads=b"".join(leads),
        lead_ends=np.cumsum([len(text) for text in leads]),
        keys=np.repeat(one.keys, 2, axis=0),
        keyed=np.repeat(one.keyed, 2),
        grams=np.tile(one.grams, 2),
        gram_ends=np.array([1, 2]) * len(one.grams),
    )
    group_pending(db, now=T0, signs=[alike])
    [(_, first, *_), (_, second, *_)] = story_rows(db)
    assert first == second


@pytest.mark.parametrize("parts", [0, 1, 3])
def test_packed_signs_unpack_to_the_computed_ones(parts: int) -> None:
    texts = ["", " ", "ab", "abcde", WIRE, LONG, lead("Ärzte 🏥", LONG)][: 7 if parts else 0]
    cut = [texts[k::parts] for k in range(parts)]
    unpacked = unpack([pack(part) for part in cut])
    keys, grams = text_signs(texts)
    assert list(unpacked) == [text for part in cut for text in part]
    for text, text_keys, text_grams in zip(texts, keys, grams, strict=True):
        assert unpacked[text][0] == text_keys
        assert unpacked[text][1].dtype == np.uint32
        assert np.array_equal(unpacked[text][1], text_grams)
