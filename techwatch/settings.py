"""Where techwatch keeps its files: option over environment over default, resolved once."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from techwatch.runlock import lock_path_for

ENV_HOME = "TECHWATCH_HOME"
ENV_DB = "TECHWATCH_DB"
ENV_SOURCES = "TECHWATCH_SOURCES"
ENV_CLIENTS = "TECHWATCH_CLIENTS"


@dataclass(frozen=True, slots=True)
class Paths:
    """The working folder and the files under it."""

    home: Path
    db: Path
    sources: Path
    clients: Path  # folder of client profiles, one <id>.yml each

    @property
    def var(self) -> Path:
        return self.home / "var"

    @property
    def run_lock(self) -> Path:
        """One lock file per database: overlapping runs must never be two writers."""
        return lock_path_for(self.db)

    @property
    def prefect_home(self) -> Path:
        return self.var / "prefect"


def resolve_paths(
    home: Path | None = None,
    db: Path | None = None,
    sources: Path | None = None,
    env: Mapping[str, str] | None = None,
    clients: Path | None = None,
) -> Paths:
    """Resolve the locations: explicit value, else environment, else default under home."""
    env = os.environ if env is None else env
    home_path = _pick(home, env.get(ENV_HOME)) or Path.cwd()
    home_path = home_path.expanduser().resolve()
    db_path = _pick(db, env.get(ENV_DB)) or home_path / "var" / "techwatch.duckdb"
    sources_path = _pick(sources, env.get(ENV_SOURCES)) or home_path / "sources.yml"
    clients_path = _pick(clients, env.get(ENV_CLIENTS)) or home_path / "clients"
    return Paths(
        home=home_path,
        db=_under(home_path, db_path),
        sources=_under(home_path, sources_path),
        clients=_under(home_path, clients_path),
    )


def _pick(explicit: Path | None, from_env: str | None) -> Path | None:
    if explicit is not None:
        return Path(explicit)
    if from_env:
        return Path(from_env)
    return None


def _under(home: Path, path: Path) -> Path:
    """Relative paths are relative to the current folder, like any command-line tool."""
    path = path.expanduser()
    return path if path.is_absolute() else (Path.cwd() / path).resolve()
