"""`techwatch demo`: the whole nightly ingestion, offline, on bundled feeds."""

from __future__ import annotations

import os
import shutil
import sys

import typer

from techwatch.cli import output
from techwatch.cli.options import Db, Home, Json, SourcesFile, paths
from techwatch.cli.runs import emit_report, run_flow
from techwatch.demo.server import serve
from techwatch.demo.site import PREFERRED_PORT, demo_site, write_demo_sources


def demo(
    home: Home = None,
    db: Db = None,
    sources: SourcesFile = None,
    json: Json = False,
    verbose: bool = typer.Option(False, "--verbose", "-v", help="Show Prefect's logs."),
) -> None:
    """Serve the bundled demo feeds on 127.0.0.1 and run the real ingestion flow on them.

    Run it twice: the second run finds nothing new (conditional GET and dedupe).
    --sources is ignored: the demo writes its own under var/demo/.
    """
    where = paths(home, db, sources)
    with serve(demo_site(), PREFERRED_PORT) as base_url:
        demo_sources = write_demo_sources(where.var / "demo" / "sources.yml", base_url)
        if not json:
            output.err.print(f"Demo feeds served at {base_url}; database {where.db}")
        show = sys.stderr.isatty() and not json
        report = run_flow(
            where, sources=demo_sources, kind="demo", force=True, show=show, verbose=verbose
        )
    emit_report(report, json)
    if not json:
        tw = _command_name()
        output.out.print(
            f"Explore: {tw} items list | {tw} items search ransomware | {tw} sources health",
            highlight=False,
        )


def _command_name() -> str:
    """How the user can call techwatch again: plain when on PATH, else the path they used."""
    if shutil.which("techwatch"):
        return "techwatch"
    return os.path.relpath(sys.argv[0]) if sys.argv and sys.argv[0] else "techwatch"
