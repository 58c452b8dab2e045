"""Load advisory or feed files from disk through the same parsers and store as the nightly flow.

For a backfill, or a machine without internet: the files are attached to a configured source,
whose kind picks the parser, so that a later live fetch of that source recognises the same
items (same identities) instead of duplicating them. Parsing runs in the worker pool (its time
budget guards against hostile files); writes go through the one writer under the run lock.

A bulk import is shaped for throughput: one writer session with a transaction per
BATCH_ITEMS items (committed batches survive an interruption), files parsed while the previous
ones are stored, and enrichment, story grouping and the search index done once, at the end,
side by side: the idle parse workers compute the CVE rows and the product mentions while
the parent groups stories, and a second connection indexes.
Each stored file is recorded with the digest of its bytes and of the parser code: the same
file imported again for the same source is skipped, unparsed (`reparse=True` reads it anyway).
"""

from __future__ import annotations

import hashlib
import os
import time
from collections import deque
from collections.abc import Iterable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path

from techwatch.config import SourcesConfig
from techwatch.enrich import warm
from techwatch.enrich.refresh import begin_refresh
from techwatch.errors import ConfigError, ParseError
from techwatch.gcpacing import collecting_less
from techwatch.ingest import new_run_id
from techwatch.parse.pool import Document, ParsePool, start_forkserver
from techwatch.parse.registry import parsers_fingerprint
from techwatch.report import merge_stats
from techwatch.runlock import lock_path_for, run_lock
from techwatch.storage import open_writer
from techwatch.storage.imports import ImportedFile
from techwatch.storage.writer import Writer
from techwatch.stories.run import group_with
from techwatch.types import ParsedFeed, Source, SourceOutcome, WriteStats

