"""Which sources a run fetches: due ones, or every healthy one with --force."""

from __future__ import annotations

import random
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from techwatch.ingest import (
    batches,
    close_run,
    groups_and_enriches,
    next_states,
    plan_run,
    prepare_run,
    quiet_write,
    store_batch,
    write_quiet,
)
from techwatch.storage import open_reader, open_writer
from techwatch.types import (
    EpssScore,
    FetchSettings,
    ParsedItem,
    Source,
    SourceOutcome,
    SourceState,
    WriteStats,
)

FRESH_URL = "https://fresh.example/f"


def _source(sid: str, enabled: bool = True) -> Source:
    return Source(
        id=sid,
        name=sid,
        kind="feed",
        url=f"https://{sid}.example/f",
        category="press",
        enabled=enabled,
    )


def test_due_sources_are_fetched_and_others_skipped_with_a_reason(now: datetime) -> None:
    sources = [_source("new"), _source("fresh"), _source("late"), _source("off", enabled=False)]
    states = {
        "fresh": SourceState("fresh", next_attempt=now + timedelta(hours=1)),
        "late": SourceState("late", next_attempt=now - timedelta(minutes=1)),
    }
    plan = plan_run("r", sources, states, now=now)
    assert [s.id for s in plan.due] == ["new", "late"]
    assert [o.source_id for o in plan.skipped] == ["fresh"]
    assert plan.skipped[0].status == "skipped"
    assert "not due" in (plan.skipped[0].error or "")


def test_force_fetches_healthy_sources_but_respects_back_off(now: datetime) -> None:
    sources = [_source("fresh"), _source("failing")]
    later = now + timedelta(hours=3)
    states = {
        "fresh": SourceState("fresh", next_attempt=later),
        "failing": SourceState("failing", next_attempt=later, consecutive_failures=2),
    }
    plan = plan_run("r", sources, states, now=now, force=True)
    assert [s.id for s in plan.due] == ["fresh"]
    assert "backing off after 2 failure(s)" in (plan.skipped[0].error or "")


def test_batches_cover_every_source_once() -> None:
    sources = [_source(f"s{i}") for i in range(7)]
    parts = batches(sources, 3)
    assert [len(p) for p in parts] == [3, 3, 1]
    assert [s for part in parts for s in part] == sources


def test_collected_outcomes_are_stored_once_they_hold_enough_items() -> None:
    from techwatch.ingest import store_due

    outcome = _with_items
    assert not store_due([], 3), "nothing collected"
    assert not store_due([outcome(0)] * 500, 3), "not-modified sources wait for the last write"
    assert not store_due([outcome(1), outcome(1)], 3)
    assert store_due([outcome(1), outcome(2)], 3)


@pytest.mark.parametrize(
    ("items", "now", "kept"),
    [
        ([3, 3, 3, 2], [3, 3], [3, 2]),  # 11 items: two row groups of 4 hold 6 of them
        ([3, 1, 4, 1, 5], [3, 1, 4, 1], [5]),  # 14 items: three row groups hold 9
        ([0, 4, 0, 5], [0, 4, 0], [5]),  # outcomes without items go with what they follow
        ([3, 3, 2], [3, 3, 2], []),  # whole row groups: all of it
        ([6, 1], [6, 1], []),  # the first feed alone overflows: all of it, as before
        ([1, 2], [1, 2], []),  # less than a row group: all of it
    ],
)
def test_a_write_takes_the_outcomes_that_fill_whole_row_groups(
    items: list[int], now: list[int], kept: list[int]
) -> None:
    from techwatch.ingest import whole_row_groups

    outcomes = [_with_items(n) for n in items]
    written, rest = whole_row_groups(outcomes, rows=4)
    assert [len(o.items) for o in written] == now
    assert [len(o.items) for o in rest] == kept
    assert [*written, *rest] == outcomes


def _with_items(items: int) -> SourceOutcome:
    item = ParsedItem("s", "i", None, None, "title", "text", "", None, None)
    return SourceOutcome(
        source_id="s",
        status="ok",
        started_at=datetime(2026, 1, 1, tzinfo=UTC),
        duration_s=0.0,
        items=(item,) * items,
    )


@pytest.mark.parametrize(
    ("items", "ahead"),
    [
        ([], 2),  # an empty batch: nothing held in memory
        ([0] * 100, 2),  # an unchanged night: not-modified sources
        ([1, 2], 2),
        ([2, 2], 1),  # as many items as the limit: a heavy batch
        ([30] * 100, 1),  # a first run
    ],
)
def test_the_next_two_batches_are_collected_at_once_after_a_light_one(
    items: list[int], ahead: int
) -> None:
    from techwatch.ingest import batches_ahead

    assert batches_ahead([_with_items(n) for n in items], light=4) == ahead


