"""What keeps grouping's cost from growing with the square of the store: a CVE named by many
items is compared with its latest ones only (the planner and the store's candidates agree on
which), the pending items are lined up once per run, and the cycle collector is paused."""

from __future__ import annotations

import gc
from collections import defaultdict
from dataclasses import replace
from datetime import timedelta
from pathlib import Path

import duckdb
import pytest

from techwatch.dedupe import item_id
from techwatch.storage import open_reader, open_writer
from techwatch.storage import stories as story_store
from techwatch.stories import grouping
from techwatch.stories.grouping import StoryItem, plan
from techwatch.stories.neardup import grams, lead
from techwatch.stories.run import group_pending, group_with, sign
from techwatch.types import ParsedItem
from tests.storage.factories import T0, item, outcome, source

HOUR = timedelta(hours=1)
HOT = "CVE-2026-0001"
SOURCES = [source(f"s{n}", category="press") for n in range(8)]


def named(n: int, *cves: str) -> ParsedItem:
    """Item `n` of source s<n>, published n hours after a day before T0, naming `cves`."""
    published = T0 - 24 * HOUR + n * HOUR
    found = item(f"s{n}", f"e{n}", title=f"note {n}", text=f"text {n}", published=published)
    return replace(found, cves=cves)


def store(db: Path, *items: ParsedItem) -> None:
    with open_writer(db) as writer:
        writer.sync_sources(SOURCES, T0)
        writer.begin_run(f"run-{len(items)}", started_at=T0, kind="test", flow_run_id=None)
        outcomes = [outcome(i.source_id, [i]) for i in items]
        writer.write_outcomes(f"run-{len(items)}", outcomes, [], T0)


def story_members(db: Path) -> set[frozenset[str]]:
    with open_reader(db) as reader:
        listed = reader.stories(limit=100)
        found = [reader.story(s["story_id"]) for s in listed]
    return {frozenset(row["source_id"] for row in s["items_list"]) for s in found if s}


@pytest.fixture
def small_cap(monkeypatch: pytest.MonkeyPatch) -> int:
    monkeypatch.setattr(grouping, "MAX_CVE_BUCKET", 3)
    monkeypatch.setattr(story_store, "MAX_CVE_BUCKET", 3)
    return 3


def test_a_hot_cve_is_compared_with_its_latest_items_only_in_the_store(
    tmp_path: Path, small_cap: int
) -> None:
    # five stories that share HOT but nothing else that counts (1 of 3 CVEs in common)
    db = tmp_path / "store.duckdb"
    store(db, *(named(n, HOT, f"CVE-2026-01{n:02d}") for n in range(5)))
    group_pending(db, now=T0)
    # an item naming HOT alone matches each of them: it bridges only the latest three
    store(db, named(5, HOT))
    group_pending(db, now=T0 + 6 * HOUR)
    assert story_members(db) == {
        frozenset({"s0"}),
        frozenset({"s1"}),
        frozenset({"s2", "s3", "s4", "s5"}),
    }


def test_the_planner_keeps_the_latest_items_of_a_hot_cve_within_a_night(small_cap: int) -> None:
    night = [named(n, HOT, f"CVE-2026-01{n:02d}") for n in range(5)] + [named(5, HOT)]
    result = plan([(_story_item(i), None) for i in night], [], [])
    source_of = {_story_item(i).item_id: i.source_id for i in night}
    sources: defaultdict[str, set[str]] = defaultdict(set)
    for join in result.joins:
        sources[join.story_id].add(source_of[join.item_id])
    assert set(map(frozenset, sources.values())) == {
        frozenset({"s0"}),
        frozenset({"s1"}),
        frozenset({"s2", "s3", "s4", "s5"}),
    }


def test_items_stored_between_two_groupings_on_one_connection_are_grouped(
    tmp_path: Path,
) -> None:
    db = tmp_path / "store.duckdb"
    store(db, named(0, HOT), named(1, "CVE-2026-0002"))
    with open_writer(db) as writer:
        first = group_with(writer, now=T0, chunk=1)
        writer.begin_run("later", started_at=T0, kind="test", flow_run_id=None)
        writer.write_outcomes("later", [outcome("s2", [named(2, HOT)])], [], T0)
        second = group_with(writer, now=T0 + HOUR, chunk=1)
        assert writer.story_pending(10) == []
    assert (first.items, second.items, second.joined) == (2, 1, 1)
    assert frozenset({"s0", "s2"}) in story_members(db)


def test_the_queue_hands_out_items_oldest_first_in_chunks(tmp_path: Path) -> None:
    db = tmp_path / "store.duckdb"
    store(db, *(named(n) for n in (3, 0, 2, 1)))
    with open_writer(db) as writer:
        chunks = [[i.source_id for i, _ in writer.story_pending(3)] for _ in range(2)]
    assert chunks == [["s0", "s1", "s2"], ["s3"]]


