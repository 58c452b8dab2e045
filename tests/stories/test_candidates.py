"""Candidates read from a real store carry only the band keys the pending chunk holds: the
planner looks up no other, and reading all of them made a large backlog grow quadratically."""

from __future__ import annotations

import random
from datetime import timedelta
from pathlib import Path

import duckdb

from techwatch.storage import open_writer
from techwatch.storage import stories as story_store
from techwatch.stories.grouping import StoryItem
from techwatch.stories.run import group_pending, sign
from tests.storage.factories import T0
from tests.storage.test_stories_store import WIRE, WIRE_EDITED, iid, store, story_item

DAY = timedelta(days=1)
TITLE = "Swiss hospital group hit by cyberattack"


def test_a_candidate_carries_only_the_band_keys_the_chunk_shares(tmp_path: Path) -> None:
    db = tmp_path / "store.duckdb"
    store(db, T0, story_item("press", "wire", title=TITLE, text=WIRE))
    group_pending(db, now=T0)
    copy = story_item("blog", "copy", published=T0 + DAY, title=TITLE, text=WIRE_EDITED)
    store(db, T0 + DAY, copy)
    with open_writer(db) as writer:
        [(pending, story)] = writer.story_pending(10)
        [signed] = sign([pending])[0]
        known, stories = writer.story_candidates([signed])
    with duckdb.connect(str(db), read_only=True) as conn:
        rows = conn.execute(
            "SELECT key FROM story_bands WHERE item_id = ?", [iid("press", "wire")]
        ).fetchall()
    stored = {key for (key,) in rows}
    [(wire, wire_story)] = known
    assert story is None and wire.item_id == wire_story == iid("press", "wire")
    assert [s.story_id for s in stories] == [wire_story]
    assert wire.bands, "an edited copy shares some band keys with its original"
    assert set(wire.bands) == stored & set(signed.bands)
    assert set(wire.bands) < stored, "the keys only the original holds are left out"


CVE = "CVE-2026-1234"


def _candidates(db: Path) -> dict[str, tuple[str, str]]:
    """(title, text) of each candidate of the pending chunk, by item id."""
    with open_writer(db) as writer:
        pending = [item for item, _ in writer.story_pending(10)]
        known, _ = writer.story_candidates(sign(pending)[0])
    return {item.item_id: (item.title, item.text) for item, _ in known}


def test_candidates_carry_their_text_only_when_the_planner_may_compare_it(
    tmp_path: Path,
) -> None:
    db = tmp_path / "store.duckdb"
    store(db, T0, story_item("press", "wire", CVE, title=TITLE, text=WIRE))
    group_pending(db, now=T0)
    # the same CVE, reported by another source: the two CVE lists decide, no text is read
    store(db, T0 + DAY, story_item("cert", "avis", CVE, published=T0 + DAY))
    assert _candidates(db) == {iid("press", "wire"): ("", "")}
    group_pending(db, now=T0 + DAY)
    # an edited copy naming no CVE is compared by text with the original: its text is read
    store(
        db,
        T0 + 2 * DAY,
        story_item("blog", "copy", published=T0 + 2 * DAY, title=TITLE, text=WIRE_EDITED),
    )
    found = _candidates(db)
    assert found[iid("press", "wire")][0] == TITLE
    assert found[iid("press", "wire")][1].startswith(WIRE[:50])
    report = group_pending(db, now=T0 + 2 * DAY)
    assert report.joined == 1
    with duckdb.connect(str(db), read_only=True) as conn:
        stories = conn.execute(
            "SELECT item_id, story_id, reason FROM story_items ORDER BY item_id"
        ).fetchall()
    wire = iid("press", "wire")
    assert {(i, s) for i, s, _ in stories} == {
        (wire, wire),
        (iid("cert", "avis"), wire),
        (iid("blog", "copy"), wire),
    }
    assert dict((i, r) for i, _, r in stories)[iid("blog", "copy")] == "text"


def test_a_chunks_band_keys_are_looked_up_once_each_cveless_when_a_cveless_item_holds_one() -> None:
    rng = random.Random(5)
    items = [
        StoryItem(
            f"i{n}",
            "s",
            "t",
            "",
            None,
            frozenset({"CVE-2026-0001"}) if rng.random() < 0.5 else frozenset(),
            T0,
            tuple(rng.randrange(1 << 62 if n % 2 else 25) for _ in range(rng.choice([0, 3, 10]))),
        )
        for n in range(60)
    ]
    cveless = {k for i in items if not i.cves for k in i.bands}
    keys = sorted({k for i in items for k in i.bands})
    table = story_store._band_keys(items)
    assert table.column("key").to_pylist() == keys
    assert table.column("cveless").to_pylist() == [k in cveless for k in keys]
    assert 0 < sum(k in cveless for k in keys) < len(keys)
