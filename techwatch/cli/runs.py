"""`techwatch ingest`, `techwatch demo` and `techwatch runs ...`: running and reviewing runs."""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager, nullcontext
from pathlib import Path
from typing import Any

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from techwatch import progress
from techwatch.cli import output
from techwatch.cli.options import ClientsDir, Db, Home, Json, SourcesFile, paths
from techwatch.runlock import lock_path_for, run_lock
from techwatch.settings import Paths
from techwatch.storage import open_reader

runs_app = typer.Typer(help="Review past ingestion runs.", no_args_is_help=True)


def prepare_prefect(where: Paths, verbose: bool) -> None:
    """Prefect reads its settings at import: point it at var/prefect and quiet it, first."""
    os.environ.setdefault("PREFECT_HOME", str(where.prefect_home))
    os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
    os.environ.setdefault("PREFECT_LOGGING_LEVEL", "INFO" if verbose else "WARNING")
    os.environ.setdefault("PREFECT_SERVER_LOGGING_LEVEL", "WARNING")


def run_flow(
    where: Paths,
    *,
    sources: Path,
    kind: str,
    force: bool,
    show: bool,
    verbose: bool,
    clients: Path | None = None,
) -> dict[str, Any]:
    """Run the ingestion flow under Prefect, with a progress bar when asked.

    The configuration and the run lock are checked first, so that the usual mistakes get a
    one-line message in a second instead of a Prefect traceback after its server started.
    The flow checks both again: it is also run by schedules, without this command.
    """
    # Here, not at the top: `runs list` and `runs show` read the store only.
    from techwatch.clients.config import load_clients
    from techwatch.config import load_sources

    load_sources(sources)
    if clients is not None and clients.is_dir():
        load_clients(clients)
    with run_lock(lock_path_for(where.db)):
        pass
    prepare_prefect(where, verbose)
    from pipelines.ingest import ingest_flow
    from pipelines.local import one_shot
    from techwatch.parse.pool import start_forkserver

    where.db.parent.mkdir(parents=True, exist_ok=True)
    # The parse workers' forkserver imports the parsers and loads the language model (~1 s of
    # one core) while Prefect's API server starts (~20 s), not at the flow's start, where the
    # first parse waited for it with the other core idle.
    start_forkserver()
    bar = _progress_bar() if show else nullcontext()
    with bar, one_shot():
        return ingest_flow(
            sources_path=sources,
            db_path=where.db,
            kind=kind,
            force=force,
            models_path=where.var / "models",
            clients_path=clients,
        )


def ingest(
    home: Home = None,
    db: Db = None,
    sources: SourcesFile = None,
    clients: ClientsDir = None,
    json: Json = False,
    force: bool = typer.Option(False, "--force", help="Fetch every healthy source, due or not."),
    verbose: bool = typer.Option(False, "--verbose", "-v", help="Show Prefect's logs."),
) -> None:
    """Run the ingestion flow over sources.yml (fetch, parse, clean, dedupe, store, score)."""
    where = paths(home, db, sources, clients)
    show = sys.stderr.isatty() and not json
    report = run_flow(
        where,
        sources=where.sources,
        kind="ingest",
        force=force,
        show=show,
        verbose=verbose,
        clients=where.clients,
    )
    emit_report(report, json)
    if report["status_counts"].get("failed"):
        failed = report["status_counts"]["failed"]
        output.err.print(f"{failed} source(s) failed: `techwatch sources health` lists why.")


def emit_report(report: dict[str, Any], json: bool) -> None:
    if json:
        output.print_json(report)
        return
    print_report(report)


