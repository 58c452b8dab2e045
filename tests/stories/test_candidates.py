"""Candidates read from a real store carry only the band keys the pending chunk holds: the
planner looks up no other, and reading all of them made a large backlog grow quadratically."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import duckdb

from techwatch.storage import open_writer
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