#: Items (and EPSS rows) stored per transaction. A write has a fixed cost (staging, joins over
#: the store) of tens of milliseconds, so a bulk import writes large batches; an interrupted
#: import keeps every committed batch, and a re-import finds those items unchanged.
BATCH_ITEMS = 2_000
#: Files handed to the workers ahead of the one being stored, so parsing and storing overlap,
#: and the bytes they may hold (one file is always allowed, however large). A batch takes the
#: parent ~0.4 s to store: a window of 64 files (~80 ms of parsing for two workers) left them
#: idle for most of it; a window of every file would read them all before storing any.
LOOKAHEAD_FILES = 512
LOOKAHEAD_BYTES = 64 * 1024 * 1024
#: Files handed to a worker together, in one task (ParsePool.submit_many): up to BATCH_FILES
#: consecutive files of BATCH_BYTES in all (a larger file goes alone). One task per file, the
#: 2,481 real advisories cost the parent 2.0-2.6 s of CPU to hand over and collect (pickling,
#: pebble's threads woken per task), 0.9-1.1 s in batches of 16; the workers ~0.8 s less.
BATCH_FILES = 16
BATCH_BYTES = 256 * 1024
#: Source kinds whose parsers detect the language of entries: only they need the workers to
#: load the language model.
LANGUAGE_KINDS = frozenset({"feed", "html"})
#: DuckDB threads once the batches are stored: the parse workers then compute CVE rows and
#: mentions while this process groups stories and the search index is built beside them, so
#: every core is busy and more threads only contend. The setting is the database's: from
#: the moment the index's connection opens, the writer's enrichment, grouping and closing
#: checkpoint run under it too. Over the real advisories, 14 alternated pairs at a load of
#: 3-10: parent CPU 8.3-11.3 -> 7.3-9.7 s (median ratio 0.87, below 1 in every pair), parent
#: and workers 0.96, same digest; indexing the 3,882 items alone took 1.3-1.4 s of CPU
#: instead of 1.6-1.7.
SEARCH_INDEX_THREADS = 1
#: What the workers run once the files are parsed (CVE rows and mentions, see enrich.warm),
#: imported by their forkserver while this process opens the store, not by each worker
#: (~0.14 s of CPU each, pyarrow mostly) while the parent stores the last batches. Over the
#: real advisories, 6 alternated pairs of 2 imports: 2.65-2.90 -> 2.48-2.77 s (mean ratio
#: 0.96, below 1 in every pair), workers' CPU 2.11-2.22 -> 1.71-1.91 s, same digest.
ENRICHMENT_MODULES = (warm.__name__,)


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
    #: enrich, stories, close (the rest of the search index, run record, checkpoint).
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
    # The workers' forkserver imports the parsers (~0.5 s of CPU) while this process opens
    # the store and reads the first files, instead of holding up the first file handed over.
    start_forkserver(language_model=_detects_languages(jobs), preload=ENRICHMENT_MODULES)
    with collecting_less():
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
    stages = dict.fromkeys(("read", "parse", "store", "enrich", "stories", "close"), 0.0)
    with run_lock(lock_path_for(db_path)), open_writer(db_path, bulk=True) as writer:
        # One connection for the whole run, checkpointed once: when it closes.
        writer.sync_sources(config.sources, started)
        writer.begin_run(run_id, started_at=started, kind="import", flow_run_id=None)
        written_since = datetime.now(UTC)
        known = {} if reparse else writer.imported_files().known([s.id for s, _ in jobs])
        with (
            ParsePool(
                settings.parse_workers,
                settings.parse_timeout_s,
                language_model=_detects_languages(jobs),
                preload=ENRICHMENT_MODULES,
            ) as pool,
            ThreadPoolExecutor(1, thread_name_prefix="search-index") as side,
        ):
            reader = _Reader(pool, settings.max_bytes, known, parsers_fingerprint())
            tally = _store_all(writer, run_id, reader, jobs, stages)
            # The search index is DuckDB's work, on its own connection: it runs beside the
            # Python of enrichment and grouping (their tables and its tables are disjoint).
            indexing = side.submit(_index_search, db_path)
            t = time.perf_counter()  # the idle workers compute CVE rows and mentions...
            enriching = begin_refresh(writer, since=written_since, offload=pool)
            stages["enrich"] = time.perf_counter() - t
            t = time.perf_counter()  # ...while this process groups stories
            grouped = group_with(writer, now=datetime.now(UTC))
            stages["stories"] = time.perf_counter() - t
            t = time.perf_counter()
            enriched = enriching.finish()
            stages["enrich"] += time.perf_counter() - t
            t = time.perf_counter()
            indexing.result()
        stats = merge_stats(tally.parts)
        report = ImportReport(
            run_id=run_id,
            source_id=",".join(dict.fromkeys(sid for sid, _ in groups)),
            files=len(jobs),
            parsed=tally.parsed,
            failed=tuple(tally.failed),
            new_items=stats.total_new,
            updated_items=stats.total_updated,
            seconds=round(time.perf_counter() - t0, 3),
            warnings=tuple(tally.warnings[:100]),
            epss_scores=tally.scores,
            cves_refreshed=enriched.cves,
            new_stories=grouped.new_stories,
            unchanged_files=tally.unchanged,
            stage_seconds=stages,
        )
        status = "partial" if report.failed else "ok"
        writer.finish_run(
            run_id, finished_at=datetime.now(UTC), status=status, summary=_summary(report)
        )
    stages["close"] = time.perf_counter() - t  # with the checkpoint of the writer's close
    return replace(report, stage_seconds={k: round(v, 3) for k, v in stages.items()})


def _detects_languages(jobs: Sequence[tuple[Source, Path]]) -> bool:
    """Whether the workers need the language model (LANGUAGE_KINDS) for these files."""
    return any(source.kind in LANGUAGE_KINDS for source, _ in jobs)


@dataclass(slots=True)
class _Tally:
    """What the files came to, counted as they are stored."""

    parts: list[WriteStats] = field(default_factory=list)
    failed: list[tuple[str, str]] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    parsed: int = 0
    scores: int = 0
    unchanged: int = 0


