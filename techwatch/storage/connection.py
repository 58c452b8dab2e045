"""Opening DuckDB files: short-lived connections that wait politely for the file lock.

DuckDB lets one process open a file read-write, or several processes read-only, never both.
Every connection therefore lives for one unit of work, and opening one retries with a bounded
back-off while another process holds the lock, then fails with DatabaseBusyError.
"""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import duckdb
import pyarrow as pa

from techwatch.errors import DatabaseBusyError, StorageError

log = logging.getLogger(__name__)

# Never reach for the network to install or autoload an extension: full-text search is LOADed
# from the wheel folder (see fts.py). The same config for every connection, so that DuckDB's
# per-process instance cache never sees two configurations of one file but for read_only.
CONFIG: dict[str, str | bool | int | float | list[str]] = {
    "autoinstall_known_extensions": False,
    "autoload_known_extensions": False,
}

FIRST_DELAY_S = 0.05
MAX_DELAY_S = 1.0


def connect(
    path: Path,
    *,
    read_only: bool,
    wait_s: float,
    sleep: Callable[[float], None] = time.sleep,
    clock: Callable[[], float] = time.monotonic,
) -> duckdb.DuckDBPyConnection:
    """Open `path`, retrying while another process holds the lock, for at most `wait_s`."""
    deadline = clock() + wait_s
    delay = FIRST_DELAY_S
    while True:
        try:
            conn = duckdb.connect(str(path), read_only=read_only, config=CONFIG)
        except duckdb.Error as e:
            if not is_lock_error(e):
                raise StorageError(f"cannot open database {path}: {e}") from e
            remaining = deadline - clock()
            if remaining <= 0:
                raise DatabaseBusyError(busy_message(path, read_only, wait_s, e)) from e
            sleep(min(delay * random.uniform(0.8, 1.2), remaining))
            delay = min(delay * 2, MAX_DELAY_S)
            continue
        conn.execute("SET TimeZone = 'UTC'")
        # DuckDB draws a progress bar on stdout for long statements: stdout is for data (--json).
        conn.execute("SET enable_progress_bar = false")
        return conn


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
def transaction(conn: duckdb.DuckDBPyConnection, what: str) -> Iterator[None]:
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
def registered(conn: duckdb.DuckDBPyConnection, **tables: pa.Table) -> Iterator[None]:
    """Expose Arrow tables to SQL under their keyword names for the duration of the block."""
    for name, table in tables.items():
        conn.register(name, table)
    try:
        yield
    finally:
        for name in tables:
            conn.unregister(name)