def print_report(report: dict[str, Any]) -> None:
    """The human summary of a run: totals, failures, new items by source and language."""
    out = output.out
    counts = report["status_counts"]
    out.print(
        f"Run {report['run_id']} in {report['duration_s']:.1f} s: "
        f"{counts['ok']} fetched, {counts['not_modified']} not modified, "
        f"{counts['failed']} failed, {counts['skipped']} skipped",
        highlight=False,
    )
    out.print(
        f"New items: {report['new_items']}, updated: {report['updated_items']}", highlight=False
    )
    failed = [s for s in report["sources"] if s["status"] in ("failed", "skipped")]
    if failed:
        cols = ("source", "status", "reason", "failures", "degraded", "next attempt")
        rows = (
            (
                s["source_id"],
                s["status"],
                output.shorten(f"{s['error_kind'] or ''} {s['error'] or ''}".strip(), 70),
                s["consecutive_failures"],
                s["degraded"],
                s["next_attempt"],
            )
            for s in failed
        )
        out.print(output.table("Sources not fetched", cols, rows))
    if report["new_by_source"]:
        rows = sorted(report["new_by_source"].items(), key=lambda kv: (-kv[1], kv[0]))
        out.print(output.table("New items by source", ("source", "new"), rows))
    if report["new_by_language"]:
        rows = list(report["new_by_language"].items())
        out.print(output.table("New items by language", ("language", "new"), rows))
    if report["new_items"] == 0:
        out.print("Nothing new since the last run.")
    stories = report.get("stories") or {}
    if stories.get("items"):
        out.print(
            f"Stories: {stories['new_stories']} new, {stories['joined']} items joined an "
            f"existing story, {stories['merges']} merged",
            highlight=False,
        )
    classification = report.get("classification") or {}
    if classification.get("skipped"):
        out.print(f"Classification skipped: {classification['skipped']}", highlight=False)
    elif "classified" in classification:
        trained = classification.get("trained_default")
        note = f" (default model trained in {classification['train_seconds']:.0f} s)"
        note = note if trained else ""
        out.print(
            f"Classified {classification['classified']} items with model "
            f"{classification.get('model_version')}{note}",
            highlight=False,
        )
    scoring = report.get("scoring") or {}
    if "decisions" in scoring:
        counts = ", ".join(f"{k} {v}" for k, v in sorted(scoring["by_priority"].items()))
        out.print(
            f"Scored {scoring['stories']} stories for {scoring['clients']} clients: "
            f"{scoring['decisions']} decisions ({counts or 'none'})",
            highlight=False,
        )
    elif scoring.get("skipped"):
        out.print(f"Client scoring skipped: {scoring['skipped']}", highlight=False)


@contextmanager
def _progress_bar() -> Iterator[None]:
    bar = Progress(
        TextColumn("[bold]ingest"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("{task.fields[last]}"),
        TimeElapsedColumn(),
        console=output.err,
        transient=True,
    )
    task = bar.add_task("sources", total=None, last="")

    def listener(event: str, data: dict[str, Any]) -> None:
        if event == "planned":
            bar.update(task, total=data["due"])
        elif event == "source_done":
            outcome = data["outcome"]
            bar.update(task, advance=1, last=f"{outcome.source_id}: {outcome.status}")

    with bar, progress.listening(listener):
        yield


@runs_app.command("list")
def list_runs(
    home: Home = None,
    db: Db = None,
    sources: SourcesFile = None,
    json: Json = False,
    limit: int = typer.Option(10, "--limit", min=1, help="At most N runs."),
) -> None:
    """The latest ingestion runs, newest first."""
    with open_reader(paths(home, db, sources).db) as reader:
        rows = reader.runs(limit=limit)
    output.listing(
        rows,
        as_json=json,
        title=f"{len(rows)} runs",
        columns=("run", "kind", "started", "finished", "status"),
        cells=lambda r: (
            r["run_id"],
            r.get("kind"),
            r.get("started_at"),
            r.get("finished_at"),
            r.get("status"),
        ),
    )


@runs_app.command("show")
def show_run(
    run_id: str = typer.Argument(..., help="Run id from `runs list`."),
    home: Home = None,
    db: Db = None,
    sources: SourcesFile = None,
    json: Json = False,
) -> None:
    """One run: per-source status, timing, counts and errors."""
    with open_reader(paths(home, db, sources).db) as reader:
        rows = reader.run_sources(run_id)
    if not rows:
        output.err.print(f"no run with id {run_id!r}")
        raise typer.Exit(1)
    output.listing(
        rows,
        as_json=json,
        title=f"run {run_id}",
        columns=("source", "status", "http", "entries", "new", "updated", "seconds", "error"),
        cells=lambda r: (
            r["source_id"],
            r["status"],
            r.get("http_status"),
            r.get("entries"),
            r.get("new_items"),
            r.get("updated_items"),
            r.get("duration_s"),
            output.shorten(f"{r.get('error_kind') or ''} {r.get('error') or ''}".strip(), 60),
        ),
    )