def _store_all(
    writer: Writer,
    run_id: str,
    reader: _Reader,
    jobs: Sequence[tuple[Source, Path]],
    stages: dict[str, float],
) -> _Tally:
    """Store every file's outcome as the workers deliver them, BATCH_ITEMS per transaction,
    then record the stored files."""
    tally = _Tally()
    batch: list[SourceOutcome] = []
    stored: list[ImportedFile] = []
    size = 0
    for path, outcome, record in _parsed(reader, jobs, stages):
        if outcome.status == "failed":
            tally.failed.append((str(path), f"{outcome.error_kind}: {outcome.error}"))
        elif record is None:
            tally.unchanged += 1
        else:
            tally.parsed += 1
            tally.warnings.extend(f"{path.name}: {w}" for w in outcome.warnings)
            tally.scores += len(outcome.epss)
            stored.append(record)
        batch.append(outcome)
        size += 1 + len(outcome.items) + len(outcome.epss)
        if size >= BATCH_ITEMS:
            tally.parts.append(_store(writer, run_id, batch, stages))
            batch, size = [], 0
    if batch:
        tally.parts.append(_store(writer, run_id, batch, stages))
    _record(writer, run_id, stored, stages)
    return tally


def _index_search(db_path: Path) -> None:
    """Index for search what the batches stored (see Writer.update_search_index), through a
    second connection to the import's database."""
    with open_writer(db_path, threads=SEARCH_INDEX_THREADS) as side:
        side.update_search_index()


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
    url: str
    size: int
    started: datetime
    sha256: str
    job: Future[ParsedFeed] | SourceOutcome
    skipped: bool = False


@dataclass(frozen=True, slots=True)
class _Unparsed:
    """A file read for the workers, waiting for the rest of its batch."""

    source: Source
    path: Path
    url: str
    started: datetime
    sha256: str
    body: bytes

    def document(self) -> Document:
        return Document(
            self.source.id,
            self.body,
            self.url,
            self.started,
            kind=self.source.kind,
            declared_language=self.source.language,
            selectors=self.source.html,
        )


def _parsed(
    reader: _Reader,
    jobs: Sequence[tuple[Source, Path]],
    stages: dict[str, float],
) -> Iterator[tuple[Path, SourceOutcome, ImportedFile | None]]:
    """Each file's outcome, in order, with what to record of it once stored (None for a file
    that failed or was skipped), with up to LOOKAHEAD_FILES files (LOOKAHEAD_BYTES) in the
    workers' hands while the caller stores the previous ones."""
    window: deque[_Job] = deque()
    held = 0  # bytes of the files in the workers' hands
    todo = iter(jobs)
    unread = len(jobs)
    parsing = False  # whether the workers were handed a file and not yet `_ready_to_enrich`

    def fill() -> None:
        """Top the window up, a batch at a time: refilled after each file taken out, it
        would hand the files over one by one."""
        nonlocal held, unread, parsing
        if window and len(window) > LOOKAHEAD_FILES - min(BATCH_FILES, LOOKAHEAD_FILES):
            return
        t = time.perf_counter()
        staged: list[_Job | _Unparsed] = []
        while len(window) + len(staged) < LOOKAHEAD_FILES and (
            held < LOOKAHEAD_BYTES or not (window or staged)
        ):
            following = next(todo, None)
            if following is None:
                break
            unread -= 1
            read = _read(reader, *following)
            if isinstance(read, _Unparsed):
                parsing = True
                held += len(read.body)
                if not _batch_takes(staged, read):
                    window.extend(_submitted(reader.pool, staged))
                    staged = []
            staged.append(read)
        window.extend(_submitted(reader.pool, staged))
        if parsing and not unread:
            _ready_to_enrich(reader.pool)
            parsing = False
        stages["read"] += time.perf_counter() - t

    fill()
    while window:
        job = window.popleft()
        held -= _held(job)
        t = time.perf_counter()
        outcome = _outcome(job)
        stages["parse"] += time.perf_counter() - t
        fill()
        record = None
        if outcome.status == "ok" and not job.skipped:
            record = ImportedFile(
                job.source.id,
                job.url,
                job.sha256,
                reader.parsers,
                outcome.entries,
                len(outcome.items),
            )
        yield job.path, outcome, record


