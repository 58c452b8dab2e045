"""Opening DuckDB files: short-lived connections that wait politely for the file lock.

DuckDB lets one process open a file read-write, or several processes read-only, never both.
Every connection therefore lives for one unit of work, and opening one retries with a bounded
back-off while another process holds the lock, then fails with DatabaseBusyError.

The file is ATTACHed to an in-memory instance with ROW_GROUP_SIZE rows per row group, an
option of ATTACH only (neither `duckdb.connect` nor the file remembers it): the checkpoint
merges ("vacuums") a table's small row groups into full ones, holding the rows it rewrites in
memory, so the size bounds what one write of a grown store adds. One instance per (process,
file), as DuckDB's own cache did for `duckdb.connect`: every connection is a cursor on it,
and the last one closed closes the instance, which checkpoints and releases the file for
other processes.
"""

from __future__ import annotations

import logging
import random
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Any, TypeAlias

import duckdb
import pyarrow as pa

from techwatch.errors import DatabaseBusyError, StorageError

log = logging.getLogger(__name__)

# Never reach for the network to install or autoload an extension: full-text search is LOADed
# from the wheel folder (see fts.py).
CONFIG: dict[str, str | bool | int | float | list[str]] = {
    "autoinstall_known_extensions": False,
    "autoload_known_extensions": False,
}

# Rows per row group (DuckDB's default 122,880). Session 13, bench/store_nights.py, 20 nights:
# one write added at most 394-409 MiB with the default (whole-store merges), 166-178 MiB with
# 4,096; 8,192 and 16,384 still spiked to 257 and 304 MiB (items rows hold html and text).
# The cost: writes take ~5 % longer, and the ingestion bench's stories stage peaked 30-50 MiB
# higher (484/510 MiB at 122,880 against 526/526 in one window; cause not yet known).
ROW_GROUP_SIZE = 4_096
# The attached file's catalog name, made the default of every connection (`USE`).
CATALOG = "store"

FIRST_DELAY_S = 0.05
MAX_DELAY_S = 1.0


@dataclass
class _Instance:
    """The process's in-memory DuckDB with one file attached, and how many connections use it."""

    db: duckdb.DuckDBPyConnection
    read_only: bool
    users: int = 0


_instances: dict[Path, _Instance] = {}
_instances_lock = threading.Lock()


class Connection:
    """A connection to one store: a cursor on the process's instance of the file.

    It behaves as a DuckDB connection (execute, register, fetch..., `with`); closing the
    last one of a file releases the file.
    """

    def __init__(self, cursor: duckdb.DuckDBPyConnection, key: Path) -> None:
        self._cursor: duckdb.DuckDBPyConnection | None = cursor
        self._key = key

    def __getattr__(self, name: str) -> Any:
        return getattr(self._live(), name)

    def _live(self) -> duckdb.DuckDBPyConnection:
        """The cursor, or DuckDB's own error for a closed connection."""
        if self._cursor is None:
            raise duckdb.ConnectionException("Connection already closed!")
        return self._cursor

    def cursor(self) -> Connection:
        """Another connection to the same file (DuckDB's cursor would not `USE` the store)."""
        self._live()
        with _instances_lock:
            return _hand_out(_instances[self._key], self._key)

    def close(self) -> None:
        """Close this connection; the last one of its file closes the instance (checkpoint)."""
        if self._cursor is None:
            return
        cursor, self._cursor = self._cursor, None
        cursor.close()
        _release(self._key)

    def __enter__(self) -> Connection:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        self.close()


# What the storage functions take: a store connection from `connect`, or DuckDB's own (a
# statement's result cursor, or a test's plain connection), which Connection passes through to.
Conn: TypeAlias = Connection | duckdb.DuckDBPyConnection


def connect(
    path: Path,
    *,
    read_only: bool,
    wait_s: float,
    sleep: Callable[[float], None] = time.sleep,
    clock: Callable[[], float] = time.monotonic,
) -> Connection:
    """Open `path`, retrying while another process holds the lock, for at most `wait_s`."""
    deadline = clock() + wait_s
    delay = FIRST_DELAY_S
    while True:
        try:
            return _open(Path(path), read_only)
        except duckdb.Error as e:
            if not is_lock_error(e):
                raise StorageError(f"cannot open database {path}: {e}") from e
            remaining = deadline - clock()
            if remaining <= 0:
                raise DatabaseBusyError(busy_message(path, read_only, wait_s, e)) from e
            sleep(min(delay * random.uniform(0.8, 1.2), remaining))
            delay = min(delay * 2, MAX_DELAY_S)


