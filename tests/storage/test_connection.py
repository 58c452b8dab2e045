"""Opening the store: small row groups, one instance per process and file, released on close."""

from __future__ import annotations

import subprocess
import sys
import threading
from collections.abc import Callable
from pathlib import Path

import pytest

from techwatch.errors import DatabaseBusyError
from techwatch.storage.connection import ROW_GROUP_SIZE, connect
from tests.storage.conftest import Worker

PROBE = """
import sys, duckdb
try:
    duckdb.connect(sys.argv[1], read_only=sys.argv[2] == "ro").close()
except duckdb.IOException as e:
    print("held" if "Could not set lock" in str(e) else e)
else:
    print("free")
"""


def other_process_sees(db: Path, mode: str = "rw") -> str:
    """'free' when another process can open `db` in `mode` at once, 'held' when locked."""
    probe = [sys.executable, "-c", PROBE, str(db), mode]
    return subprocess.run(probe, capture_output=True, text=True, timeout=60).stdout.strip()


def test_a_checkpoint_writes_row_groups_of_at_most_row_group_size(tmp_path: Path) -> None:
    rows = 2 * ROW_GROUP_SIZE + 100
    with connect(tmp_path / "t.duckdb", read_only=False, wait_s=1) as conn:
        conn.execute(f"CREATE TABLE t AS SELECT range AS i FROM range({rows})")
        conn.execute("CHECKPOINT")
        groups, largest = conn.execute(
            "SELECT count(DISTINCT row_group_id), max(count) FROM pragma_storage_info('t')"
        ).fetchone() or (0, 0)
    assert (groups, largest) == (3, ROW_GROUP_SIZE)


def test_two_connections_of_one_process_share_the_file(tmp_path: Path) -> None:
    db = tmp_path / "t.duckdb"
    with (
        connect(db, read_only=False, wait_s=1) as first,
        connect(db, read_only=False, wait_s=1) as second,
    ):
        first.execute("CREATE TABLE t AS SELECT 1 AS i")
        assert second.execute("SELECT i FROM t").fetchall() == [(1,)]
        with second.cursor() as third:
            assert third.execute("SELECT i FROM t").fetchall() == [(1,)]


def test_the_file_is_released_when_its_last_connection_closes(tmp_path: Path) -> None:
    db = tmp_path / "t.duckdb"
    first = connect(db, read_only=False, wait_s=1)
    second = connect(db, read_only=False, wait_s=1)
    first.execute("CREATE TABLE t AS SELECT 1 AS i")
    first.close()
    assert other_process_sees(db) == "held"
    second.close()
    assert other_process_sees(db) == "free"
    assert not db.with_name("t.duckdb.wal").exists()  # closing checkpointed the log


def test_closing_twice_releases_once(tmp_path: Path) -> None:
    db = tmp_path / "t.duckdb"
    kept = connect(db, read_only=False, wait_s=1)
    closed = connect(db, read_only=False, wait_s=1)
    closed.close()
    closed.close()
    assert kept.execute("SELECT 42").fetchall() == [(42,)]
    kept.close()
    assert other_process_sees(db) == "free"


def test_every_connection_reads_the_store_in_utc_without_progress_bar(tmp_path: Path) -> None:
    db = tmp_path / "t.duckdb"
    with connect(db, read_only=False, wait_s=1) as conn, conn.cursor() as cursor:
        for c in (conn, cursor):
            settings = c.execute(
                "SELECT current_setting('TimeZone'), current_setting('enable_progress_bar'), "
                "current_setting('temp_directory')"
            ).fetchone()
            assert settings == ("UTC", False, f"{db.resolve()}.tmp")  # spills beside the file


@pytest.mark.parametrize(("held", "wanted"), [(False, True), (True, False)])
def test_the_other_mode_in_the_same_process_is_busy(
    tmp_path: Path, held: bool, wanted: bool
) -> None:
    db = tmp_path / "t.duckdb"
    connect(db, read_only=False, wait_s=1).close()
    with (
        connect(db, read_only=held, wait_s=1),
        pytest.raises(DatabaseBusyError, match="this process already has it open"),
    ):
        connect(db, read_only=wanted, wait_s=0.2)
    connect(db, read_only=wanted, wait_s=0).close()


def test_opening_waits_with_back_off_while_another_process_holds_the_file(
    db: Path, worker: Callable[..., Worker]
) -> None:
    holder = worker("hold", str(db), "rw")
    holder.expect("ready")
    now = [0.0]
    naps: list[float] = []

    def sleep(seconds: float) -> None:
        naps.append(seconds)
        now[0] += seconds

    with pytest.raises(DatabaseBusyError, match=f"PID {holder.pid}"):
        connect(db, read_only=True, wait_s=2.0, sleep=sleep, clock=lambda: now[0])
    assert sum(naps) == pytest.approx(2.0)
    assert naps[1] > naps[0]
    holder.release()
    holder.expect("released")
    connect(db, read_only=True, wait_s=5).close()


def test_threads_opening_and_closing_at_once_end_with_the_file_released(
    tmp_path: Path,
) -> None:
    db = tmp_path / "t.duckdb"
    with connect(db, read_only=False, wait_s=1) as conn:
        conn.execute("CREATE TABLE t (i INTEGER)")
    errors: list[BaseException] = []

    def work(i: int) -> None:
        try:
            for _ in range(20):
                with connect(db, read_only=False, wait_s=5) as c:
                    c.execute("INSERT INTO t VALUES (?)", [i])
        except BaseException as e:  # reported by the assert below
            errors.append(e)

    threads = [threading.Thread(target=work, args=(i,)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert other_process_sees(db) == "free"
    with connect(db, read_only=True, wait_s=1) as conn:
        assert conn.execute("SELECT count(*) FROM t").fetchall() == [(80,)]