def _ready_to_enrich(pool: ParsePool) -> None:
    """Have each worker load the enrichment's modules (enrich.warm), queued behind the last
    files. Their forkserver imported them (ENRICHMENT_MODULES) unless another pool of this
    process started it first without them: then the workers load them once these files are
    parsed, while this process stores the last batches, rather than when the enrichment's
    first chunks reach them (an import that stores new items enriches them in these workers;
    one that parsed nothing does not ask)."""
    for _ in range(pool.workers):
        pool.call(warm.ready)


def _held(job: _Job) -> int:
    """Bytes a job holds in the workers' hands: none once decided without them."""
    return 0 if isinstance(job.job, SourceOutcome) else job.size


def _batch_takes(staged: Sequence[_Job | _Unparsed], read: _Unparsed) -> bool:
    """Whether one more file read for the workers joins the batch staged so far: within
    BATCH_FILES and BATCH_BYTES, or the batch is empty."""
    bodies = [s.body for s in staged if isinstance(s, _Unparsed)]
    if not bodies:
        return True
    return len(bodies) < BATCH_FILES and sum(map(len, bodies)) + len(read.body) <= BATCH_BYTES


def _submitted(pool: ParsePool, staged: Sequence[_Job | _Unparsed]) -> list[_Job]:
    """The staged files in order, those read for the workers handed over in one task."""
    unparsed = [s for s in staged if isinstance(s, _Unparsed)]
    futures = iter(pool.submit_many([u.document() for u in unparsed]) if unparsed else [])
    return [
        s
        if isinstance(s, _Job)
        else _Job(s.source, s.path, s.url, len(s.body), s.started, s.sha256, next(futures))
        for s in staged
    ]


def _read(reader: _Reader, source: Source, path: Path) -> _Job | _Unparsed:
    """Read one file for the workers; or fail it right away when it is over the size cap, or
    skip it when this source stored the same bytes, read by the same parser code, before."""
    started = datetime.now(UTC)
    url = path.as_uri()
    # os.stat and a raw file: pathlib's stat and read_bytes (a buffered reader) cost the
    # parent twice the CPU over thousands of small files.
    size = os.stat(path).st_size
    if size > reader.max_bytes:
        message = f"{path.name}: {size} bytes, over the {reader.max_bytes} cap"
        failed = _failed(source, url, size, started, "too_large", message)
        return _Job(source, path, url, size, started, "", failed)
    with open(path, "rb", buffering=0) as handle:
        body = handle.readall()
    sha256 = hashlib.sha256(body).hexdigest()
    before = reader.known.get((source.id, url))
    if before is not None and (before.sha256, before.parsers) == (sha256, reader.parsers):
        unchanged = SourceOutcome(
            source.id, "ok", started, 0.0, url=url, bytes=size, entries=before.entries
        )
        return _Job(source, path, url, size, started, sha256, unchanged, skipped=True)
    return _Unparsed(source, path, url, started, sha256, body)


def _outcome(job: _Job) -> SourceOutcome:
    """What happened to one file: its parsed items, or the reason it failed."""
    if isinstance(job.job, SourceOutcome):
        return job.job
    source, path, size, started = job.source, job.path, job.size, job.started
    try:
        parsed = job.job.result()
    except ParseError as error:
        message = f"{path.name}: {error.args[0]}"
        return _failed(source, job.url, size, started, error.kind, message)
    return SourceOutcome(
        source.id,
        "ok",
        started,
        (datetime.now(UTC) - started).total_seconds(),
        url=job.url,
        bytes=size,
        entries=parsed.entries_total,
        items=parsed.items,
        warnings=parsed.warnings,
        epss=parsed.epss,
    )


def _failed(
    source: Source, url: str, size: int, started: datetime, kind: str, message: str
) -> SourceOutcome:
    return SourceOutcome(
        source.id,
        "failed",
        started,
        0.0,
        url=url,
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
