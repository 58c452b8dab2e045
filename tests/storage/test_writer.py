"""The writer: migrations, item batches (new / updated / unchanged), links, runs and states."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import duckdb
import pytest

from techwatch.dedupe import item_id
from techwatch.errors import StorageError
from techwatch.storage import migrate, open_reader, open_writer, writer
from techwatch.storage.migrate import available, latest_version
from tests.storage.factories import T0, batch, item, outcome, source, state

T1, T2, T3 = T0, T0 + timedelta(days=1), T0 + timedelta(days=2)


def query(db: Path, sql: str) -> list[tuple[Any, ...]]:
    """Look under the API, read-only, for what the API does not expose."""
    with duckdb.connect(str(db), read_only=True) as conn:
        return conn.execute(sql).fetchall()


def write(db: Path, outcomes: list[Any], now: datetime, states: tuple[Any, ...] = ()) -> Any:
    with open_writer(db) as w:
        return w.write_outcomes("run", outcomes, list(states), now)


def test_migrations_are_recorded_and_applied_once(db: Path) -> None:
    with open_writer(db) as w:
        assert w.schema_version() == latest_version()
        assert w.migrate() == []
    first = query(db, "SELECT version, name, applied_at FROM schema_migrations")
    with open_writer(db) as w:
        assert w.migrate() == []
    assert query(db, "SELECT version, name, applied_at FROM schema_migrations") == first
    recorded = [(v, n) for v, n, _ in first]
    assert recorded == [(m.version, m.name) for m in available()]
    assert recorded[:2] == [(1, "initial"), (2, "vulnerability_facts")]


def test_a_database_from_a_newer_techwatch_is_refused(db: Path) -> None:
    with open_writer(db):
        pass
    with duckdb.connect(str(db)) as conn:
        conn.execute("INSERT INTO schema_migrations VALUES (9999, 'future', now())")
    with pytest.raises(StorageError, match="newer than this techwatch"), open_writer(db):
        pass


class _Recording:
    """A connection that remembers the statements it was given."""

    def __init__(self, conn: Any) -> None:
        self.conn = conn
        self.statements: list[str] = []

    def execute(self, sql: str, *args: Any) -> Any:
        self.statements.append(sql)
        return self.conn.execute(sql, *args)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.conn, name)


def test_a_current_schema_is_confirmed_in_one_query(db: Path) -> None:
    with open_writer(db):
        pass
    with duckdb.connect(str(db)) as conn:
        recording = _Recording(conn)
        assert migrate.apply_pending(recording, T1) == []
    assert len(recording.statements) == 1


def test_a_store_changed_by_another_process_between_opens_is_checked_again(db: Path) -> None:
    with open_writer(db):
        pass
    db.unlink()  # another process replaced the file by a new one, never migrated
    with duckdb.connect(str(db)) as conn:
        conn.execute("CREATE TABLE unrelated (x INTEGER)")
    with open_writer(db) as w:
        assert w.schema_version() == latest_version()
    versions = [v for (v,) in query(db, "SELECT version FROM schema_migrations ORDER BY 1")]
    assert versions == [m.version for m in available()]


def test_a_new_store_is_migrated_in_one_transaction_and_a_failure_leaves_it_empty(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """One commit for every migration of a new file; none recorded if one of them fails."""
    with duckdb.connect(str(tmp_path / "new.duckdb")) as conn:
        recording = _Recording(conn)
        assert migrate.apply_pending(recording, T1) == [m.version for m in available()]
    assert recording.statements.count("BEGIN TRANSACTION") == 1
    assert recording.statements.count("COMMIT") == 1
    shipped = tuple(available())
    broken = migrate.Migration(latest_version() + 1, "broken", "SELECT * FROM no_such_table")
    monkeypatch.setattr(migrate, "_shipped", lambda: (*shipped, broken))
    with duckdb.connect(str(tmp_path / "failed.duckdb")) as conn:
        with pytest.raises(StorageError, match=f"migration {broken.version:04d}_broken"):
            migrate.apply_pending(conn, T1)
        assert conn.execute("SELECT count(*) FROM schema_migrations").fetchone() == (0,)
        assert conn.execute("SELECT count(*) FROM duckdb_tables()").fetchone() == (1,)


def test_a_store_with_migrations_applies_each_pending_one_in_its_own_transaction(
    db: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An upgrade commits migration by migration (one may read rowids an earlier one wrote)."""
    with open_writer(db):
        pass
    shipped = tuple(available())
    extra = [
        migrate.Migration(latest_version() + n, f"extra_{n}", f"CREATE TABLE extra_{n} (x INT)")
        for n in (1, 2)
    ]
    monkeypatch.setattr(migrate, "_shipped", lambda: (*shipped, *extra))
    with duckdb.connect(str(db)) as conn:
        recording = _Recording(conn)
        assert migrate.apply_pending(recording, T1) == [m.version for m in extra]
    assert recording.statements.count("COMMIT") == 2


