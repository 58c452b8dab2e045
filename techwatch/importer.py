"""Load advisory or feed files from disk through the same parsers and store as the nightly flow.

For a backfill, or a machine without internet: the files are attached to a configured source,
whose kind picks the parser, so that a later live fetch of that source recognises the same
items (same identities) instead of duplicating them. Parsing runs in the worker pool (its time
budget guards against hostile files); writes go through the one writer under the run lock.

A bulk import is shaped for throughput: one writer session with a transaction per
BATCH_ITEMS items (committed batches survive an interruption), files parsed while the previous
ones are stored, and enrichment, story grouping and the search index done once, at the end.
Each stored file is recorded with the digest of its bytes and of the parser code: the same
file imported again for the same source is skipped, unparsed (`reparse=True` reads it anyway).
"""

from __future__ import annotations

import gc
import hashlib
import time
from collections import deque
from collections.abc import Iterable, Iterator, Sequence
from concurrent.futures import Future
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from itertools import islice
from pathlib import Path

from techwatch.config import SourcesConfig
from techwatch.enrich.refresh import refresh
from techwatch.errors import ConfigError, ParseError
from techwatch.ingest import close_run, new_run_id
from techwatch.parse.pool import ParsePool
from techwatch.parse.registry import parsers_fingerprint
from techwatch.report import merge_stats
from techwatch.runlock import lock_path_for, run_lock
from techwatch.storage import open_writer
from techwatch.storage.imports import ImportedFile
from techwatch.storage.writer import Writer
from techwatch.stories.run import group_pending
from techwatch.types import ParsedFeed, Source, SourceOutcome, WriteStats

#: Items (and EPSS rows) stored per transaction. A write has a fixed cost (staging, joins over
#: the store) of tens of milliseconds, so a bulk import writes large batches; an interrupted
#: import keeps every committed batch, and a re-import finds those items unchanged.
BATCH_ITEMS = 2_000
#: Files handed to the workers ahead of the one being stored, so parsing and storing overlap;
#: bounds the bytes held in memory to LOOKAHEAD_FILES x max_bytes.
LOOKAHEAD_FILES = 64
#: Source kinds whose parsers detect the language of entries: only they need the workers to
#: load the language model.
LANGUAGE_KINDS = frozenset({"feed", "html"})
#: Allocations between two young-generation collections of the cyclic garbage collector
#: during an import (Python's default: 700). An import allocates millions of small objects
#: that stay alive (parsed items, fact rows); at the default pace the collector walked them
#: over and over, a third of the staging of facts and about 1 s of a bulk import's CPU.
GC_YOUNG_THRESHOLD = 50_000


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
    #: Files skipped: imported before for the same source, same bytes, same parser code.
    unchanged_files: int = 0
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
    reparse: bool = False,
) -> ImportReport:
    """Parse every file with the source's parser and store the items, batch by batch."""
    return import_sources(db_path, config, [(source_id, paths)], now=now, reparse=reparse)


def import_sources(
    db_path: Path,
    config: SourcesConfig,
    groups: Sequence[tuple[str, Sequence[Path]]],
    *,
    now: datetime | None = None,
    reparse: bool = False,
) -> ImportReport:
    """Import files of several sources in one run: one worker pool, one writer session, then
    one enrichment, one story grouping and one search-index update over everything stored.

    Files stored before (same source, bytes and parser code) are skipped unless `reparse`.
    The report's `source_id` lists the source ids, comma-separated.
    """
    jobs = [
        (find_source(config, sid), path) for sid, paths in groups for path in files_under(paths)
    ]
    with _collecting_less():
        return _import(
            db_path, config, jobs, groups, started=now or datetime.now(UTC), reparse=reparse
        )


