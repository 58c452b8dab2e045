"""The `techwatch` command: a thin layer over the library.

Exit codes: 0 ok, 1 runtime failure, 2 usage or configuration error.
"""

from __future__ import annotations

import sys

import typer

from techwatch.cli import briefings as briefings_cli
from techwatch.cli import classify as classify_cli
from techwatch.cli import clients as clients_cli
from techwatch.cli import cves as cves_cli
from techwatch.cli import db, items, runs, sources
from techwatch.cli import mail as mail_cli
from techwatch.cli import report as report_cli
from techwatch.cli import stories as stories_cli
from techwatch.cli.demo import demo
from techwatch.cli.importing import import_command
from techwatch.cli.output import err
from techwatch.cli.serve import serve
from techwatch.errors import ConfigError, TechwatchError

app = typer.Typer(
    name="techwatch",
    help=(
        "Technology and security watch for digital advisors. Every command takes --home "
        "(env TECHWATCH_HOME), --db (env TECHWATCH_DB) and --sources (env TECHWATCH_SOURCES); "
        "an option wins over the environment, which wins over the default."
    ),
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
app.add_typer(sources.app, name="sources")
app.add_typer(items.app, name="items")
app.add_typer(cves_cli.app, name="cves")
app.add_typer(stories_cli.app, name="stories")
app.add_typer(db.app, name="db")
app.add_typer(runs.runs_app, name="runs")
app.add_typer(classify_cli.app, name="model")
app.add_typer(clients_cli.app, name="clients")
app.add_typer(mail_cli.app, name="mail")
app.command("classify")(classify_cli.classify)
app.command("ingest")(runs.ingest)
app.command("demo")(demo)
app.command("briefing")(briefings_cli.briefing)
app.command("portfolio")(briefings_cli.portfolio)
app.command("exposure")(briefings_cli.exposure)
app.command("search")(briefings_cli.search)
app.command("score")(briefings_cli.score)
app.add_typer(briefings_cli.triage_app, name="triage")
app.command("import")(import_command)
app.command("report")(report_cli.report)
app.command("serve")(serve)


def main(argv: list[str] | None = None) -> int:
    """Run the CLI and map errors to exit codes, with a message that names the culprit."""
    command = typer.main.get_command(app)
    try:
        # Standalone mode: typer reports usage errors itself (exit 2) and always ends in SystemExit.
        command.main(args=argv, prog_name="techwatch", standalone_mode=True)
    except SystemExit as done:
        return done.code if isinstance(done.code, int) else (0 if done.code is None else 1)
    except ConfigError as error:
        err.print(f"configuration error: {error}", markup=False, highlight=False)
        return 2
    except TechwatchError as error:
        err.print(f"error: {error}", markup=False, highlight=False)
        return 1
    return 0


def entry_point() -> None:
    sys.exit(main())
