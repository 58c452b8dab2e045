"""Stories in a real DuckDB file: first grouping, later nights, merges, updates, band keys."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta
from pathlib import Path

import duckdb

from techwatch.dedupe import item_id
from techwatch.storage import open_reader
from techwatch.stories.run import group_pending
from techwatch.types import ParsedItem
from tests.storage.factories import T0, item, source
from tests.storage.nights import write_night

DAY = timedelta(days=1)
SOURCES = [
    source("cert", category="advisory"),
    source("press", category="press"),
    source("blog", category="blog"),
]
WIRE = (
    "A hospital group in western Switzerland said on Tuesday that a cyberattack had forced it "
    "to take its patient records system offline. Emergency departments remain open."
)
WIRE_EDITED = (
    "A hospital group in western Switzerland said Tuesday that a cyber attack had forced it "
    "to take its patient records system offline. Emergency departments remain open."
)


def story_item(
    source_id: str,
    identity: str,
    *cves: str,
    published: datetime = T0,
    title: str | None = None,
    text: str | None = None,
) -> ParsedItem:
    base = item(
        source_id,
        identity,
        title=title or f"{source_id} says {identity}",
        text=text or f"{identity} {source_id} only",
        published=published,
    )
    return replace(base, cves=tuple(cves))


def store(db: Path, now: datetime, *items: ParsedItem) -> None:
    """One night's write: every item through the single writer, as the flow does."""
    write_night(db, now, SOURCES, items)


def iid(source_id: str, identity: str) -> str:
    return item_id(source_id, identity)


def members(db: Path, story_id: str) -> dict[str, tuple[str, float | None]]:
    with open_reader(db) as reader:
        story = reader.story(story_id)
    assert story is not None
    return {row["item_id"]: (row["reason"], row["score"]) for row in story["items_list"]}


def test_first_grouping_stores_stories_with_reasons_and_an_advisory_title(db: Path) -> None:
    store(
        db,
        T0,
        story_item("press", "p1", "CVE-2026-0001", published=T0 - DAY, title="Press: FortiOS hole"),
        story_item("cert", "c1", "CVE-2026-0001", title="CERT: FortiOS vulnerability"),
        story_item("press", "p2", "CVE-2026-0002"),
    )
    report = group_pending(db, now=T0)
    assert (report.items, report.new_stories, report.joined, report.merges) == (3, 2, 1, 0)
    with open_reader(db) as reader:
        [story] = reader.stories(min_sources=2)
        everything = reader.stories(limit=10)
    assert story["story_id"] == iid("press", "p1")  # the first item names the story
    assert story["title"] == "CERT: FortiOS vulnerability"  # advisory wins over press
    assert (story["items"], story["sources"], story["cves"]) == (2, 2, ["CVE-2026-0001"])
    assert story["source_ids"] == ["cert", "press"]
    assert story["first_seen"] == T0 - DAY and story["last_seen"] == T0
    assert len(everything) == 2
    assert members(db, story["story_id"]) == {
        iid("press", "p1"): ("first", None),
        iid("cert", "c1"): ("cve", 1.0),
    }
    again = group_pending(db, now=T0 + timedelta(minutes=5))
    assert again.items == 0, "nothing is pending once grouped"


def test_a_later_item_bridges_two_stories_and_the_older_id_wins(db: Path) -> None:
    older, younger = iid("cert", "x"), iid("blog", "y")
    store(
        db,
        T0,
        story_item("blog", "y", "CVE-2026-0002", published=T0),
        story_item("cert", "x", "CVE-2026-0001", published=T0 - 3 * DAY),
    )
    group_pending(db, now=T0)
    store(db, T0 + DAY, story_item("press", "bridge", "CVE-2026-0001", "CVE-2026-0002"))
    report = group_pending(db, now=T0 + DAY)
    assert (report.items, report.new_stories, report.joined, report.merges) == (1, 0, 1, 1)
    with open_reader(db) as reader:
        ids = [s["story_id"] for s in reader.stories()]
        heir = reader.story(younger)
    assert ids == [older]
    assert heir is not None and heir["story_id"] == older and heir["requested"] == younger
    assert [(m["loser"], m["winner"], m["item_id"]) for m in heir["merges"]] == [
        (younger, older, iid("press", "bridge"))
    ]
    assert set(members(db, older)) == {older, younger, iid("press", "bridge")}


def test_two_entries_of_one_source_stay_in_two_stories(db: Path) -> None:
    store(
        db,
        T0,
        story_item("cert", "a", "CVE-2026-0001", "CVE-2026-0002"),
        story_item("cert", "b", "CVE-2026-0001", "CVE-2026-0002", published=T0 + DAY),
    )
    store(db, T0 + DAY, story_item("press", "n", "CVE-2026-0001", "CVE-2026-0002"))
    group_pending(db, now=T0 + DAY)
    with open_reader(db) as reader:
        stories = {s["story_id"]: s["source_ids"] for s in reader.stories()}
    assert stories == {iid("cert", "a"): ["cert", "press"], iid("cert", "b"): ["cert"]}


