"""Load advisory or feed files from disk through the same parsers and store as the nightly flow.

For a backfill, or a machine without internet: the files are attached to a configured source,
whose kind picks the parser, so that a later live fetch of that source recognises the same
items (same identities) instead of duplicating them. Parsing runs in the worker pool (its time
budget guards against hostile files); writes go through the one writer under the run lock.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Sequence
from concurrent.futures import Future
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path

from techwatch.config import SourcesConfig
from techwatch.enrich.refresh import refresh
from techwatch.errors import ConfigError, ParseError
from techwatch.ingest import batches, close_run, new_run_id
from techwatch.parse.pool import ParsePool
from techwatch.report import merge_stats
from techwatch.runlock import lock_path_for, run_lock
from techwatch.storage import open_writer
from techwatch.stories.run import group_pending
from techwatch.types import ParsedFeed, Source, SourceOutcome, WriteStats

#: Files parsed between two writes: one transaction per batch, like the flow's batches.
BATCH_FILES = 100


@dataclass(frozen=True, slots=True)
class ImportReport:
    """What an import did: files read, parsed, failed (with reasons), items new or updated."""

    run_id: str
    source_id: str
    files: int
    parsed: int
    failed: tuple[tuple[str, str], ...]
    new_items: int
    updated_items: int
    seconds: float
    warnings: tuple[str, ...] = field(default=())
    epss_scores: int = 0  # rows of score tables (kind epss), which bring no items
    cves_refreshed: int = 0
    new_stories: int = 0
    #: Seconds per stage: read (files into the pool), parse (waiting on the workers), store,
    #: enrich, stories, close (search index when due, run record).
    stage_seconds: dict[str, float] = field(default_factory=dict)


def files_under(paths: Iterable[Path]) -> list[Path]:
    """The files named, and the files inside the folders named, in a stable order."""
    found: list[Path] = []
    for path in paths:
        if path.is_dir():
            found.extend(sorted(p for p in path.rglob("*") if p.is_file()))
        elif path.is_file():
            found.append(path)
        else:
            raise ConfigError(f"{path}: no such file or folder")
    return found


def find_source(config: SourcesConfig, source_id: str) -> Source:
    """The configured source the files belong to; its kind chooses the parser."""
    for source in config.sources:
        if source.id == source_id:
            return source
    known = ", ".join(s.id for s in config.sources if s.kind != "feed") or "none"
    raise ConfigError(
        f"{config.path}: no source {source_id!r}; advisory sources configured: {known}"
    )


def import_files(
    db_path: Path,
    config: SourcesConfig,
    source_id: str,
    paths: Sequence[Path],
    *,
    now: datetime | None = None,
) -> ImportReport:
    """Parse every file with the source's parser and store the items, batch by batch."""
    source = find_source(config, source_id)
    files = files_under(paths)
    started = now or datetime.now(UTC)
    t0 = time.perf_counter()
    run_id = new_run_id(started)
    settings = config.settings
    parts: list[WriteStats] = []
    failed: list[tuple[str, str]] = []
    warnings: list[str] = []
    parsed = 0
    stages = dict.fromkeys(("read", "parse", "store", "enrich", "stories", "close"), 0.0)
    with run_lock(lock_path_for(db_path)):
        with open_writer(db_path) as writer:
            writer.sync_sources(config.sources, started)
            writer.begin_run(run_id, started_at=started, kind="import", flow_run_id=None)
        written_since = datetime.now(UTC)
        scores = 0
        with ParsePool(settings.parse_workers, settings.parse_timeout_s) as pool:
            for batch in batches(files, BATCH_FILES):
                outcomes = _parse_batch(pool, source, batch, settings.max_bytes, stages)
                for path, outcome in zip(batch, outcomes, strict=True):
                    if outcome.status == "failed":
                        failed.append((str(path), f"{outcome.error_kind}: {outcome.error}"))
                    else:
                        parsed += 1
                        warnings.extend(f"{path.name}: {w}" for w in outcome.warnings)
                t = time.perf_counter()
                with open_writer(db_path) as writer:
                    parts.append(writer.write_outcomes(run_id, outcomes, [], datetime.now(UTC)))
                stages["store"] += time.perf_counter() - t
                scores += sum(len(o.epss) for o in outcomes)
        t = time.perf_counter()
        enriched = refresh(db_path, since=written_since)
        stages["enrich"] = time.perf_counter() - t
        t = time.perf_counter()
        grouped = group_pending(db_path, now=datetime.now(UTC))
        stages["stories"] = time.perf_counter() - t
        stats = merge_stats(parts)
        report = ImportReport(
            run_id=run_id,
            source_id=source.id,
            files=len(files),
            parsed=parsed,
            failed=tuple(failed),
            new_items=stats.total_new,
            updated_items=stats.total_updated,
            seconds=round(time.perf_counter() - t0, 3),
            warnings=tuple(warnings[:100]),
            epss_scores=scores,
            cves_refreshed=enriched.cves,
            new_stories=grouped.new_stories,
            stage_seconds=stages,
        )
        t = time.perf_counter()
        close_run(
            db_path,
            run_id,
            finished_at=datetime.now(UTC),
            failed=bool(failed),
            summary=_summary(report),
        )
        stages["close"] = time.perf_counter() - t
    return replace(report, stage_seconds={k: round(v, 3) for k, v in stages.items()})


