"""The steps of one ingestion run, each a plain function that the Prefect flow calls as a task.

Database connections are short: prepare, each batch write and finish open the file, do one
transaction and close it, so a consultant's CLI can read between them (RELIABILITY 35).
"""

from __future__ import annotations

import random
import secrets
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from itertools import accumulate
from pathlib import Path
from typing import Any, TypeVar

from techwatch.health import is_due, next_state
from techwatch.report import RunReport, merge_stats
from techwatch.storage import Writer, open_reader, open_writer
from techwatch.storage.connection import ROW_GROUP_SIZE
from techwatch.types import FetchSettings, Source, SourceOutcome, SourceState, WriteStats


@dataclass(frozen=True, slots=True)
class RunPlan:
    """Which sources this run fetches, which it skips, and what we knew about them."""

    run_id: str
    started_at: datetime
    due: tuple[Source, ...]
    skipped: tuple[SourceOutcome, ...]
    states: Mapping[str, SourceState]
    # Items an earlier run left to group or index (see Writer.backlog); unknown counts as yes.
    backlog: bool = True


def new_run_id(now: datetime) -> str:
    """Sortable and unique: the start time plus a few random characters."""
    return f"{now:%Y%m%dT%H%M%SZ}-{secrets.token_hex(3)}"


def prepare_run(
    db_path: Path,
    sources: Sequence[Source],
    *,
    now: datetime,
    kind: str,
    force: bool = False,
    flow_run_id: str | None = None,
) -> RunPlan:
    """Record the run, mirror the configured sources, decide which ones are due, and give the
    skipped ones their run row (the report shows why; they keep their state).

    One connection for all of it: each open costs ~0.1 s (file, catalog, migration check,
    checkpoint on close), a tenth of an unchanged night's budget. It also notes whether earlier
    work is left over, for `groups_and_enriches`.
    """
    run_id = new_run_id(now)
    with open_writer(db_path) as writer:
        writer.sync_sources(sources, now)
        states = writer.load_states()
        writer.begin_run(run_id, started_at=now, kind=kind, flow_run_id=flow_run_id)
        plan = plan_run(run_id, sources, states, now=now, force=force)
        if plan.skipped:
            writer.write_outcomes(run_id, plan.skipped, [], now)
        return replace(plan, backlog=writer.backlog())


def plan_run(
    run_id: str,
    sources: Sequence[Source],
    states: Mapping[str, SourceState],
    *,
    now: datetime,
    force: bool = False,
) -> RunPlan:
    """Fetch due sources; `force` ignores poll intervals, never a failing source's back-off."""
    due: list[Source] = []
    skipped: list[SourceOutcome] = []
    for source in sources:
        if not source.enabled:
            continue
        state = states.get(source.id)
        healthy = state is None or state.consecutive_failures == 0
        if is_due(source, state, now) or (force and healthy):
            due.append(source)
        else:
            skipped.append(_skipped(source, state, now))
    return RunPlan(run_id, now, tuple(due), tuple(skipped), dict(states))


T = TypeVar("T")


def batches(things: Sequence[T], size: int) -> list[tuple[T, ...]]:
    """Split work into batches: one task (or one transaction) per batch, never one per thing."""
    size = max(1, size)
    return [tuple(things[i : i + size]) for i in range(0, len(things), size)]


def store_batch(
    db_path: Path,
    run_id: str,
    sources: Sequence[Source],
    outcomes: Sequence[SourceOutcome],
    previous: Mapping[str, SourceState],
    settings: FetchSettings,
    *,
    now: datetime,
    rng: random.Random | None = None,
) -> tuple[WriteStats, dict[str, SourceState]]:
    """Decide each source's next state, then write items, run rows and states in one transaction.

    The items wait in `search_pending` (found unranked) until `index_search` runs: the index
    is built once per run after the stories stage, not once per write on the serial path.
    """
    states = next_states(sources, outcomes, previous, settings, now=now, rng=rng)
    with open_writer(db_path, threads=STORE_THREADS) as writer:
        stats = writer.write_outcomes(
            run_id, outcomes, list(states.values()), now, index_search=False
        )
    return stats, states


def next_states(
    sources: Sequence[Source],
    outcomes: Sequence[SourceOutcome],
    previous: Mapping[str, SourceState],
    settings: FetchSettings,
    *,
    now: datetime,
    rng: random.Random | None = None,
) -> dict[str, SourceState]:
    """Each fetched source's next state (skipped ones keep theirs), by source id."""
    rng = rng or random.Random()
    by_id = {s.id: s for s in sources}
    return {
        o.source_id: next_state(
            by_id[o.source_id], previous.get(o.source_id), o, settings, now, rng
        )
        for o in outcomes
        if o.status != "skipped"
    }