def test_a_missing_migration_is_applied_even_when_the_latest_is_recorded(db: Path) -> None:
    with open_writer(db):
        pass
    first = available()[0].version
    with duckdb.connect(str(db)) as conn:
        conn.execute("DELETE FROM schema_migrations WHERE version = ?", [first])
    # Applied again (and refused here, as its tables exist): a check of the latest alone
    # would have called this store current.
    with pytest.raises(StorageError, match=f"migration {first:04d}"), open_writer(db):
        pass


def test_three_writes_count_new_updated_and_unchanged(db: Path) -> None:
    first = write(db, [outcome("s1", [item("s1", "a"), item("s1", "b")])], T1)
    assert (first.new, first.updated, first.unchanged) == ({"s1": 2}, {"s1": 0}, {"s1": 0})

    second_batch = [item("s1", "a"), item("s1", "b", text="corrected body"), item("s1", "c")]
    second = write(db, [outcome("s1", second_batch)], T2)
    assert (second.new, second.updated, second.unchanged) == ({"s1": 1}, {"s1": 1}, {"s1": 1})

    third = write(db, [outcome("s1", second_batch)], T3)
    assert (third.new, third.updated, third.unchanged) == ({"s1": 0}, {"s1": 0}, {"s1": 3})

    with open_reader(db) as r:
        changed = r.item(item_id("s1", "b"))
    assert changed is not None
    assert changed["text"] == "corrected body"
    assert changed["html"] == "<p>corrected body</p>"
    assert changed["first_seen"] == T1
    assert changed["updated_at"] == T2


def test_same_id_twice_in_a_batch_keeps_the_first(db: Path) -> None:
    twice = [item("s1", "a", text="first"), item("s1", "a", text="second")]
    stats = write(db, [outcome("s1", twice)], T1)
    assert stats.new == {"s1": 1}
    with open_reader(db) as r:
        rows = r.items()
    assert [row["text"] for row in rows] == ["first"]


def test_same_story_in_two_sources_is_linked_both_ways(db: Path) -> None:
    story = "https://vendor.example/advisory/42"
    outcomes = [
        outcome("s1", [item("s1", "x", canonical_url=story)]),
        outcome("s2", [item("s2", "y", canonical_url=story)]),
    ]
    write(db, outcomes, T1)
    write(db, outcomes, T2)  # seen again: no constraint error, no duplicate link
    write(db, [outcome("s3", [item("s3", "z", canonical_url=story)])], T3)

    with open_reader(db) as r:
        x = r.item(item_id("s1", "x"))
        info = r.info()
    assert x is not None
    assert [link["source_id"] for link in x["linked"]] == ["s2", "s3"]
    assert {link["reason"] for link in x["linked"]} == {"canonical_url"}
    assert info["counts"]["item_links"] == 6  # three items, each linked to the two others


def test_a_link_goes_when_the_canonical_url_changes(db: Path) -> None:
    write(db, [outcome("s1", [item("s1", "x", canonical_url="https://a/1")])], T1)
    write(db, [outcome("s2", [item("s2", "y", canonical_url="https://a/1")])], T1)
    moved = item("s2", "y", canonical_url="https://b/2", text="moved")
    write(db, [outcome("s2", [moved])], T2)
    with open_reader(db) as r:
        x = r.item(item_id("s1", "x"))
    assert x is not None
    assert x["linked"] == []


def test_items_of_one_source_with_one_url_are_not_linked(db: Path) -> None:
    same = [
        item("s1", "x", canonical_url="https://a/1"),
        item("s1", "y", canonical_url="https://a/1"),
    ]
    write(db, [outcome("s1", same)], T1)
    with open_reader(db) as r:
        assert r.info()["counts"]["item_links"] == 0