def test_preparing_a_run_records_the_skipped_sources_and_keeps_their_state(
    tmp_path: Path, now: datetime
) -> None:
    db = tmp_path / "t.duckdb"
    sources = [_source("fresh"), _source("new")]
    first = prepare_run(db, sources[:1], now=now, kind="test")
    fetched = SourceOutcome(
        source_id="fresh", status="not_modified", started_at=now, duration_s=0.1, url=FRESH_URL
    )
    _, states = store_batch(db, first.run_id, sources, [fetched], {}, FetchSettings(), now=now)

    later = now + timedelta(minutes=1)
    plan = prepare_run(db, sources, now=later, kind="test")

    assert [s.id for s in plan.due] == ["new"]
    with open_reader(db) as reader:
        rows = reader.run_sources(plan.run_id)
        kept = {s["id"]: s for s in reader.sources()}["fresh"]
    assert [(r["source_id"], r["status"], r["error"]) for r in rows] == [
        ("fresh", "skipped", "not due yet")
    ]
    assert kept["next_attempt"] == states["fresh"].next_attempt


@pytest.mark.parametrize(
    ("new", "updated", "backlog", "busy"),
    [(0, 0, False, False), (1, 0, False, True), (0, 1, False, True), (0, 0, True, True)],
)
def test_stories_index_and_enrichment_run_unless_nothing_changed_or_was_left_over(
    now: datetime, new: int, updated: int, backlog: bool, busy: bool
) -> None:
    plan = plan_run("r", [_source("a")], {}, now=now)
    stats = WriteStats(new={"a": new}, updated={"a": updated}, unchanged={"a": 0})
    assert groups_and_enriches(replace(plan, backlog=backlog), stats) is busy


def test_a_plan_knows_whether_earlier_work_was_left_over(tmp_path: Path, now: datetime) -> None:
    db = tmp_path / "t.duckdb"
    assert plan_run("r", [], {}, now=now).backlog, "unknown counts as left over"
    assert not prepare_run(db, [_source("a")], now=now, kind="test").backlog
    item = ParsedItem("a", "one", "https://a.example/1", None, "One", "body", "", None, None)
    fetched = SourceOutcome(
        source_id="a", status="ok", started_at=now, duration_s=0.1, items=(item,)
    )
    store_batch(db, "r", [_source("a")], [fetched], {}, FetchSettings(), now=now)
    later = now + timedelta(minutes=1)
    assert prepare_run(db, [_source("a")], now=later, kind="test").backlog


def _quiet_case(now: datetime, **changed: bool) -> tuple[Any, list[WriteStats], SourceOutcome]:
    plan = replace(
        plan_run("r", [_source("a")], {}, now=now), backlog=changed.get("backlog", False)
    )
    stored = [WriteStats(new={"a": int(changed.get("stored_new", False))}, unchanged={"a": 3})]
    item = ParsedItem("a", "one", "https://a.example/1", None, "One", "body", "", None, None)
    fetched = SourceOutcome(
        source_id="a",
        status="ok" if changed.get("items") else "not_modified",
        started_at=now,
        duration_s=0.1,
        items=(item,) if changed.get("items") else (),
        epss=(EpssScore("CVE-2026-0001", 0.5, 0.9, now.date()),) if changed.get("epss") else (),
    )
    return plan, stored, fetched


@pytest.mark.parametrize("changed", [None, "backlog", "stored_new", "items", "epss"])
def test_a_quiet_nights_last_write_is_left_to_finish_unless_it_has_work(
    now: datetime, changed: str | None
) -> None:
    plan, stored, fetched = _quiet_case(now, **({changed: True} if changed else {}))
    quiet = quiet_write(
        plan, stored, [fetched], [_source("a")], FetchSettings(), now=now, rng=random.Random(7)
    )
    if changed is not None:
        assert quiet is None, "written by the store stage, as before"
        return
    assert quiet is not None
    assert (quiet.run_id, quiet.outcomes, quiet.now) == ("r", (fetched,), now)
    assert quiet.states == next_states(
        [_source("a")], [fetched], {}, FetchSettings(), now=now, rng=random.Random(7)
    )


def test_a_quiet_write_stores_what_the_store_stage_stores(tmp_path: Path, now: datetime) -> None:
    """Left to the run's close (one open of the store), or written alone when a stage failed."""
    stored: list[tuple[Any, ...]] = []
    for path in ("store", "finish", "alone"):
        db = tmp_path / f"{path}.duckdb"
        plan = prepare_run(db, [_source("a")], now=now, kind="test")
        fetched = SourceOutcome(
            source_id="a", status="not_modified", started_at=now, duration_s=0.1, etag='"v1"'
        )
        settings, rng = FetchSettings(), random.Random(7)  # the same back-off jitter
        quiet = None
        if path == "store":
            store_batch(db, plan.run_id, [_source("a")], [fetched], {}, settings, now=now, rng=rng)
        else:
            quiet = quiet_write(plan, [], [fetched], [_source("a")], settings, now=now, rng=rng)
        if path == "alone":
            assert quiet is not None
            write_quiet(db, quiet)
            quiet = None
        close_run(db, plan.run_id, finished_at=now, failed=False, summary={}, quiet=quiet)
        with open_writer(db) as writer:
            states = writer.load_states()
        with open_reader(db) as reader:
            rows = [
                {k: v for k, v in row.items() if k != "run_id"}
                for row in reader.run_sources(plan.run_id)
            ]
            run = reader.runs(limit=1)[0]["status"]
        stored.append((states, rows, run))
    assert stored[0] == stored[1] == stored[2]
    assert stored[0][0]["a"].etag == '"v1"'
    assert [r["status"] for r in stored[0][1]] == ["not_modified"]
