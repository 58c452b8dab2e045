"""RELIABILITY 38: two overlapping runs are never two writers."""

from __future__ import annotations

import multiprocessing as mp
import time
from pathlib import Path

import pytest

from techwatch.runlock import RunInProgressError, run_lock


def _hold(path: str, seconds: float, ready: mp.Event) -> None:  # type: ignore[valid-type]
    with run_lock(Path(path)):
        ready.set()
        time.sleep(seconds)


def test_second_run_in_another_process_is_refused_with_the_holder(tmp_path: Path) -> None:
    lock = tmp_path / "db.run.lock"
    ctx = mp.get_context("spawn")
    ready = ctx.Event()
    holder = ctx.Process(target=_hold, args=(str(lock), 5.0, ready))
    holder.start()
    try:
        assert ready.wait(30)
        with (
            pytest.raises(RunInProgressError, match=rf"pid {holder.pid}"),
            run_lock(lock, wait_s=0.3),
        ):
            pass
    finally:
        holder.terminate()
        holder.join(10)


def test_lock_is_released_after_the_run(tmp_path: Path) -> None:
    lock = tmp_path / "db.run.lock"
    with run_lock(lock):
        pass
    with run_lock(lock, wait_s=0):
        pass


def test_waiting_run_starts_when_the_first_one_ends(tmp_path: Path) -> None:
    lock = tmp_path / "db.run.lock"
    ctx = mp.get_context("spawn")
    ready = ctx.Event()
    holder = ctx.Process(target=_hold, args=(str(lock), 1.0, ready))
    holder.start()
    assert ready.wait(30)
    t0 = time.monotonic()
    with run_lock(lock, wait_s=20):
        waited = time.monotonic() - t0
    holder.join(10)
    assert waited > 0.2