def _parse_batch(
    pool: ParsePool,
    source: Source,
    paths: Sequence[Path],
    max_bytes: int,
    stages: dict[str, float],
) -> list[SourceOutcome]:
    """Every file of the batch through the source's parser, the workers kept busy together."""
    t = time.perf_counter()
    started = datetime.now(UTC)
    pending: list[tuple[Path, int, Future[ParsedFeed] | SourceOutcome]] = []
    for path in paths:
        size = path.stat().st_size
        if size > max_bytes:
            message = f"{path.name}: {size} bytes, over the {max_bytes} cap"
            pending.append((path, size, _failed(source, path, size, started, "too_large", message)))
            continue
        future = pool.submit(
            source.id,
            path.read_bytes(),
            url=path.as_uri(),
            content_type=None,
            declared_language=source.language,
            fetched_at=started,
            kind=source.kind,
            selectors=source.html,
        )
        pending.append((path, size, future))
    stages["read"] += time.perf_counter() - t
    t = time.perf_counter()
    outcomes = [_outcome(source, path, size, started, job) for path, size, job in pending]
    stages["parse"] += time.perf_counter() - t
    return outcomes


def _outcome(
    source: Source,
    path: Path,
    size: int,
    started: datetime,
    job: Future[ParsedFeed] | SourceOutcome,
) -> SourceOutcome:
    """What happened to one file: its parsed items, or the reason it failed."""
    if isinstance(job, SourceOutcome):
        return job
    try:
        parsed = job.result()
    except ParseError as error:
        return _failed(source, path, size, started, error.kind, f"{path.name}: {error.args[0]}")
    return SourceOutcome(
        source.id,
        "ok",
        started,
        (datetime.now(UTC) - started).total_seconds(),
        url=path.as_uri(),
        bytes=size,
        entries=parsed.entries_total,
        items=parsed.items,
        warnings=parsed.warnings,
        epss=parsed.epss,
    )


def _failed(
    source: Source, path: Path, size: int, started: datetime, kind: str, message: str
) -> SourceOutcome:
    return SourceOutcome(
        source.id,
        "failed",
        started,
        0.0,
        url=path.as_uri(),
        bytes=size,
        error_kind=kind,
        error=message,
    )


def _summary(report: ImportReport) -> dict[str, object]:
    return {
        "source_id": report.source_id,
        "files": report.files,
        "parsed": report.parsed,
        "failed": [list(f) for f in report.failed],
        "new_items": report.new_items,
        "updated_items": report.updated_items,
        "new_stories": report.new_stories,
        "seconds": report.seconds,
    }
