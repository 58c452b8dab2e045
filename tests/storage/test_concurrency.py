"""Cases 34-36 of RELIABILITY.md, with a real second process holding or writing the file."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

import pytest

from techwatch.errors import DatabaseBusyError, TransientError
from techwatch.storage import open_reader, open_writer
from tests.storage.conftest import Worker
from tests.storage.factories import T0, batch

StartWorker = Callable[..., Worker]


def write_batch(db: Path, run_id: str, tag: str, n: int, *, wait_s: float = 30.0) -> None:
    with open_writer(db, wait_s=wait_s) as w:
        w.begin_run(run_id, started_at=T0, kind="ingest", flow_run_id=None)
        w.write_outcomes(run_id, batch(tag, n), [], T0)
        w.rebuild_search_index()


def tags(db: Path, *, wait_s: float = 10.0) -> dict[str, int]:
    """How many items of each batch tag are stored."""
    with open_reader(db, wait_s=wait_s) as r:
        rows = r.items(limit=100_000)
    counts: dict[str, int] = {}
    for row in rows:
        tag = row["identity"].split("-")[0]
        counts[tag] = counts.get(tag, 0) + 1
    return counts


def release_later(w: Worker, delay_s: float) -> threading.Timer:
    timer = threading.Timer(delay_s, w.release)
    timer.start()
    return timer


# Case 34: a second writer while the nightly writer works.


def test_a_second_writer_waits_for_the_first_and_then_succeeds(
    db: Path, worker: StartWorker
) -> None:
    write_batch(db, "r0", "first", 1)
    holder = worker("hold", str(db), "rw")
    holder.expect("ready")
    release_later(holder, 1.0)
    started = time.monotonic()
    write_batch(db, "r1", "second", 3, wait_s=30)
    assert time.monotonic() - started >= 0.9
    holder.expect("released")
    assert tags(db) == {"first": 1, "second": 3}


def test_a_second_writer_gives_up_with_a_clear_message(db: Path, worker: StartWorker) -> None:
    write_batch(db, "r0", "first", 1)
    holder = worker("hold", str(db), "rw")
    holder.expect("ready")
    started = time.monotonic()
    with pytest.raises(DatabaseBusyError) as caught, open_writer(db, wait_s=0.5):
        pass
    assert 0.5 <= time.monotonic() - started < 5
    message = str(caught.value)
    assert str(db) in message
    assert "busy" in message
    assert "read-write within 0.5s" in message
    assert f"PID {holder.pid}" in message
    assert isinstance(caught.value, TransientError)


def test_a_writer_inside_a_reader_of_the_same_process_is_told_so(db: Path) -> None:
    write_batch(db, "r0", "first", 1)
    with (
        open_reader(db),
        pytest.raises(DatabaseBusyError, match="this process already has it open"),
        open_writer(db, wait_s=0.2),
    ):
        pass


# Case 35: a reader open while ingestion starts.


def test_the_writer_waits_for_an_open_reader_and_completes(db: Path, worker: StartWorker) -> None:
    write_batch(db, "r0", "first", 2)
    reader = worker("hold", str(db), "ro")
    reader.expect("ready")
    release_later(reader, 1.0)
    write_batch(db, "r1", "second", 2, wait_s=30)
    reader.expect("released")
    assert tags(db) == {"first": 2, "second": 2}


def test_several_readers_may_be_open_at_once(db: Path, worker: StartWorker) -> None:
    write_batch(db, "r0", "first", 2)
    reader = worker("hold", str(db), "ro")
    reader.expect("ready")
    assert tags(db, wait_s=0) == {"first": 2}


def test_readers_see_only_committed_batches(db: Path, worker: StartWorker) -> None:
    write_batch(db, "r0", "first", 5)
    assert tags(db) == {"first": 5}
    paused = worker("write", str(db), "r1", "second", "500", "pause-mid")
    paused.expect("mid")
    with pytest.raises(DatabaseBusyError):
        tags(db, wait_s=0.3)
    paused.release()
    paused.expect("done")
    assert paused.finish() == 0
    assert tags(db) == {"first": 5, "second": 500}


# Case 36: the writer killed mid-batch.


def test_a_writer_killed_mid_batch_leaves_no_half_batch(db: Path, worker: StartWorker) -> None:
    write_batch(db, "r0", "first", 5)
    doomed = worker("write", str(db), "r1", "second", "5000", "pause-mid")
    doomed.expect("mid")  # items inserted, links made, COMMIT not reached
    doomed.kill()

    assert tags(db) == {"first": 5}
    with open_reader(db) as r:
        assert [run["run_id"] for run in r.runs()] == ["r1", "r0"]  # begin_run had committed
        assert r.run_sources("r1") == []
        assert [h["title"] for h in r.search("first title 3")] == ["first title 3"]
        assert r.search("second") == []

    with open_writer(db) as w:  # the next night writes normally, the lost batch counts as new
        stats = w.write_outcomes("r2", batch("second", 5000), [], T0 + timedelta(days=1))
    assert stats.new == {"s1": 5000}
    assert tags(db) == {"first": 5, "second": 5000}


def test_a_committed_batch_survives_a_kill_before_checkpoint(db: Path, worker: StartWorker) -> None:
    write_batch(db, "r0", "first", 5)
    doomed = worker("write", str(db), "r1", "second", "50", "hold-after-commit")
    doomed.expect("committed")
    doomed.kill()
    assert tags(db) == {"first": 5, "second": 50}
    with open_reader(db) as r:
        assert [h["title"] for h in r.search("second title 7")] == ["second title 7"]