def _import(
    db_path: Path,
    config: SourcesConfig,
    jobs: Sequence[tuple[Source, Path]],
    groups: Sequence[tuple[str, Sequence[Path]]],
    *,
    started: datetime,
    reparse: bool,
) -> ImportReport:
    """import_sources' run, once the files are listed."""
    t0 = time.perf_counter()
    run_id = new_run_id(started)
    settings = config.settings
    parts: list[WriteStats] = []
    failed: list[tuple[str, str]] = []
    warnings: list[str] = []
    parsed = scores = unchanged = 0
    stages = dict.fromkeys(("read", "parse", "store", "enrich", "stories", "close"), 0.0)
    with run_lock(lock_path_for(db_path)):
        # One connection for every batch: each close checkpoints the whole file (~0.3 s).
        with (
            open_writer(db_path) as writer,
            ParsePool(
                settings.parse_workers,
                settings.parse_timeout_s,
                language_model=any(s.kind in LANGUAGE_KINDS for s, _ in jobs),
            ) as pool,
        ):
            writer.sync_sources(config.sources, started)
            writer.begin_run(run_id, started_at=started, kind="import", flow_run_id=None)
            written_since = datetime.now(UTC)
            known = {} if reparse else writer.imported_files().known([s.id for s, _ in jobs])
            reader = _Reader(pool, settings.max_bytes, known, parsers_fingerprint())
            batch: list[SourceOutcome] = []
            stored: list[ImportedFile] = []
            size = 0
            for path, outcome, record in _parsed(reader, jobs, stages):
                if outcome.status == "failed":
                    failed.append((str(path), f"{outcome.error_kind}: {outcome.error}"))
                elif record is None:
                    unchanged += 1
                else:
                    parsed += 1
                    warnings.extend(f"{path.name}: {w}" for w in outcome.warnings)
                    scores += len(outcome.epss)
                    stored.append(record)
                batch.append(outcome)
                size += 1 + len(outcome.items) + len(outcome.epss)
                if size >= BATCH_ITEMS:
                    parts.append(_store(writer, run_id, batch, stages))
                    batch, size = [], 0
            if batch:
                parts.append(_store(writer, run_id, batch, stages))
            _record(writer, run_id, stored, stages)
        t = time.perf_counter()
        enriched = refresh(db_path, since=written_since)
        stages["enrich"] = time.perf_counter() - t
        t = time.perf_counter()
        grouped = group_pending(db_path, now=datetime.now(UTC))
        stages["stories"] = time.perf_counter() - t
        stats = merge_stats(parts)
        report = ImportReport(
            run_id=run_id,
            source_id=",".join(dict.fromkeys(sid for sid, _ in groups)),
            files=len(jobs),
            parsed=parsed,
            failed=tuple(failed),
            new_items=stats.total_new,
            updated_items=stats.total_updated,
            seconds=round(time.perf_counter() - t0, 3),
            warnings=tuple(warnings[:100]),
            epss_scores=scores,
            cves_refreshed=enriched.cves,
            new_stories=grouped.new_stories,
            unchanged_files=unchanged,
            stage_seconds=stages,
        )
        t = time.perf_counter()
        close_run(  # indexes for search what the batches stored
            db_path,
            run_id,
            finished_at=datetime.now(UTC),
            failed=bool(failed),
            summary=_summary(report),
        )
        stages["close"] = time.perf_counter() - t
    return replace(report, stage_seconds={k: round(v, 3) for k, v in stages.items()})


@contextmanager
def _collecting_less() -> Iterator[None]:
    """Run the cyclic garbage collector less often for the duration (GC_YOUNG_THRESHOLD)."""
    before = gc.get_threshold()
    gc.set_threshold(max(before[0], GC_YOUNG_THRESHOLD), *before[1:])
    try:
        yield
    finally:
        gc.set_threshold(*before)


def _store(
    writer: Writer, run_id: str, outcomes: Sequence[SourceOutcome], stages: dict[str, float]
) -> WriteStats:
    """One transaction; the search index is brought up to date once, when the run closes."""
    t = time.perf_counter()
    stats = writer.write_outcomes(run_id, outcomes, [], datetime.now(UTC), index_search=False)
    stages["store"] += time.perf_counter() - t
    return stats


