"""The `techwatch` command: a thin layer over the library.

Exit codes: 0 ok, 1 runtime failure, 2 usage or configuration error.

Commands are registered by name (COMMANDS) and their modules imported only when they run: a
consultant's query (`items list`, `cves show`...) then loads the store's code, not the flows,
the classifier, the mail sender and the briefing composer of every other command. Importing
them all took ~1.2 s of each command's ~1.3 s (bench/cli_bench.py). `--help`, a typo or no
command at all still sees every command.
"""

from __future__ import annotations

import sys
from importlib import import_module
from typing import Final, Literal

import typer

from techwatch.cli.output import err
from techwatch.errors import ConfigError, TechwatchError

HELP: Final = (
    "Technology and security watch for digital advisors. Every command takes --home "
    "(env TECHWATCH_HOME), --db (env TECHWATCH_DB) and --sources (env TECHWATCH_SOURCES); "
    "an option wins over the environment, which wins over the default."
)

#: Every command in the order `--help` lists it: name -> (module, attribute, group or command).
COMMANDS: Final[dict[str, tuple[str, str, Literal["group", "command"]]]] = {
    "classify": ("techwatch.cli.classify", "classify", "command"),
    "ingest": ("techwatch.cli.runs", "ingest", "command"),
    "demo": ("techwatch.cli.demo", "demo", "command"),
    "briefing": ("techwatch.cli.briefings", "briefing", "command"),
    "portfolio": ("techwatch.cli.briefings", "portfolio", "command"),
    "exposure": ("techwatch.cli.briefings", "exposure", "command"),
    "search": ("techwatch.cli.search", "search", "command"),
    "score": ("techwatch.cli.briefings", "score", "command"),
    "import": ("techwatch.cli.importing", "import_command", "command"),
    "report": ("techwatch.cli.report", "report", "command"),
    "serve": ("techwatch.cli.serve", "serve", "command"),
    "sources": ("techwatch.cli.sources", "app", "group"),
    "items": ("techwatch.cli.items", "app", "group"),
    "cves": ("techwatch.cli.cves", "app", "group"),
    "stories": ("techwatch.cli.stories", "app", "group"),
    "db": ("techwatch.cli.db", "app", "group"),
    "runs": ("techwatch.cli.runs", "runs_app", "group"),
    "model": ("techwatch.cli.classify", "app", "group"),
    "clients": ("techwatch.cli.clients", "app", "group"),
    "mail": ("techwatch.cli.mail", "app", "group"),
    "triage": ("techwatch.cli.briefings", "triage_app", "group"),
}


def build_app(only: str | None = None) -> typer.Typer:
    """The command tree: every command, or only `only` (the one about to run)."""
    app = typer.Typer(
        name="techwatch",
        help=HELP,
        no_args_is_help=True,
        add_completion=False,
        pretty_exceptions_enable=False,
    )

    @app.callback()
    def root() -> None:
        # A tree of one command stays a group: `techwatch ingest` still names its command.
        pass

    for name, (module, attribute, kind) in COMMANDS.items():
        if only is not None and name != only:
            continue
        target = getattr(import_module(module), attribute)
        if kind == "group":
            app.add_typer(target, name=name)
        else:
            app.command(name)(target)
    return app


def main(argv: list[str] | None = None) -> int:
    """Run the CLI and map errors to exit codes, with a message that names the culprit."""
    args = sys.argv[1:] if argv is None else argv
    only = args[0] if args and args[0] in COMMANDS else None
    command = typer.main.get_command(build_app(only))
    try:
        # Standalone mode: typer reports usage errors itself (exit 2) and always ends in SystemExit.
        command.main(args=args, prog_name="techwatch", standalone_mode=True)
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
