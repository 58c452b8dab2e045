"""Options every command takes, with the precedence option > environment > default, and the
parsing of their values."""

from __future__ import annotations

import getpass
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Annotated

import typer

from techwatch.settings import ENV_CLIENTS, ENV_DB, ENV_HOME, ENV_SOURCES, Paths, resolve_paths

Home = Annotated[
    Path | None,
    typer.Option(
        "--home",
        envvar=ENV_HOME,
        help="Working folder holding var/ (default: the current folder).",
        show_default=False,
    ),
]
Db = Annotated[
    Path | None,
    typer.Option(
        "--db",
        envvar=ENV_DB,
        help="DuckDB file (default: var/techwatch.duckdb under the home).",
        show_default=False,
    ),
]
SourcesFile = Annotated[
    Path | None,
    typer.Option(
        "--sources",
        envvar=ENV_SOURCES,
        help="sources.yml to use (default: sources.yml in the home).",
        show_default=False,
    ),
]
ClientsDir = Annotated[
    Path | None,
    typer.Option(
        "--clients",
        envvar=ENV_CLIENTS,
        help="Folder of client profiles, one <id>.yml each (default: clients/ in the home).",
        show_default=False,
    ),
]
Json = Annotated[bool, typer.Option("--json", help="Print JSON on stdout (logs stay on stderr).")]


def os_user() -> str:
    """Who runs the command, when --by and TECHWATCH_CONSULTANT say nothing."""
    try:
        return getpass.getuser()
    except (KeyError, OSError):  # no login name (a container without a passwd entry)
        return "unknown"


def paths(
    home: Path | None, db: Path | None, sources: Path | None, clients: Path | None = None
) -> Paths:
    """Resolve paths; typer already applied the environment variables."""
    return resolve_paths(home, db, sources, env={}, clients=clients)


_SPAN = re.compile(r"^\s*(\d+)\s*([mhdw])\s*$")
_UNITS = {"m": "minutes", "h": "hours", "d": "days", "w": "weeks"}


def parse_since(value: str | None, now: datetime) -> datetime | None:
    """'7d', '12h', '30m', '2w' or an ISO date -> a UTC datetime; None stays None."""
    if value is None:
        return None
    match = _SPAN.match(value)
    if match:
        return now - timedelta(**{_UNITS[match[2]]: int(match[1])})
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        raise typer.BadParameter(
            f"{value!r}: use a span like 7d, 12h, 30m, 2w or an ISO date", param_hint="--since"
        ) from None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)