@dataclass(frozen=True, slots=True)
class QuietWrite:
    """A quiet night's last write: run rows and source states only, decided at `now`.

    `finish_run` writes it in its own open of the store: one open and one checkpoint on close
    fewer per unchanged night (each ~0.1-0.2 s here). If a stage before it fails, the flow
    writes it with `write_quiet`, so the failed run keeps its rows as it did before.
    """

    run_id: str
    outcomes: tuple[SourceOutcome, ...]
    states: Mapping[str, SourceState]
    now: datetime


def quiet_write(
    plan: RunPlan,
    stored: Sequence[WriteStats],
    outcomes: Sequence[SourceOutcome],
    sources: Sequence[Source],
    settings: FetchSettings,
    *,
    now: datetime,
    rng: random.Random | None = None,
) -> QuietWrite | None:
    """The run's last write, left to `finish_run`, when the run is quiet: these outcomes hold
    no item or score, and what was stored so far leaves the stages between nothing to do
    (`groups_and_enriches`: they are skipped, so they touch none of its rows). None
    otherwise: the write is a store of its own, as always."""
    if any(o.items or o.epss for o in outcomes) or groups_and_enriches(plan, merge_stats(stored)):
        return None
    states = next_states(sources, outcomes, plan.states, settings, now=now, rng=rng)
    return QuietWrite(plan.run_id, tuple(without_items(outcomes)), states, now)


def write_quiet(db_path: Path, quiet: QuietWrite) -> None:
    """Write a quiet night's rows on their own: a stage failed before `finish_run`."""
    with open_writer(db_path) as writer:
        _write_quiet(writer, quiet)


def _write_quiet(writer: Writer, quiet: QuietWrite) -> None:
    writer.write_outcomes(
        quiet.run_id, quiet.outcomes, list(quiet.states.values()), quiet.now, index_search=False
    )


#: Items indexed per transaction after a run's writes: 2,000 peaked ~90 MiB above the run's
#: other memory for the bench's 15,000 items (one transaction: ~260 MiB) for ~2.2 s of CPU on
#: the side; 1,000 peaked no lower and cost ~25 % more CPU (each commit has fixed costs).
#: With one index row per item and word (migration 0018), the bench's 15,000 items indexed
#: alone by a fresh process peak +113-137 MiB in chunks of 1,000-4,000 (+152-156 before) and
#: +224 MiB in one transaction (+350 before).
SEARCH_INDEX_CHUNK = 2000


def index_search(db_path: Path, chunk: int = SEARCH_INDEX_CHUNK) -> None:
    """Index for search what this run's writes left in `search_pending`, `chunk` items per
    transaction (each costs ~15 MiB per 1,000 items until it commits).

    Its tables (the index's, `search_pending`) are disjoint from those the enrichment,
    classification and scoring stages write, so the flow runs it beside them on its own
    connection and the run's other core. Not beside stories, though their tables are disjoint
    too: on the ingestion bench's 15,000 new items, stories hold ~180 MiB and the index ~140 MiB
    for a moment, and side by side they made the run's peak (445-463 MiB in 4 runs; 399-403 with
    the index after stories, for 0.2-0.4 s more of 4.0-4.1 s). A crash before it loses
    nothing: the items are stored, found unranked, and the next run (or its close, see
    `close_run`) indexes them.
    """
    with open_writer(db_path, threads=STORE_THREADS) as writer:
        writer.update_search_index(chunk=chunk)


#: DuckDB threads for a batch write. The parse workers keep every core busy while batches are
#: written, so a second DuckDB thread only adds contention: one thread wrote the bench's 15,000
#: items with 30 % less CPU (9.3 -> 6.6 s) and no more wall time, and peaked 20 MiB lower.
STORE_THREADS = 1


#: Collected items written per transaction: each write costs a fixed ~0.1-0.5 s (statements,
#: commit, checkpoint on close) whatever it holds, while items held in memory cost ~10 KiB each.
#: At least a row group (storage ROW_GROUP_SIZE): DuckDB writes a transaction of that many new
#: rows to the file compressed at its commit, where it logs a smaller one whole, copies it into
#: the table and compresses it at the checkpoint on close, whose merges of the small row groups
#: each write leaves then rewrite them (3,000 before session 16: store CPU 0.64-0.75x,
#: bench/storage_bench.py --first-run). Unchanged items count too: a night of few new ones
#: still writes once. What the checkpoint merges is a write's partial last row group with the
#: next write's rows: a write due takes only the outcomes that fill whole row groups (see
#: `whole_row_groups`), logged whole when they fill one.
STORE_MIN_ITEMS = ROW_GROUP_SIZE

#: Sources collected per batch (the flow's default), chosen with STORE_MIN_ITEMS: a first run's
#: batch of feeds of ~30 entries then holds over a row group, so each batch is one write made
#: while the next is collected. With 100 (3,000 items), a write came every other batch and its
#: 6,000 items outlasted the one batch in collection (the workers waited); 200 raised the run's
#: peak memory to 466-478 MiB (cap 500). Ingestion bench, session 16, 7 alternated rounds at load
#: 0.5-1.9 (100 / 3,000 -> 170 / 4,096): first run median 17.0 -> 14.8 s (ratios 0.67-1.08,
#: median 0.89), store stage 4.1-4.9 -> 2.0-3.1 s, main-process CPU median 11.4 -> 9.5 s, peak
#: 439-469 -> 421-452 MiB; same items.
BATCH_SOURCES = 170