def _record(
    writer: Writer, run_id: str, files: Sequence[ImportedFile], stages: dict[str, float]
) -> None:
    """Record the stored files, once all batches are committed: one more commit per run, as
    each commit after a batch checkpoints the file (~0.5 s). An interrupted run records
    nothing: its committed files are read again next time, and found unchanged."""
    t = time.perf_counter()
    writer.imported_files().record(files, run_id, datetime.now(UTC))
    stages["store"] += time.perf_counter() - t


@dataclass(frozen=True, slots=True)
class _Reader:
    """How files reach the workers: the pool, the size cap, the files stored before and the
    fingerprint of the parser code in use."""

    pool: ParsePool
    max_bytes: int
    known: dict[tuple[str, str], ImportedFile]
    parsers: str


@dataclass(frozen=True, slots=True)
class _Job:
    """One file on its way: in a worker's hands (`job` a Future), or already decided."""

    source: Source
    path: Path
    size: int
    started: datetime
    sha256: str
    job: Future[ParsedFeed] | SourceOutcome
    skipped: bool = False


def _parsed(
    reader: _Reader,
    jobs: Sequence[tuple[Source, Path]],
    stages: dict[str, float],
) -> Iterator[tuple[Path, SourceOutcome, ImportedFile | None]]:
    """Each file's outcome, in order, with what to record of it once stored (None for a file
    that failed or was skipped), with up to LOOKAHEAD_FILES files in the workers' hands while
    the caller stores the previous ones."""
    window: deque[_Job] = deque()
    todo = iter(jobs)

    def fill() -> None:
        t = time.perf_counter()
        for source, path in islice(todo, LOOKAHEAD_FILES - len(window)):
            window.append(_submit(reader, source, path))
        stages["read"] += time.perf_counter() - t

    fill()
    while window:
        job = window.popleft()
        t = time.perf_counter()
        outcome = _outcome(job)
        stages["parse"] += time.perf_counter() - t
        fill()
        record = None
        if outcome.status == "ok" and not job.skipped:
            record = ImportedFile(
                job.source.id,
                job.path.as_uri(),
                job.sha256,
                reader.parsers,
                outcome.entries,
                len(outcome.items),
            )
        yield job.path, outcome, record


def _submit(reader: _Reader, source: Source, path: Path) -> _Job:
    """Hand one file to the workers; or fail it right away when it is over the size cap, or
    skip it when this source stored the same bytes, read by the same parser code, before."""
    started = datetime.now(UTC)
    size = path.stat().st_size
    if size > reader.max_bytes:
        message = f"{path.name}: {size} bytes, over the {reader.max_bytes} cap"
        failed = _failed(source, path, size, started, "too_large", message)
        return _Job(source, path, size, started, "", failed)
    body = path.read_bytes()
    sha256 = hashlib.sha256(body).hexdigest()
    url = path.as_uri()
    before = reader.known.get((source.id, url))
    if before is not None and (before.sha256, before.parsers) == (sha256, reader.parsers):
        unchanged = SourceOutcome(
            source.id, "ok", started, 0.0, url=url, bytes=size, entries=before.entries
        )
        return _Job(source, path, size, started, sha256, unchanged, skipped=True)
    future = reader.pool.submit(
        source.id,
        body,
        url=url,
        content_type=None,
        declared_language=source.language,
        fetched_at=started,
        kind=source.kind,
        selectors=source.html,
    )
    return _Job(source, path, len(body), started, sha256, future)


def _outcome(job: _Job) -> SourceOutcome:
    """What happened to one file: its parsed items, or the reason it failed."""
    if isinstance(job.job, SourceOutcome):
        return job.job
    source, path, size, started = job.source, job.path, job.size, job.started
    try:
        parsed = job.job.result()
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
        "unchanged_files": report.unchanged_files,
        "new_stories": report.new_stories,
        "seconds": report.seconds,
    }