def _open(path: Path, read_only: bool) -> Connection:
    """A connection on this process's instance of `path`, attaching the file if none is open."""
    key = path.resolve()
    with _instances_lock:
        instance = _instances.get(key)
        if instance is None:
            instance = _attach(key, read_only)
            _instances[key] = instance
        elif instance.read_only != read_only:
            # What duckdb.connect says for the same case, so that is_lock_error applies.
            raise duckdb.ConnectionException(
                "Can't open a connection to same database file with a different "
                "configuration than existing connections"
            )
        try:
            return _hand_out(instance, key)
        except BaseException:
            _close_if_unused(key, instance)
            raise


def _attach(path: Path, read_only: bool) -> _Instance:
    """A new in-memory instance with `path` attached as its default catalog."""
    # An in-memory instance spills to ./.tmp; a file's own instance spilled beside the file.
    db = duckdb.connect(":memory:", config={**CONFIG, "temp_directory": f"{path}.tmp"})
    try:
        options = f"ROW_GROUP_SIZE {ROW_GROUP_SIZE}" + (", READ_ONLY" if read_only else "")
        literal = str(path).replace("'", "''")
        db.execute(f"ATTACH '{literal}' AS {CATALOG} ({options})")
    except BaseException:
        db.close()
        raise
    return _Instance(db, read_only)


def _hand_out(instance: _Instance, key: Path) -> Connection:
    """A cursor on `instance` set up as every connection is; the caller holds the lock."""
    cursor = instance.db.cursor()
    try:
        cursor.execute(f"USE {CATALOG}")
        cursor.execute("SET TimeZone = 'UTC'")
        # DuckDB draws a progress bar on stdout for long statements: stdout is for data (--json).
        cursor.execute("SET enable_progress_bar = false")
    except BaseException:
        cursor.close()
        raise
    instance.users += 1
    return Connection(cursor, key)


def _release(key: Path) -> None:
    """One connection fewer on `key`; the last closes the instance, releasing the file."""
    with _instances_lock:
        instance = _instances[key]
        instance.users -= 1
        _close_if_unused(key, instance)


def _close_if_unused(key: Path, instance: _Instance) -> None:
    """Close `instance` (checkpoint, file released) once no connection uses it; the caller
    holds the lock."""
    if instance.users == 0:
        del _instances[key]
        instance.db.close()


def is_lock_error(error: duckdb.Error) -> bool:
    """True when the file is held by another process, or by this one in the other mode."""
    text = str(error)
    if isinstance(error, duckdb.IOException):
        return "Could not set lock" in text
    return isinstance(error, duckdb.ConnectionException) and "different configuration" in text


def busy_message(path: Path, read_only: bool, wait_s: float, error: duckdb.Error) -> str:
    """Say which file, which mode, how long we waited, and who holds it (DuckDB names the PID)."""
    mode = "read-only" if read_only else "read-write"
    if isinstance(error, duckdb.ConnectionException):
        holder = "this process already has it open in the other mode"
    else:
        holder = "another process holds it (the nightly ingestion writes, or a reader is open)"
    detail = str(error).split("See also")[0].strip()
    return (
        f"database {path} is busy: could not open it {mode} within {wait_s:g}s because "
        f"{holder}; try again later. DuckDB said: {detail}"
    )


@contextmanager
def transaction(conn: Conn, what: str) -> Iterator[None]:
    """BEGIN ... COMMIT, rolled back on any error; DuckDB errors become StorageError."""
    conn.execute("BEGIN TRANSACTION")
    try:
        yield
    except BaseException as e:
        conn.execute("ROLLBACK")
        if isinstance(e, duckdb.Error):
            raise StorageError(f"{what} failed and was rolled back: {e}") from e
        raise
    conn.execute("COMMIT")


@contextmanager
def registered(conn: Conn, **tables: pa.Table) -> Iterator[None]:
    """Expose Arrow tables to SQL under their keyword names for the duration of the block."""
    for name, table in tables.items():
        conn.register(name, table)
    try:
        yield
    finally:
        for name in tables:
            conn.unregister(name)
