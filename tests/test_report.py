"""The run report is built from outcomes and write counts, without I/O."""

from __future__ import annotations

from datetime import datetime, timedelta

from techwatch.report import build_report, merge_stats
from techwatch.types import Source, SourceOutcome, SourceState, WriteStats


def _source(sid: str) -> Source:
    return Source(
        id=sid, name=sid.upper(), kind="feed", url=f"https://{sid}.example/feed", category="press"
    )


def test_report_counts_statuses_and_new_items(now: datetime) -> None:
    outcomes = [
        SourceOutcome("a", "ok", now, 0.5, http_status=200, entries=3),
        SourceOutcome("b", "not_modified", now, 0.1, http_status=304),
        SourceOutcome("c", "failed", now, 2.0, error_kind="timeout", error="deadline"),
        SourceOutcome("d", "skipped", now, 0.0, error="not due yet"),
    ]
    stats = merge_stats([WriteStats(new={"a": 2}, updated={"a": 1}), WriteStats(new={"a": 1})])
    states = {
        "c": SourceState(
            "c", consecutive_failures=5, degraded=True, next_attempt=now + timedelta(hours=2)
        )
    }
    report = build_report(
        run_id="r1",
        started_at=now,
        finished_at=now + timedelta(seconds=3),
        sources=[_source(s) for s in "abcd"],
        outcomes=outcomes,
        stats=stats,
        states=states,
        new_by_language={"fr": 1, "en": 2},
        stage_seconds={"collect": 2.5},
    )
    assert report.status_counts == {"ok": 1, "not_modified": 1, "failed": 1, "skipped": 1}
    assert report.new_items == 3 and report.updated_items == 1
    assert report.new_by_source == {"a": 3}
    assert list(report.new_by_language) == ["en", "fr"]
    assert [line.source_id for line in report.failed] == ["c"]
    assert report.degraded[0].name == "C"
    assert report.sources[0].status == "failed"
    assert report.to_dict()["duration_s"] == 3.0


def test_the_report_as_a_dict_is_its_dataclass_fields_and_duration(now: datetime) -> None:
    """to_dict reads source lines field by field: the same dict as `asdict`, key order too."""
    from dataclasses import asdict

    outcomes = [
        SourceOutcome("a", "ok", now, 0.5, http_status=200, entries=3),
        SourceOutcome("c", "failed", now, 2.0, error_kind="timeout", error="deadline"),
    ]
    states = {"c": SourceState("c", consecutive_failures=1, next_attempt=now)}
    report = build_report(
        run_id="r1",
        started_at=now,
        finished_at=now + timedelta(seconds=2),
        sources=[_source("a"), _source("c")],
        outcomes=outcomes,
        stats=WriteStats(new={"a": 2}),
        states=states,
        new_by_language={"en": 2},
        stage_seconds={"collect": 1.5},
        classification={"skipped": None, "by_label": {"topics": ["x", "y"]}},
        stories={"items": 2},
        scoring={"clients": [{"id": "k", "decided": 1}]},
    )
    data = report.to_dict()
    expected = {**asdict(report), "duration_s": 2.0}
    assert data == expected
    assert list(data) == list(expected)
    assert list(data["sources"][0]) == list(expected["sources"][0])
    assert isinstance(data["sources"], tuple)
    data["scoring"]["clients"][0]["decided"] = 5
    assert report.scoring["clients"][0]["decided"] == 1, "a copy, as asdict gives"
