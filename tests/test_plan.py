"""Which sources a run fetches: due ones, or every healthy one with --force."""

from __future__ import annotations

from datetime import datetime, timedelta

from techwatch.ingest import batches, plan_run
from techwatch.types import Source, SourceState


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


def test_index_is_rebuilt_when_missing_stale_or_far_behind(now: datetime) -> None:
    from techwatch.ingest import index_due

    fresh = now - timedelta(hours=1)
    assert not index_due(None, 0, 0, now), "nothing to index"
    assert index_due(None, 0, 3, now), "no index yet"
    assert not index_due(fresh, 10_000, 20, now), "a few new items are found unranked"
    assert index_due(fresh, 10_000, 1_000, now), "a tenth of the store is unindexed"
    assert index_due(fresh, 100, 500, now)
    assert index_due(now - timedelta(hours=13), 10_000, 1, now), "stale index"
