"""Nightly ingestion flow: load sources -> fetch and parse (batches) -> store -> report.

The flow only orchestrates: every task body is one call into the techwatch library.
Large task inputs are wrapped in `quote()`: Prefect otherwise walks every object inside them
looking for futures, which cost more than the writes themselves for 15k items.
"""

from __future__ import annotations

import time
from collections import deque
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from prefect import flow, get_run_logger, task
from prefect.cache_policies import NONE
from prefect.context import get_run_context
from prefect.utilities.annotations import quote

from pipelines.hooks import alert_advisor
from techwatch import collect, gcpacing, ingest, memory, progress, watch
from techwatch.classify.apply import classify_new_items
from techwatch.config import SourcesConfig, load_sources
from techwatch.enrich.refresh import refresh
from techwatch.errors import TransientError
from techwatch.parse.pool import ParsePool, start_forkserver
from techwatch.report import build_report, merge_stats
from techwatch.runlock import lock_path_for, run_lock
from techwatch.storage import staging
from techwatch.stories.run import GroupingReport, group_pending
from techwatch.types import Source, SourceOutcome, SourceState, WriteStats

DB_RETRY_DELAYS_S = [2, 5, 15]


def retry_if_transient(task: Any, task_run: Any, state: Any) -> bool:
    """Prefect retry condition: retry transient errors (a busy database), never terminal ones."""
    error = state.result(raise_on_failure=False)
    return isinstance(error, TransientError)


def db_task(fn: Any) -> Any:
    """A task that touches the database: a busy file (transient) is retried with delays."""
    return task(
        fn,
        cache_policy=NONE,
        retries=len(DB_RETRY_DELAYS_S),
        retry_delay_seconds=DB_RETRY_DELAYS_S,
        retry_condition_fn=retry_if_transient,
    )


@task(cache_policy=NONE)
def load_config(sources_path: Path) -> SourcesConfig:
    return load_sources(sources_path)


@db_task
def prepare(
    db_path: Path,
    config: SourcesConfig,
    now: datetime,
    kind: str,
    force: bool,
    flow_run_id: str | None,
) -> ingest.RunPlan:
    return ingest.prepare_run(
        db_path, config.sources, now=now, kind=kind, force=force, flow_run_id=flow_run_id
    )


@task(cache_policy=NONE, task_run_name="collect-{index}")
def collect_batch(
    index: int,
    sources: tuple[Source, ...],
    states: dict[str, SourceState],
    collector: collect.Collector,
) -> list[SourceOutcome]:
    def done(outcome: SourceOutcome) -> None:
        progress.publish("source_done", outcome=outcome)

    return collector.collect(sources, states, on_done=done)


@db_task
def store(
    db_path: Path,
    run_id: str,
    config: SourcesConfig,
    outcomes: list[SourceOutcome],
    previous: dict[str, SourceState],
) -> tuple[WriteStats, dict[str, SourceState]]:
    return ingest.store_batch(
        db_path, run_id, config.sources, outcomes, previous, config.settings, now=datetime.now(UTC)
    )


@db_task
def write_quiet(db_path: Path, quiet: ingest.QuietWrite) -> None:
    ingest.write_quiet(db_path, quiet)


@db_task
def index_search(db_path: Path) -> None:
    ingest.index_search(db_path)


@db_task
def enrich(db_path: Path, since: datetime) -> dict[str, Any]:
    return refresh(db_path, since=since).to_dict()


@db_task
def classify_items(
    db_path: Path, models_path: Path, since: datetime, train_default: bool
) -> dict[str, Any]:
    return classify_new_items(
        db_path, models_path, since=since, train_default=train_default
    ).to_dict()


@db_task
def group_stories(db_path: Path, now: datetime) -> dict[str, Any]:
    return group_pending(db_path, now=now).to_dict()


@db_task
def score_clients(db_path: Path, clients_path: Path | None, since: datetime) -> dict[str, Any]:
    return watch.score_night(db_path, clients_path, since, datetime.now(UTC))


@db_task
def finish(db_path: Path, report: Any, quiet: ingest.QuietWrite | None) -> None:
    ingest.finish_run(db_path, report, quiet)


@task(cache_policy=NONE)
def count_new_by_language(db_path: Path, since: datetime) -> dict[str, int]:
    return ingest.new_items_by_language(db_path, since)


