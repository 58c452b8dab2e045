"""`techwatch demo`: the whole nightly job, offline, on bundled feeds and demo clients.

Ingestion (fetch, parse, store, stories, enrichment, classification, client scoring), then the
morning job (every demo client's briefing as HTML and Markdown, their summary emails to the
outbox folder, the advisor's run report to var/outbox/advisor/), then the portfolio view; the
run report is also written under var/reports/ as HTML and text.
"""

from __future__ import annotations

import os
import shutil
import sys
from datetime import UTC, date, datetime
from importlib import resources
from pathlib import Path

import typer

from techwatch.briefing.period import local_date, span
from techwatch.cli import output
from techwatch.cli.briefings import show_portfolio
from techwatch.cli.options import Db, Home, Json, SourcesFile, paths
from techwatch.cli.report import write_files
from techwatch.cli.runs import emit_report, prepare_prefect, run_flow
from techwatch.demo.server import serve
from techwatch.demo.site import PREFERRED_PORT, demo_site, write_demo_sources
from techwatch.settings import Paths

# The bundled feeds are dated from this day on: the demo's briefings cover them whatever the
# day the demo runs (a fixed "last 7 days" would be empty a week after they were written).
DEMO_FIRST_DAY = date(2026, 11, 16)


def demo(
    home: Home = None,
    db: Db = None,
    sources: SourcesFile = None,
    json: Json = False,
    verbose: bool = typer.Option(False, "--verbose", "-v", help="Show Prefect's logs."),
) -> None:
    """Serve the bundled demo feeds on 127.0.0.1 and run the nightly and morning jobs on them.

    Run it twice: the second run finds nothing new (conditional GET and dedupe) and sends no
    email twice. --sources and --clients are ignored: the demo writes its own under var/demo/.
    """
    clients = demo_clients(paths(home, db, sources).var / "demo" / "clients")
    where = paths(home, db, sources, clients)
    with serve(demo_site(), PREFERRED_PORT) as base_url:
        demo_sources = write_demo_sources(where.var / "demo" / "sources.yml", base_url)
        if not json:
            output.err.print(f"Demo feeds served at {base_url}; database {where.db}")
        show = sys.stderr.isatty() and not json
        report = run_flow(
            where,
            sources=demo_sources,
            kind="demo",
            force=True,
            show=show,
            verbose=verbose,
            clients=clients,
        )
    morning = _morning(where, clients)
    run_report = write_files(where, report["run_id"])
    if json:
        output.print_json({"ingest": report, "briefings": morning, "run_report": run_report})
        return
    emit_report(report, json=False)
    _print_morning(where, morning)
    output.out.print(
        f"Run report for the advisor: {os.path.relpath(run_report[0])} (text: "
        f"{os.path.relpath(run_report[1])}); `techwatch report` shows it again",
        highlight=False,
        markup=False,
    )
    show_portfolio(where, datetime.combine(DEMO_FIRST_DAY, datetime.min.time(), UTC), as_json=False)
    tw = _command_name()
    output.out.print(
        f"Explore: {tw} briefing dental-lausanne --clients {clients} | {tw} stories list | "
        f"{tw} cves list --kev | {tw} exposure FortiOS --clients {clients} | {tw} mail outbox",
        highlight=False,
    )


def demo_clients(folder: Path) -> Path:
    """A fresh copy of the bundled demo clients: files an advisor can open and edit."""
    bundled = Path(str(resources.files("techwatch.demo") / "clients"))
    if folder.exists():
        shutil.rmtree(folder)
    shutil.copytree(bundled, folder)
    return folder


def _morning(where: Paths, clients: Path) -> dict:
    """The morning flow for every demo client over the demo feeds' days."""
    prepare_prefect(where, verbose=False)
    from pipelines.briefings import briefings_flow
    from pipelines.local import one_shot

    today = local_date(datetime.now(UTC))
    period = span(DEMO_FIRST_DAY, max(today, DEMO_FIRST_DAY))
    with one_shot():
        return briefings_flow(
            db_path=where.db,
            clients_path=clients,
            var_path=where.var,
            period=period.label,
            smtp=False,
        )


def _print_morning(where: Paths, morning: dict) -> None:
    out = output.out
    rows = [
        (
            b["client_id"],
            b["period"],
            ", ".join(f"{k} {v}" for k, v in b["by_priority"].items()) or "nothing",
            os.path.relpath(next(f for f in b["files"] if f.endswith(".html"))),
        )
        for b in morning["briefings"]
    ]
    out.print(output.table("Briefings", ("client", "period", "stories", "HTML"), rows))
    mail = morning.get("mail") or {}
    folder = mail.get("folder")
    if folder:
        out.print(f"Summary emails (.eml and .html previews) written to {os.path.relpath(folder)}")


def _command_name() -> str:
    """How the user can call techwatch again: plain when on PATH, else the path they used."""
    if shutil.which("techwatch"):
        return "techwatch"
    return os.path.relpath(sys.argv[0]) if sys.argv and sys.argv[0] else "techwatch"