def test_a_failed_source_records_its_run_row_and_state(db: Path) -> None:
    failed = outcome(
        "s1",
        status="failed",
        http_status=503,
        error_kind="http_5xx",
        error="Service Unavailable",
        transient=True,
        fetch_s=1.5,
        warnings=("retry later",),
    )
    st = state("s1", last_attempt=T1, last_status="failed", consecutive_failures=3, degraded=True)
    with open_writer(db) as w:
        w.sync_sources([source("s1")], T1)
        w.begin_run("r1", started_at=T1, kind="ingest", flow_run_id="flow-1")
        stats = w.write_outcomes("r1", [failed], [st], T1)
        w.finish_run("r1", finished_at=T1, status="partial", summary={"failed": ["s1"]})
        states = w.load_states()
    assert stats.new == {"s1": 0}
    assert states == {"s1": st}
    with open_reader(db) as r:
        (row,) = r.run_sources("r1")
        (run,) = r.runs()
        (health,) = r.sources()
    assert row["status"] == "failed"
    assert (row["http_status"], row["error_kind"], row["transient"]) == (503, "http_5xx", True)
    assert row["warnings"] == ["retry later"]
    assert (row["new_items"], row["updated_items"], row["entries"]) == (0, 0, 0)
    assert run["status"] == "partial"
    assert run["summary"] == {"failed": ["s1"]}
    assert run["flow_run_id"] == "flow-1"
    assert (health["consecutive_failures"], health["degraded"]) == (3, True)
    assert health["last_error_kind"] is None  # the state given was stored as is


def test_run_rows_count_the_items_of_their_source(db: Path) -> None:
    with open_writer(db) as w:
        w.begin_run("r1", started_at=T1, kind="ingest", flow_run_id=None)
        w.write_outcomes("r1", batch("alpha", 3, "s1") + batch("beta", 2, "s2"), [], T1)
    with open_reader(db) as r:
        rows = r.run_sources("r1")
    assert [(x["source_id"], x["new_items"], x["entries"]) for x in rows] == [
        ("s1", 3, 3),
        ("s2", 2, 2),
    ]


def test_states_are_upserted(db: Path) -> None:
    with open_writer(db) as w:
        w.write_outcomes("r1", [], [state("s1", etag='"v1"', items_seen=1)], T1)
        w.write_outcomes("r2", [], [state("s1", etag='"v2"', items_seen=5)], T2)
        assert w.load_states() == {"s1": state("s1", etag='"v2"', items_seen=5)}


def test_sources_gone_from_config_are_flagged_and_keep_their_items(db: Path) -> None:
    with open_writer(db) as w:
        w.sync_sources([source("s1"), source("s2")], T1)
        w.write_outcomes("r", [outcome("s2", [item("s2", "a")])], [], T1)
        w.sync_sources([source("s1", name="Renamed")], T2)
    with open_reader(db) as r:
        by_id = {s["id"]: s for s in r.sources()}
        assert len(r.items(source_id="s2")) == 1
    assert by_id["s1"]["name"] == "Renamed"
    assert by_id["s1"]["first_seen"] == T1
    assert (by_id["s2"]["removed"], by_id["s2"]["removed_at"]) == (True, T2)
    assert by_id["s2"]["items_stored"] == 1

    with open_writer(db) as w:
        w.sync_sources([source("s1"), source("s2")], T3)
    with open_reader(db) as r:
        back = {s["id"]: s for s in r.sources()}["s2"]
    assert (back["removed"], back["removed_at"], back["last_seen"]) == (False, None, T3)


@pytest.mark.parametrize(
    "change",
    [None, "renamed", "recategorised", "added", "dropped", "back from removal"],
)
def test_an_unchanged_config_only_moves_last_seen_and_any_change_is_upserted(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, change: str | None
) -> None:
    """The night's sync of an unchanged config stores what the full upsert stores."""
    before = [source("s1"), source("s2"), source("s3")]
    after = {
        None: before,
        "renamed": [source("s1", name="Renamed"), *before[1:]],
        "recategorised": [source("s1", category="advisory"), *before[1:]],
        "added": [*before, source("s4")],
        "dropped": before[:2],
        "back from removal": before,
    }[change]
    stored: dict[bool, list[Any]] = {}
    statements: dict[bool, list[str]] = {}
    for fast in (True, False):
        if not fast:
            monkeypatch.setattr(writer, "_sources_unchanged", lambda conn: False)
        db = tmp_path / f"{fast}.duckdb"
        with open_writer(db) as w:
            w.sync_sources(before, T1)
            if change == "back from removal":
                w.sync_sources(before[:2], T2)
            recording = _Recording(w._conn)
            w._conn = recording
            w.sync_sources(after, T3)
        statements[fast] = recording.statements
        stored[fast] = query(db, "SELECT * FROM sources ORDER BY id")
    assert stored[True] == stored[False]
    assert {row[0] for row in stored[True]} >= {s.id for s in after}
    upserted = any("ON CONFLICT" in sql for sql in statements[True])
    assert upserted is (change is not None)


