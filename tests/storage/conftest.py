"""Store fixtures: a database path in tmp_path, a migrated connection, and a driver for a
second process."""

from __future__ import annotations

import os
import selectors
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path

import duckdb
import pytest

from techwatch.storage import migrate
from techwatch.storage.connection import connect

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture
def db(tmp_path: Path) -> Path:
    """Where the store lives; its folder does not exist yet (open_writer creates it)."""
    return tmp_path / "data" / "techwatch.duckdb"


@pytest.fixture
def conn(tmp_path: Path) -> Iterator[duckdb.DuckDBPyConnection]:
    """A writable connection to a fresh, migrated database, for the store's SQL functions."""
    connection = connect(tmp_path / "t.duckdb", read_only=False, wait_s=5)
    migrate.apply_pending(connection, datetime(2026, 11, 28, 6, 30, tzinfo=UTC))
    yield connection
    connection.close()


class Worker:
    """A `tests.storage.worker` process with line-based control and bounded waits."""

    def __init__(self, *args: str) -> None:
        env = {**os.environ, "PYTHONPATH": str(REPO)}
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "tests.storage.worker", *args],
            cwd=REPO,
            env=env,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )

    @property
    def pid(self) -> int:
        return self.proc.pid

    def expect(self, word: str, timeout: float = 30.0) -> None:
        """Wait for the worker to print `word`; fail with its stderr if it dies or stalls."""
        assert self.proc.stdout is not None
        selector = selectors.DefaultSelector()
        selector.register(self.proc.stdout, selectors.EVENT_READ)
        deadline = time.monotonic() + timeout
        try:
            while (left := deadline - time.monotonic()) > 0:
                if not selector.select(left):
                    break
                line = self.proc.stdout.readline()
                if not line:
                    break
                if line.strip() == word:
                    return
        finally:
            selector.close()
        self.stop()
        assert self.proc.stderr is not None
        pytest.fail(f"worker did not print {word!r}; stderr:\n{self.proc.stderr.read()}")

    def release(self) -> None:
        """Let a waiting worker go on (it reads one line from stdin)."""
        assert self.proc.stdin is not None
        self.proc.stdin.write("go\n")
        self.proc.stdin.flush()

    def kill(self) -> None:
        """SIGKILL: no cleanup, no rollback, no checkpoint."""
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(timeout=30)

    def finish(self, timeout: float = 30.0) -> int:
        return self.proc.wait(timeout=timeout)

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(timeout=30)
        for stream in (self.proc.stdin, self.proc.stdout, self.proc.stderr):
            if stream is not None:
                stream.close()


@pytest.fixture
def worker() -> Iterator[Callable[..., Worker]]:
    """Start workers with `worker(...)`; every one is stopped at the end of the test."""
    started: list[Worker] = []

    def start(*args: str) -> Worker:
        w = Worker(*args)
        started.append(w)
        return w

    yield start
    for w in started:
        w.stop()
