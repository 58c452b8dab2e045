"""An exclusive, process-wide lock per database, so two ingestion runs never write at once.

DuckDB refuses a second read-write process anyway, but only at the moment of writing; a run
lock taken at the start lets the second run stop cleanly before fetching anything.
"""

from __future__ import annotations

import fcntl
import os
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from techwatch.errors import TransientError


def lock_path_for(db_path: Path) -> Path:
    """The run lock lives beside the database it protects."""
    return db_path.with_name(db_path.name + ".run.lock")


class RunInProgressError(TransientError):
    """Another ingestion run holds the lock of this database."""


@contextmanager
def run_lock(path: Path, *, wait_s: float = 0.0, poll_s: float = 0.2) -> Iterator[None]:
    """Hold an exclusive lock on `path` for the duration; wait up to `wait_s` for it."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        _acquire(fd, path, wait_s, poll_s)
        os.ftruncate(fd, 0)
        os.write(fd, f"{os.getpid()}\n".encode())
        try:
            yield
        finally:
            fcntl.flock(fd, fcntl.LOCK_UN)
    finally:
        os.close(fd)


def _acquire(fd: int, path: Path, wait_s: float, poll_s: float) -> None:
    deadline = time.monotonic() + wait_s
    while True:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return
        except BlockingIOError:
            if time.monotonic() >= deadline:
                holder = _holder(path)
                raise RunInProgressError(
                    f"another ingestion run{holder} holds {path}; not starting a second writer"
                ) from None
            time.sleep(poll_s)


def _holder(path: Path) -> str:
    try:
        pid = path.read_text().strip()
    except OSError:
        return ""
    return f" (pid {pid})" if pid else ""