def store_due(outcomes: Sequence[SourceOutcome], min_items: int = STORE_MIN_ITEMS) -> bool:
    """Whether the collected outcomes hold enough items to be worth a write of their own."""
    return sum(len(o.items) for o in outcomes) >= min_items


def whole_row_groups(
    outcomes: Sequence[SourceOutcome], rows: int = ROW_GROUP_SIZE
) -> tuple[list[SourceOutcome], list[SourceOutcome]]:
    """(to write now, to keep for the next write): the outcomes from the first on whose items
    fill no more than whole row groups (all of them if the first alone overflows).

    Why: a write of 5,100 items left a row group of 1,004 that the next write's checkpoint
    merged with that write's new ones (DuckDB's vacuum), compressing ~6,100 items again:
    0.23-0.27 s of CPU in a first run's second close. Writes of 4,080 + 4,080 + 6,840 items
    leave row groups too full to merge, and log only the first two whole, compressed once by
    their checkpoint: the three writes' CPU 0.68-0.93x (median 0.82x, 6 alternated pairs at a
    load of 4.5; commits 0.48 -> 0.35 s, closes alike). What is held back (less than a row
    group of items) waits in memory for the next write.
    """
    room = sum(len(o.items) for o in outcomes) // rows * rows
    totals = accumulate(len(o.items) for o in outcomes)
    cut = next((n for n, total in enumerate(totals) if total > room), len(outcomes))
    cut = cut or len(outcomes)
    return list(outcomes[:cut]), list(outcomes[cut:])


#: A collected batch with fewer items than this (a night of mostly unchanged sources) lets
#: the next two batches be collected at once: the second queues behind the first at the shared
#: collector's gate and takes the connection slots its tail leaves idle (unchanged bench run:
#: collect 1.4-1.5 -> 0.8-1.3 s). After a heavy batch only one is: two held ~70 MiB more.
LIGHT_BATCH_ITEMS = 500


def batches_ahead(collected: Sequence[SourceOutcome], light: int = LIGHT_BATCH_ITEMS) -> int:
    """How many batches to have in collection after this one: 2 when it brought few items."""
    return 2 if sum(len(o.items) for o in collected) < light else 1


def groups_and_enriches(plan: RunPlan, stats: WriteStats) -> bool:
    """Whether the stories, search index and enrichment stages have anything to do: not when
    the run stored nothing new or changed and no earlier work was left over (the run lock
    keeps other writers out). An unchanged bench night then runs 3 tasks and opens the store 2
    times fewer (5 -> 3), whose stages took 0.6-1.9 s at a load of 13-19 (session 14)."""
    return bool(stats.total_new or stats.total_updated or plan.backlog)


def without_items(outcomes: Sequence[SourceOutcome]) -> list[SourceOutcome]:
    """Outcomes as the run report needs them: stored items and scores are released from memory."""
    return [replace(o, items=(), epss=()) for o in outcomes]


def new_items_by_language(db_path: Path, since: datetime) -> dict[str, int]:
    """How many items were first seen since `since`, per language ('?' when unknown)."""
    with open_reader(db_path) as reader:
        return reader.new_items_by_language(since)


def finish_run(db_path: Path, report: RunReport, quiet: QuietWrite | None = None) -> None:
    """Close an ingestion run's record (see `close_run`), writing a quiet night's rows first."""
    close_run(
        db_path,
        report.run_id,
        finished_at=report.finished_at,
        failed=bool(report.failed),
        summary=report.to_dict(),
        quiet=quiet,
    )


def close_run(
    db_path: Path,
    run_id: str,
    *,
    finished_at: datetime,
    failed: bool,
    summary: dict[str, Any],
    quiet: QuietWrite | None = None,
) -> None:
    """Write `quiet` (see `quiet_write`), index what is still unindexed (nothing, unless the
    fts extension was missing when `index_search` ran, or an earlier run died before it), and
    close the run's record: `partial` when some source or file failed (the run itself
    completed), `ok` otherwise."""
    with open_writer(db_path) as writer:
        if quiet is not None:
            _write_quiet(writer, quiet)
        writer.update_search_index()
        status = "partial" if failed else "ok"
        writer.finish_run(run_id, finished_at=finished_at, status=status, summary=summary)


def _skipped(source: Source, state: SourceState | None, now: datetime) -> SourceOutcome:
    why = "not due yet"
    if state is not None and state.consecutive_failures:
        why = f"backing off after {state.consecutive_failures} failure(s)"
    return SourceOutcome(
        source_id=source.id,
        status="skipped",
        started_at=now,
        duration_s=0.0,
        error=why,
        url=source.url,
    )
