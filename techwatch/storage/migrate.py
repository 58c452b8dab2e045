"""Numbered schema migrations: `migrations/NNNN_name.sql`, each applied once, in order.

Each migration runs in a transaction together with its row in `schema_migrations`, so a
crash leaves the schema either before or after it, never in between. A new store runs them all
in one: each commit costs a WAL write and its sync, and a fresh file (each import into a new
store, each test's store) paid one per migration before its first write (opening, migrating
and closing a new store, 10 alternated pairs at a load of 5-7.4: 0.22-0.34 -> 0.18-0.24 s of
CPU, median ratio 0.72). A store already migrated in part takes them one transaction at a
time: a migration may read the rowids of rows an earlier one rewrote, which DuckDB numbers
differently until they are committed (0016 after 0014: tests/storage/test_vulns_store.py).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from functools import cache
from importlib import resources

import duckdb

from techwatch.errors import StorageError
from techwatch.storage.connection import Conn

FILE_NAME = re.compile(r"^(\d{4})_([a-z0-9_]+)\.sql$")

BOOTSTRAP = """
    CREATE TABLE IF NOT EXISTS schema_migrations (
        version    INTEGER PRIMARY KEY,
        name       VARCHAR NOT NULL,
        applied_at TIMESTAMPTZ NOT NULL
    )
"""


@dataclass(frozen=True, slots=True)
class Migration:
    version: int
    name: str
    sql: str


def available() -> list[Migration]:
    """The migrations shipped with this package, sorted by version; duplicates are a bug."""
    return list(_shipped())


@cache
def _shipped() -> tuple[Migration, ...]:
    """The package's migration files, read once per process: they do not change under it."""
    folder = resources.files("techwatch.storage") / "migrations"
    found: dict[int, Migration] = {}
    for entry in folder.iterdir():
        match = FILE_NAME.match(entry.name)
        if match is None:
            continue
        version = int(match.group(1))
        if version in found:
            raise StorageError(f"two migrations numbered {version:04d} in {folder}")
        found[version] = Migration(version, match.group(2), entry.read_text(encoding="utf-8"))
    return tuple(found[v] for v in sorted(found))


def latest_version() -> int:
    """The schema version this code expects."""
    migrations = available()
    return migrations[-1].version if migrations else 0


def applied_versions(conn: Conn) -> set[int]:
    """Versions recorded in the database; empty when it was never migrated."""
    exists = conn.execute(
        "SELECT count(*) FROM duckdb_tables() WHERE table_name = 'schema_migrations'"
    ).fetchone()
    if not exists or not exists[0]:
        return set()
    return {row[0] for row in conn.execute("SELECT version FROM schema_migrations").fetchall()}


def is_current(conn: Conn) -> bool:
    """Whether the database records exactly the shipped migrations, in one query: every open
    of the store asks, and the full check (bootstrap, catalog, versions) cost three.

    Nothing is cached across connections: another process may migrate the file meanwhile.
    """
    try:
        row = conn.execute(
            "SELECT list(version ORDER BY version) FROM schema_migrations"
        ).fetchone()
    except duckdb.CatalogException:
        return False  # never migrated
    shipped = [m.version for m in _shipped()]
    return row is not None and row[0] == shipped


def apply_pending(conn: Conn, now: datetime) -> list[int]:
    """Apply what is missing, refuse a database written by a newer techwatch."""
    if is_current(conn):
        return []
    conn.execute(BOOTSTRAP)
    done = applied_versions(conn)
    known = available()
    newest = known[-1].version if known else 0
    if done and max(done) > newest:
        raise StorageError(
            f"database schema version {max(done)} is newer than this techwatch knows "
            f"({newest}); upgrade techwatch"
        )
    pending = [m for m in known if m.version not in done]
    if not done and pending:
        _apply(conn, pending, now)  # a new store
    else:
        for migration in pending:
            _apply(conn, [migration], now)
    return [m.version for m in pending]


def _apply(conn: Conn, migrations: list[Migration], now: datetime) -> None:
    """Run `migrations` in order, each recorded, all in one transaction."""
    conn.execute("BEGIN TRANSACTION")
    migration = migrations[0]
    try:
        for migration in migrations:
            conn.execute(migration.sql)
            conn.execute(
                "INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)",
                [migration.version, migration.name, now],
            )
        conn.execute("COMMIT")
    except duckdb.Error as e:
        conn.execute("ROLLBACK")
        raise StorageError(
            f"migration {migration.version:04d}_{migration.name}.sql failed: {e}"
        ) from e