def test_a_failure_inside_the_batch_leaves_nothing(
    db: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    write(db, batch("kept", 2), T1)

    def broken(*args: object) -> None:
        raise RuntimeError("disk on fire")

    monkeypatch.setattr(writer, "_upsert_states", broken)
    with pytest.raises(RuntimeError, match="disk on fire"):
        write(db, batch("lost", 2), T2, (state("s1"),))
    with open_reader(db) as r:
        assert {row["title"] for row in r.items()} == {"kept title 0", "kept title 1"}
        assert r.info()["counts"]["run_sources"] == 1


def test_items_are_newest_first_and_undated_ones_use_first_seen(db: Path) -> None:
    cest = timezone(timedelta(hours=2))
    items = [
        item("s1", "old", published=datetime(2026, 1, 1, tzinfo=UTC)),
        item("s1", "undated"),
        item("s1", "recent", published=datetime(2026, 11, 25, 12, 0, tzinfo=cest)),
    ]
    write(db, [outcome("s1", items)], T1)
    with open_reader(db) as r:
        ordered = [row["identity"] for row in r.items()]
        since = [row["identity"] for row in r.items(since=datetime(2026, 6, 1, tzinfo=UTC))]
        recent = r.item(item_id("s1", "recent"))
        assert r.items(language="de") == []
        assert len(r.items(limit=1)) == 1
    assert ordered == ["undated", "recent", "old"]
    assert since == ["undated", "recent"]
    assert recent is not None
    assert recent["published"] == datetime(2026, 11, 25, 10, 0, tzinfo=UTC)
    assert (recent["authors"], recent["cves"]) == (["Ada"], ["CVE-2026-0001"])


def test_an_empty_content_hash_still_detects_changes(db: Path) -> None:
    write(db, [outcome("s1", [item("s1", "a", text="one", content_hash="")])], T1)
    stats = write(db, [outcome("s1", [item("s1", "a", text="two", content_hash="")])], T2)
    assert stats.updated == {"s1": 1}


def test_finishing_an_unknown_run_is_an_error(db: Path) -> None:
    with pytest.raises(StorageError, match="no run 'nope'"), open_writer(db) as w:
        w.finish_run("nope", finished_at=T1, status="ok", summary={})


def test_info_describes_the_database(db: Path) -> None:
    with open_writer(db) as w:
        w.begin_run("r1", started_at=T1, kind="ingest", flow_run_id=None)
        w.write_outcomes("r1", batch("alpha", 2), [], T1)
        w.rebuild_search_index()
        w.write_outcomes("r1", batch("beta", 1), [], T1)
        w.finish_run("r1", finished_at=T2, status="ok", summary={"new": 3})
    with open_reader(db) as r:
        info = r.info()
    assert info["path"] == str(db)
    assert info["size_bytes"] > 0
    assert info["schema_version"] == latest_version()
    assert info["counts"]["items"] == 3
    assert info["last_run"]["run_id"] == "r1"
    assert (info["search_index"]["items"], info["search_index"]["pending"]) == (3, 0)


def test_new_items_are_counted_per_language(db: Path) -> None:
    write(db, [outcome("s1", [item("s1", "a"), item("s1", "b")])], T1)
    unknown = replace(item("s1", "c"), language=None)
    write(db, [outcome("s1", [item("s1", "a", text="edited"), unknown])], T2)
    with open_reader(db) as r:
        assert r.new_items_by_language(T1) == {"en": 2, "?": 1}
        assert r.new_items_by_language(T2) == {"?": 1}  # an update is not new


def test_a_run_left_running_by_a_dead_process_is_marked_interrupted(tmp_path: Path) -> None:
    db = tmp_path / "runs.duckdb"
    t0 = datetime(2026, 11, 27, 2, 0, tzinfo=UTC)
    with open_writer(db) as writer:
        writer.begin_run("dead", started_at=t0, kind="ingest", flow_run_id=None)
    with open_writer(db) as writer:
        writer.begin_run("next", started_at=t0 + timedelta(days=1), kind="ingest", flow_run_id=None)
    with open_reader(db) as reader:
        status = {r["run_id"]: r["status"] for r in reader.runs()}
    assert status == {"dead": "interrupted", "next": "running"}


def test_advisory_facts_are_stored_with_their_item_and_replaced_on_update(tmp_path: Path) -> None:
    from datetime import date

    from techwatch.types import CvssScore, KevEntry, VulnFacts

    kev = KevEntry(
        date(2026, 11, 20),
        date(2026, 12, 11),
        "Apply updates.",
        True,
        "Fortinet",
        "FortiOS",
        "FortiOS heap overflow",
    )
    facts = VulnFacts(
        "CVE-2026-48213",
        cvss=(CvssScore("3.1", "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H", 9.8, "CRITICAL"),),
        kev=kev,
        ssvc=(("Exploitation", "active"),),
    )
    advisory = replace(item("kev", "kev:CVE-2026-48213", text="FortiOS flaw"), facts=(facts,))
    db = tmp_path / "facts.duckdb"
    with open_writer(db) as w:
        w.write_outcomes("r1", [outcome("kev", [advisory])], [], T0)
    with open_writer(db) as w:
        rows = w._conn.execute(
            "SELECT vuln_id, cvss[1].base_score, kev_ransomware, ssvc[1].value FROM item_vulns"
        ).fetchall()
    assert rows == [("CVE-2026-48213", 9.8, True, "active")]

    rescored = replace(
        advisory,
        content_hash="rescored",
        facts=(replace(facts, cvss=(replace(facts.cvss[0], base_score=9.1),), kev=None),),
    )
    with open_writer(db) as w:
        w.write_outcomes("r2", [outcome("kev", [rescored])], [], T0)
        rows = w._conn.execute(
            "SELECT vuln_id, cvss[1].base_score, kev_date_added FROM item_vulns"
        ).fetchall()
    assert rows == [("CVE-2026-48213", 9.1, None)]


def test_a_writer_can_be_held_to_fewer_duckdb_threads(db: Path) -> None:
    """The ingestion's batch writes run on one thread while parse workers hold the cores; the
    cap lasts as long as that writer, never into the next one."""
    default = duckdb.connect().execute("SELECT current_setting('threads')").fetchone()
    with open_writer(db, threads=1) as w:
        assert w._conn.execute("SELECT current_setting('threads')").fetchone() == (1,)
    with open_writer(db) as w:
        assert w._conn.execute("SELECT current_setting('threads')").fetchone() == default


def backlog(db: Path) -> bool:
    with open_writer(db) as w:
        return w.backlog()


def test_the_backlog_names_items_left_to_group_or_to_index(db: Path) -> None:
    from techwatch.stories.run import group_pending

    with open_writer(db) as w:
        assert not w.backlog(), "an empty store"
        w.write_outcomes("run", [outcome("s1", [item("s1", "a")])], [], T1, index_search=False)
    assert backlog(db), "neither grouped nor indexed"
    group_pending(db, now=T1)
    assert backlog(db), "grouped, not yet indexed"
    with open_writer(db) as w:
        w.update_search_index()
        assert not w.backlog(), "grouped and indexed"
        # Unchanged: nothing to redo. Changed: to group and to index again.
        w.write_outcomes("run", [outcome("s1", [item("s1", "a")])], [], T2, index_search=False)
        assert not w.backlog()
        w.write_outcomes("run", [outcome("s1", [item("s1", "a", text="new")])], [], T3)
    assert backlog(db), "indexed with its write, not grouped again"


def test_an_item_written_again_before_it_is_indexed_waits_once(db: Path) -> None:
    """search_pending has no key since migration 0020: the writer adds only ids not pending."""
    first = [item("s1", "a"), item("s1", "b")]
    again = [item("s1", "a", text="corrected"), item("s1", "b"), item("s1", "c")]
    with open_writer(db) as w:
        w.write_outcomes("r1", [outcome("s1", first)], [], T1, index_search=False)
        w.write_outcomes("r2", [outcome("s1", again)], [], T2, index_search=False)
    pending = query(db, "SELECT id FROM search_pending ORDER BY id")
    assert pending == sorted((item_id("s1", key),) for key in "abc")


def test_migration_0020_keeps_the_pending_items_and_drops_the_key(db: Path) -> None:
    with open_writer(db) as w:
        w.write_outcomes("r1", [outcome("s1", [item("s1", "a")])], [], T1, index_search=False)
    conn = duckdb.connect(str(db))
    try:
        conn.execute("DROP TABLE search_pending")
        conn.execute("CREATE TABLE search_pending (id VARCHAR PRIMARY KEY)")
        conn.execute("INSERT INTO search_pending VALUES ('x2'), ('x1')")
        conn.execute("DELETE FROM schema_migrations WHERE version = 20")
    finally:
        conn.close()
    with open_writer(db) as w:
        assert w.migrate() == []  # migrated on open
    assert query(db, "SELECT id FROM search_pending ORDER BY rowid") == [("x2",), ("x1",)]
    keys = "SELECT constraint_type FROM duckdb_constraints() WHERE table_name = 'search_pending'"
    assert query(db, keys) == [("NOT NULL",)]
