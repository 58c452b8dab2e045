"""`techwatch report`: the advisor's report of the latest (or a given) run, optionally mailed."""

from __future__ import annotations

import os
from datetime import UTC, datetime
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer

from techwatch import alerts, runreport
from techwatch.cli import output
from techwatch.cli.mail import mail_settings
from techwatch.cli.options import Db, Home, SourcesFile, paths
from techwatch.files import write_atomically
from techwatch.settings import Paths


class Format(StrEnum):
    text = "text"
    html = "html"
    json = "json"


def report(
    run_id: str | None = typer.Option(None, "--run", help="A run id (default: the latest run)."),
    fmt: Annotated[Format, typer.Option("--format", help="text, html or json.")] = Format.text,
    language: str | None = typer.Option(
        None, "--language", help="fr or en (default: TECHWATCH_ADVISOR_LANGUAGE, else fr)."
    ),
    send: bool = typer.Option(
        False, "--send", help="Mail it to TECHWATCH_ADVISOR_EMAIL (once per run)."
    ),
    home: Home = None,
    db: Db = None,
    sources: SourcesFile = None,
) -> None:
    """Show what a run did: sources failing (and since when) or unusually quiet, new items
    and stories, client decisions by priority, emails, model version, time per stage."""
    where = paths(home, db, sources)
    lang = _language(language)
    if send:
        settings = mail_settings(where)
        now = lambda: datetime.now(UTC)  # noqa: E731
        result = alerts.send_report(
            where.db, settings, alerts.advisor_folder(where.var), now, run_id=run_id, language=lang
        )
        output.err.print(
            f"run report {result['run_id']}: {result['result']} ({result.get('reply') or ''})",
            markup=False,
            highlight=False,
        )
        return
    found = alerts.load_report(where.db, run_id)
    output.out.print(runreport.render(found, fmt.value, lang), markup=False, highlight=False)


def write_files(where: Paths, run_id: str | None = None, language: str | None = None) -> list[Path]:
    """Write the report as HTML and text under var/reports/; their paths (for the demo)."""
    found = alerts.load_report(where.db, run_id)
    lang = _language(language)
    written = []
    for fmt, suffix in (("html", "html"), ("text", "txt")):
        path = where.var / "reports" / f"run-report-{found.run_id}.{suffix}"
        write_atomically(path, runreport.render(found, fmt, lang))
        written.append(path)
    return written


def _language(chosen: str | None) -> str:
    if chosen is None:
        return runreport.language(os.environ)
    if chosen not in runreport.LANGUAGES:
        raise typer.BadParameter(f"expected one of {', '.join(runreport.LANGUAGES)}")
    return chosen