def test_a_backlog_that_fits_one_chunk_comes_in_queue_order_without_a_queue(
    tmp_path: Path,
) -> None:
    db = tmp_path / "store.duckdb"
    store(db, *(named(n) for n in (3, 0, 2, 1)))
    with open_writer(db) as writer:
        whole = [i.source_id for i, _ in writer.story_pending(4)]
        queues = writer._conn.execute(
            "SELECT count(*) FROM duckdb_tables() WHERE table_name = 'story_queue'"
        ).fetchone()
        again = [i.source_id for i, _ in writer.story_pending(4)]  # nothing stored: still pending
    assert whole == again == ["s0", "s1", "s2", "s3"]
    assert queues == (0,)


def test_grams_computed_with_the_band_keys_give_the_same_plan() -> None:
    texts = ["Swiss hospital hit by cyberattack, records offline"] * 2 + ["Zimbra flaw"]
    made = [
        StoryItem(f"i{n}", f"s{n}", t, "", None, frozenset(), T0 + n * HOUR)
        for n, t in enumerate(texts)
    ]
    signed, computed = sign(made)
    pending = [(i, None) for i in signed]
    assert all((computed[i.item_id] == grams(lead(i.title, i.text))).all() for i in made)
    assert plan(pending, [], [], grams=computed) == plan(pending, [], [])
    assert len(plan(pending, [], []).founded) == 2


def test_grouping_runs_with_the_collector_paused_and_gives_it_back_when_it_fails(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    db = tmp_path / "t.duckdb"
    store(db, named(1, HOT), named(2, HOT))
    seen: list[bool] = []

    def failing_plan(*args: object, **kwargs: object) -> None:
        seen.append(gc.isenabled())
        raise RuntimeError("a chunk failed")

    monkeypatch.setattr(grouping, "plan", failing_plan)
    assert gc.isenabled()
    with pytest.raises(RuntimeError, match="a chunk failed"):
        group_pending(db, now=T0)
    assert seen == [False]
    assert gc.isenabled()


def _story_item(parsed: ParsedItem) -> StoryItem:
    assert parsed.published is not None
    return StoryItem(
        item_id(parsed.source_id, parsed.identity),
        parsed.source_id,
        parsed.title,
        parsed.text,
        parsed.canonical_url,
        frozenset(parsed.cves),
        parsed.published,
    )


def story_cves(db: Path) -> set[tuple[str, str]]:
    with duckdb.connect(str(db), read_only=True) as conn:
        rows = conn.execute("SELECT cve, item_id FROM story_cves").fetchall()
    return {(str(cve), str(item)) for cve, item in rows}


def test_the_cves_of_grouped_items_are_kept_apart_and_replaced_when_regrouped(
    tmp_path: Path,
) -> None:
    db = tmp_path / "store.duckdb"
    first, second = named(0, HOT, "CVE-2026-0002"), named(1)
    store(db, first, second)
    assert story_cves(db) == set()  # only grouped items are there
    group_pending(db, now=T0)
    first_id = item_id(first.source_id, first.identity)
    assert story_cves(db) == {(HOT, first_id), ("CVE-2026-0002", first_id)}
    with open_writer(db) as writer:
        writer.begin_run("edit", started_at=T0, kind="test", flow_run_id=None)
        edited = replace(first, cves=("CVE-2026-0003",), content_hash="changed")
        writer.write_outcomes("edit", [outcome("s0", [edited])], [], T0 + HOUR)
    group_pending(db, now=T0 + 2 * HOUR)
    assert story_cves(db) == {("CVE-2026-0003", first_id)}


def test_migration_0013_fills_the_cves_of_items_grouped_before_it(tmp_path: Path) -> None:
    db = tmp_path / "store.duckdb"
    store(db, named(0, HOT), named(1, HOT, "CVE-2026-0002"), named(2))
    group_pending(db, now=T0)
    grouped = story_cves(db)
    with duckdb.connect(str(db)) as conn:
        conn.execute("DROP TABLE story_cves")
        conn.execute("DELETE FROM schema_migrations WHERE version = 13")
    with open_writer(db):
        pass
    assert story_cves(db) == grouped and len(grouped) == 3


def test_items_written_again_since_they_were_lined_up_are_read_afresh(tmp_path: Path) -> None:
    db = tmp_path / "store.duckdb"
    early, late = named(0), named(1)
    store(db, early, late)
    with open_writer(db) as writer:
        assert [i.title for i, _ in writer.story_pending(1)] == ["note 0"]
        writer.begin_run("edit", started_at=T0, kind="test", flow_run_id=None)
        edited = replace(late, title="note 1 edited", content_hash="edited")
        writer.write_outcomes("edit", [outcome("s1", [edited])], [], T0 + HOUR)
        left = writer.story_pending(10)
    assert [i.title for i, _ in left] == ["note 0", "note 1 edited"]