@flow(name="techwatch-ingest", log_prints=False, on_failure=[alert_advisor])
def ingest_flow(
    sources_path: Path,
    db_path: Path,
    kind: str = "ingest",
    force: bool = False,
    batch_size: int = ingest.BATCH_SOURCES,
    lock_wait_s: float = 0.0,
    models_path: Path | None = None,
    clients_path: Path | None = None,
) -> dict[str, Any]:
    """One ingestion run over `sources_path` into `db_path`; returns the run report as a dict.

    Models are read from `models_path` (default: `models/` beside the database). Only the demo
    trains the default model when there is none; a nightly run skips classification and says so.
    """
    logger = get_run_logger()
    staging.use_system_allocator()
    # The workers' imports and language model load while the run prepares; `techwatch ingest`
    # started them already, during the API server's start (then this returns at once).
    start_forkserver()
    config = load_config(sources_path)
    with gcpacing.collecting_less(), run_lock(lock_path_for(db_path), wait_s=lock_wait_s):
        started = datetime.now(UTC)
        stage: dict[str, float] = {}
        t = time.perf_counter()
        plan = prepare(db_path, quote(config), started, kind, force, _flow_run_id())
        stage["prepare"] = time.perf_counter() - t
        progress.publish("planned", due=len(plan.due), skipped=len(plan.skipped))

        outcomes, stats, states, quiet = _collect_and_store(
            db_path, plan, config, batch_size, stage
        )
        # An unchanged night leaves stories, the search index and enrichment nothing to do:
        # they are not run (the report keeps their fields: nothing grouped, in no time).
        busy = ingest.groups_and_enriches(plan, stats)
        # What collect and store freed stays in glibc's arenas: returned before stories and the
        # index, the stages after count less of it in the run's peak.
        if busy:
            memory.release()
        indexing = None
        try:
            t = time.perf_counter()
            stories = (
                group_stories(db_path, datetime.now(UTC)) if busy else GroupingReport().to_dict()
            )
            stage["stories"] = time.perf_counter() - t
            # The search index is DuckDB's work on its own connection (disjoint tables, and no
            # items are written from here on): it runs on the other core beside enrichment,
            # classification and scoring. Not beside stories: the two stages' transient memory
            # added up to the run's peak (see ingest.index_search).
            if busy:
                memory.release()
                indexing = index_search.submit(db_path)
            t = time.perf_counter()
            if busy:
                enrich(db_path, started)
            stage["enrich"] = time.perf_counter() - t
            t = time.perf_counter()
            models = models_path or db_path.parent / "models"
            classification = classify_items(db_path, models, started, kind == "demo")
            stage["classify"] = time.perf_counter() - t
            if classification["skipped"]:
                logger.warning(classification["skipped"])
            t = time.perf_counter()
            scoring = score_clients(db_path, clients_path, started)
            stage["score"] = time.perf_counter() - t
            t = time.perf_counter()
            if indexing is not None:
                indexing.result()
            stage["search_index_wait"] = time.perf_counter() - t
        except BaseException:
            if quiet is not None:  # left to `finish`, which will not run: the rows stay
                write_quiet(db_path, quote(quiet))
            raise
        finally:
            # A failing stage must not leave the run lock while the index still writes.
            if indexing is not None:
                indexing.wait()

        t = time.perf_counter()
        # The run lock keeps other writers out: the items first seen since `started` are this
        # run's new ones, so a run that stored none needs no query (nor a task and a connection).
        by_language = count_new_by_language(db_path, started) if stats.total_new else {}
        report = build_report(
            run_id=plan.run_id,
            started_at=started,
            finished_at=datetime.now(UTC),
            sources=config.sources,
            outcomes=[*outcomes, *plan.skipped],
            stats=stats,
            states={**plan.states, **states},
            new_by_language=by_language,
            stage_seconds=stage,
            classification=classification,
            stories=stories,
            scoring=scoring,
        )
        finish(db_path, quote(report), quote(quiet))
        result = report.to_dict()
        # The stored summary is written by `finish`, so only the returned copy can time it.
        result["stage_seconds"]["finish"] = round(time.perf_counter() - t, 3)
    logger.info(
        "run %s: %s, %d new, %d updated",
        plan.run_id,
        report.status_counts,
        report.new_items,
        report.updated_items,
    )
    return result


def _collect_and_store(
    db_path: Path,
    plan: ingest.RunPlan,
    config: SourcesConfig,
    batch_size: int,
    stage: dict[str, float],
) -> tuple[list[SourceOutcome], WriteStats, dict[str, SourceState], ingest.QuietWrite | None]:
    """Collect batch k+1 while what was collected is written, so fetching and parsing never
    wait on disk. Batches are written once they hold `ingest.STORE_MIN_ITEMS` items (or at the
    end), the outcomes that fill whole row groups first (`ingest.whole_row_groups`): an
    unchanged night of not-modified sources is then one write, not one per batch, and a quiet
    night's is left to `finish` (see `ingest.quiet_write`), returned last."""
    outcomes: list[SourceOutcome] = []
    parts: list[WriteStats] = []
    states: dict[str, SourceState] = {}
    stage.update(collect=0.0, store=0.0)
    work = ingest.batches(plan.due, batch_size)
    settings = config.settings
    known = dict(plan.states)
    unstored: list[SourceOutcome] = []
    quiet = None
    t = time.perf_counter()
    with (
        ParsePool(settings.parse_workers, settings.parse_timeout_s) as pool,
        collect.Collector(settings, pool) as collector,
    ):

        def submit(index: int) -> Any:
            return collect_batch.submit(index, quote(work[index]), quote(known), quote(collector))

        pending = deque([submit(0)] if work else [])
        for index in range(len(work)):
            collected = pending.popleft().result()
            ahead = ingest.batches_ahead(collected)
            unstored.extend(collected)
            # Prefect's finished future holds its state, and so this list, in a reference cycle
            # that only a full garbage collection frees: every item of the run would stay in
            # memory until then (~130 MiB for 15k items, with the UTF-8 copies Arrow caches).
            collected.clear()
            stage["collect"] += time.perf_counter() - t
            t = time.perf_counter()
            last = index + 1 == len(work)
            for later in range(index + 1 + len(pending), min(index + 1 + ahead, len(work))):
                pending.append(submit(later))
            if last:
                quiet = ingest.quiet_write(
                    plan, parts, unstored, config.sources, settings, now=datetime.now(UTC)
                )
            if quiet is not None:
                outcomes.extend(quiet.outcomes)
                states.update(quiet.states)
            elif last or ingest.store_due(unstored):
                written, unstored = (unstored, []) if last else ingest.whole_row_groups(unstored)
                part, new_states = store(
                    db_path, plan.run_id, quote(config), quote(written), quote(known)
                )
                outcomes.extend(ingest.without_items(written))
                del written  # its items are stored: freed now, not at the next write
                parts.append(part)
                states.update(new_states)
            stage["store"] += time.perf_counter() - t
            t = time.perf_counter()
    return outcomes, merge_stats(parts), states, quiet


def _flow_run_id() -> str | None:
    context = get_run_context()
    flow_run = getattr(context, "flow_run", None)
    return str(flow_run.id) if flow_run is not None else None
