"""The run report: what one ingestion run did, per source and in total (pure)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field, fields, replace
from datetime import datetime
from operator import attrgetter
from typing import Any

from techwatch.types import Source, SourceOutcome, SourceState, WriteStats


@dataclass(frozen=True, slots=True)
class SourceLine:
    """One source in the report."""

    source_id: str
    name: str
    status: str
    http_status: int | None
    error_kind: str | None
    error: str | None
    entries: int
    new: int
    updated: int
    duration_s: float
    degraded: bool
    consecutive_failures: int
    next_attempt: datetime | None


_LINE_NAMES = tuple(f.name for f in fields(SourceLine))
_line_values = attrgetter(*_LINE_NAMES)


def _line_dict(line: SourceLine) -> dict[str, Any]:
    """A source line as `asdict` gives it, without its deep copy: the values are immutable."""
    return dict(zip(_LINE_NAMES, _line_values(line), strict=True))


@dataclass(frozen=True, slots=True)
class RunReport:
    """Totals first (what a consultant reads), then one line per source."""

    run_id: str
    started_at: datetime
    finished_at: datetime
    status_counts: dict[str, int]
    new_items: int
    updated_items: int
    new_by_language: dict[str, int]
    new_by_source: dict[str, int]
    stage_seconds: dict[str, float]
    sources: tuple[SourceLine, ...] = field(default=())
    # What classification did (techwatch.classify.apply.ApplyReport), or why it was skipped.
    classification: dict[str, Any] = field(default_factory=dict)
    # What story grouping did (techwatch.stories.run.GroupingReport): new stories, joins, merges.
    stories: dict[str, Any] = field(default_factory=dict)
    # What scoring decided for clients (techwatch.watch.score_night), or why it was skipped.
    scoring: dict[str, Any] = field(default_factory=dict)

    @property
    def failed(self) -> tuple[SourceLine, ...]:
        return tuple(s for s in self.sources if s.status == "failed")

    @property
    def degraded(self) -> tuple[SourceLine, ...]:
        return tuple(s for s in self.sources if s.degraded)

    @property
    def duration_s(self) -> float:
        return (self.finished_at - self.started_at).total_seconds()

    def to_dict(self) -> dict[str, Any]:
        """`dataclasses.asdict` of the report, plus its duration. The source lines hold plain
        values only and are read field by field: asdict deep-copied each one, ~0.02 s for 500
        sources, and a run converts its report twice (stored summary, returned copy)."""
        data = asdict(replace(self, sources=()))
        data["sources"] = tuple(_line_dict(line) for line in self.sources)
        data["duration_s"] = round(self.duration_s, 3)
        return data


def build_report(
    *,
    run_id: str,
    started_at: datetime,
    finished_at: datetime,
    sources: Sequence[Source],
    outcomes: Sequence[SourceOutcome],
    stats: WriteStats,
    states: Mapping[str, SourceState],
    new_by_language: Mapping[str, int],
    stage_seconds: Mapping[str, float],
    classification: Mapping[str, Any] | None = None,
    stories: Mapping[str, Any] | None = None,
    scoring: Mapping[str, Any] | None = None,
) -> RunReport:
    """Assemble the report from what the run produced; no I/O."""
    names = {s.id: s.name for s in sources}
    lines = tuple(_line(o, names.get(o.source_id, o.source_id), stats, states) for o in outcomes)
    status_counts = Counter(line.status for line in lines)
    new_by_source = {k: v for k, v in sorted(stats.new.items()) if v}
    return RunReport(
        run_id=run_id,
        started_at=started_at,
        finished_at=finished_at,
        status_counts={
            k: status_counts.get(k, 0) for k in ("ok", "not_modified", "failed", "skipped")
        },
        new_items=stats.total_new,
        updated_items=stats.total_updated,
        new_by_language=dict(sorted(new_by_language.items(), key=lambda kv: (-kv[1], kv[0]))),
        new_by_source=new_by_source,
        stage_seconds={k: round(v, 3) for k, v in stage_seconds.items()},
        sources=tuple(sorted(lines, key=_line_order)),
        classification=dict(classification or {}),
        stories=dict(stories or {}),
        scoring=dict(scoring or {}),
    )


def merge_stats(parts: Sequence[WriteStats]) -> WriteStats:
    """Combine the stats of several batch writes of one run."""
    merged = WriteStats()
    for part in parts:
        for target, source in (
            (merged.new, part.new),
            (merged.updated, part.updated),
            (merged.unchanged, part.unchanged),
        ):
            for key, value in source.items():
                target[key] = target.get(key, 0) + value
    return merged


def _line(
    outcome: SourceOutcome, name: str, stats: WriteStats, states: Mapping[str, SourceState]
) -> SourceLine:
    state = states.get(outcome.source_id)
    return SourceLine(
        source_id=outcome.source_id,
        name=name,
        status=outcome.status,
        http_status=outcome.http_status,
        error_kind=outcome.error_kind,
        error=outcome.error,
        entries=outcome.entries,
        new=stats.new.get(outcome.source_id, 0),
        updated=stats.updated.get(outcome.source_id, 0),
        duration_s=round(outcome.duration_s, 3),
        degraded=bool(state and state.degraded),
        consecutive_failures=state.consecutive_failures if state else 0,
        next_attempt=state.next_attempt if state else None,
    )


_STATUS_ORDER = {"failed": 0, "ok": 1, "not_modified": 2, "skipped": 3}


def _line_order(line: SourceLine) -> tuple[int, str]:
    return (_STATUS_ORDER.get(line.status, 9), line.source_id)