def test_an_updated_item_is_looked_at_again_and_stays_in_its_story(db: Path) -> None:
    store(
        db, T0, story_item("cert", "c", "CVE-2026-0001"), story_item("press", "p", "CVE-2026-0001")
    )
    group_pending(db, now=T0)
    changed = story_item("press", "p", "CVE-2026-0001", text="now with more detail")
    store(db, T0 + DAY, changed)
    report = group_pending(db, now=T0 + DAY)
    assert (report.items, report.joined, report.new_stories) == (1, 0, 0)
    with open_reader(db) as reader:
        [story] = reader.stories()
    assert set(members(db, story["story_id"])) == {iid("cert", "c"), iid("press", "p")}
    assert story["updated_at"] == T0 + DAY
    assert group_pending(db, now=T0 + DAY).items == 0


def test_a_syndicated_copy_next_night_is_found_through_stored_band_keys(db: Path) -> None:
    title = "Swiss hospital group hit by cyberattack"
    store(db, T0, story_item("press", "wire", title=title, text=WIRE))
    group_pending(db, now=T0)
    store(
        db,
        T0 + DAY,
        story_item("blog", "copy", published=T0 + DAY, title=title, text=WIRE_EDITED),
    )
    report = group_pending(db, now=T0 + DAY)
    assert report.joined == 1
    [(reason, score)] = [
        v for k, v in members(db, iid("press", "wire")).items() if k != iid("press", "wire")
    ]
    assert reason == "text" and score is not None and score >= 0.5


def test_band_keys_older_than_the_retention_are_pruned(db: Path) -> None:
    store(db, T0, story_item("press", "old", title="An old story", text=WIRE))
    group_pending(db, now=T0)
    later = T0 + 60 * DAY
    store(db, later, story_item("blog", "new", published=later, title="A new one", text="x"))
    group_pending(db, now=later)
    conn = duckdb.connect(str(db), read_only=True)
    try:
        rows = conn.execute("SELECT DISTINCT item_id FROM story_bands").fetchall()
    finally:
        conn.close()
    assert rows == [(iid("blog", "new"),)]


def test_small_chunks_give_the_same_stories(tmp_path: Path) -> None:
    items = [
        story_item("cert", "a", "CVE-2026-0001"),
        story_item("press", "b", "CVE-2026-0001", "CVE-2026-0002"),
        story_item("blog", "c", "CVE-2026-0002"),
        story_item("press", "d", "CVE-2026-0003"),
        story_item("cert", "e", "CVE-2026-0003", published=T0 + DAY),
    ]
    found = []
    for chunk in (1, 2, 100):
        db = tmp_path / f"chunk{chunk}.duckdb"
        store(db, T0, *items)
        group_pending(db, now=T0, chunk=chunk)
        with open_reader(db) as reader:
            found.append(sorted((s["story_id"], s["items"]) for s in reader.stories()))
    assert found[0] == found[1] == found[2]


def test_band_keys_keep_their_rows_and_are_stored_as_a_dictionary(db: Path) -> None:
    """Migration 0019 re-creates story_bands with its item ids dictionary-compressed (what
    DuckDB chose for a night's rows anyway, each id held by ten keys), keeping the rows of a
    store grouped before it; even ids all distinct, which DuckDB would store as FSST, stay a
    dictionary."""
    store(db, T0, story_item("press", "wire", title="Hospital offline", text=WIRE))
    group_pending(db, now=T0)
    before = band_rows(db)
    conn = duckdb.connect(str(db))
    try:
        conn.execute("DELETE FROM schema_migrations WHERE version = 19")
    finally:
        conn.close()
    group_pending(db, now=T0 + DAY)  # migrates again
    after = band_rows(db)
    conn = duckdb.connect(str(db))
    try:
        conn.execute(
            "INSERT INTO story_bands SELECT i, md5(i::VARCHAR), true, $now FROM range(3000) r(i)",
            {"now": T0},
        )
        conn.execute("CHECKPOINT")
        kinds = conn.execute(
            "SELECT DISTINCT compression FROM pragma_storage_info('story_bands') "
            "WHERE column_name = 'item_id' AND segment_type = 'VARCHAR'"
        ).fetchall()
    finally:
        conn.close()
    assert before and after == before
    assert kinds == [("Dictionary",)]


def band_rows(db: Path) -> list[tuple[int, str, bool]]:
    conn = duckdb.connect(str(db), read_only=True)
    try:
        return conn.execute("SELECT key, item_id, cveless FROM story_bands ORDER BY ALL").fetchall()
    finally:
        conn.close()
