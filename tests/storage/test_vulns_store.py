"""Product lists (migration 0014) and links (0016) stored once per item, storage.vulns: on a
real import, the readers return what they returned when item_vulns held a list and links per
fact, and a store written before the changes migrates to the same tables."""

from __future__ import annotations

import shutil
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from techwatch.config import load_sources
from techwatch.enrich.refresh import refresh
from techwatch.importer import import_sources
from techwatch.parse.registry import parse_document
from techwatch.storage import evidence, open_reader, open_writer
from techwatch.storage.connection import connect
from techwatch.storage.vulns import COLUMNS

SAMPLE = (
    ("kev", "cisa-kev", "cisa-kev/known_exploited_vulnerabilities.json", 1),
    ("certfr", "certfr-json", "cert-fr-avis/*/*.json", 30),
    ("csaf", "csaf", "csaf/*.json", 30),
    ("cisa", "csaf", "csaf-cisa/*-2024/*.json", 40),
    ("cve", "cve-json5", "cve-json5-vulnrichment/*/*.json", 20),
    ("osv", "osv", "osv-golang-vulndb/*.json", 10),
)
#: item_vulns as migration 0002 made it, rebuilt from the new tables (and the order kept).
OLD_SHAPE = """
    CREATE TABLE old_vulns AS
    SELECT v.* REPLACE (
        a.affected AS affected_no, list_transform(v.ref_nos, lambda n: r.refs[n]) AS ref_nos
    )
    FROM item_vulns v
    LEFT JOIN item_affected a ON a.item_id = v.item_id AND a.list_no = v.affected_no
    LEFT JOIN item_refs r ON r.item_id = v.item_id
    ORDER BY v.rowid;
    ALTER TABLE old_vulns RENAME affected_no TO affected;
    ALTER TABLE old_vulns RENAME ref_nos TO refs;
    DROP TABLE item_vulns;
    DROP TABLE item_affected;
    DROP TABLE item_refs;
    ALTER TABLE old_vulns RENAME TO item_vulns;
    DELETE FROM schema_migrations WHERE version IN (14, 16);
"""


@pytest.fixture(scope="module")
def store(realdata: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A real import of every advisory kind, CSAF with products that differ per CVE."""
    home = tmp_path_factory.mktemp("vulns")
    entries = "".join(
        f"  - id: {sid}\n    name: {sid}\n    kind: {kind}\n"
        f"    url: https://{sid}.example/\n    category: advisory\n"
        for sid, kind, _, _ in SAMPLE
    )
    (home / "sources.yml").write_text(f"sources:\n{entries}")
    groups = [
        (sid, sorted((realdata / "advisories").glob(pattern))[:count])
        for sid, _, pattern, count in SAMPLE
    ]
    report = import_sources(home / "store.duckdb", load_sources(home / "sources.yml"), groups)
    assert report.parsed == report.files and not report.failed
    return home / "store.duckdb"


def _rows(db: Path, sql: str, params: Any = None) -> list[tuple[Any, ...]]:
    conn = connect(db, read_only=True, wait_s=5)
    try:
        return conn.execute(sql, params).fetchall()
    finally:
        conn.close()


def _old_shape(store: Path, folder: Path) -> Path:
    """A copy of `store` as it was before migrations 0014 and 0016."""
    copy = folder / "old.duckdb"
    shutil.copy(store, copy)
    conn = connect(copy, read_only=False, wait_s=5)
    try:
        conn.execute(OLD_SHAPE)
    finally:
        conn.close()
    return copy


def test_lists_are_stored_once_and_some_items_state_several(store: Path) -> None:
    facts, pairs = _rows(
        store,
        "SELECT count(*), sum(len(a.affected)) FROM item_vulns v "
        "JOIN item_affected a ON a.item_id = v.item_id "
        "AND a.list_no = v.affected_no",
    )[0]
    lists, stored = _rows(store, "SELECT count(*), sum(len(affected)) FROM item_affected")[0]
    several = _rows(store, "SELECT count(*) FROM item_affected WHERE list_no > 0")[0][0]
    assert facts > 3000 and lists < facts / 2 and stored < pairs / 5
    assert several > 0
    assert _rows(store, "SELECT count(*) FROM item_vulns WHERE affected_no IS NULL") == [(0,)]


def test_an_item_shows_the_products_its_document_states(realdata: Path, store: Path) -> None:
    """The reader's facts, parsed again from the files: each with its own product list."""
    when = datetime(2026, 11, 28, tzinfo=UTC)
    checked = 0
    with open_reader(store) as reader:
        for sid, kind, pattern, count in SAMPLE[1:4]:
            for path in sorted((realdata / "advisories").glob(pattern))[:count]:
                parsed = parse_document(
                    kind, sid, path.read_bytes(), url=path.as_uri(), fetched_at=when
                )
                for item in parsed.items:
                    ids = _rows(
                        store,
                        "SELECT id FROM items WHERE source_id = ? AND identity = ?",
                        [sid, item.identity],
                    )
                    shown = reader.item(ids[0][0])
                    assert shown is not None
                    stated = {f.vuln_id: f.affected for f in item.facts}
                    assert [v["vuln_id"] for v in shown["vulns"]] == sorted(stated)
                    for vuln in shown["vulns"]:
                        assert list(vuln) == list(COLUMNS[1:])
                        expected = stated[vuln["vuln_id"]]
                        assert [
                            (a["vendor"], a["product"], tuple(a["versions"]))
                            for a in vuln["affected"]
                        ] == [(a.vendor, a.product, a.versions) for a in expected]
                        checked += 1
    assert checked > 1000


def test_readers_return_what_the_old_table_gave(store: Path, tmp_path: Path) -> None:
    """Reader.item (on items with several lists and a sample of the others) and the scoring
    evidence of every story, on the new tables, equal the old queries on the old table."""
    old = connect(_old_shape(store, tmp_path), read_only=True, wait_s=5)
    sample = (
        "SELECT id FROM items WHERE id IN (SELECT item_id FROM item_affected WHERE list_no > 0) "
        "UNION (SELECT id FROM items ORDER BY md5(id) LIMIT 300) ORDER BY id"
    )
    item_ids = [r[0] for r in _rows(store, sample)]
    try:
        with open_reader(store) as reader:
            for item_id in item_ids:
                shown = reader.item(item_id)
                assert shown is not None
                before = old.execute(
                    "SELECT * EXCLUDE (item_id) FROM item_vulns WHERE item_id = ? ORDER BY vuln_id",
                    [item_id],
                ).fetchall()
                assert [tuple(v.values()) for v in shown["vulns"]] == before
        before = old.execute(
            "SELECT m.story_id, v.* FROM story_items m JOIN item_vulns v "
            "ON v.item_id = m.item_id ORDER BY m.story_id, v.vuln_id, v.item_id"
        ).fetchall()
    finally:
        old.close()
    story_ids = [r[0] for r in _rows(store, "SELECT story_id FROM stories ORDER BY story_id")]
    conn = connect(store, read_only=True, wait_s=5)
    try:
        facts = evidence.story_rows(conn, story_ids)["facts"]
    finally:
        conn.close()
    assert len(facts) > 3000
    assert [tuple(f.values()) for f in facts] == before


def test_a_store_written_before_migrates_to_the_same_tables(store: Path, tmp_path: Path) -> None:
    old = _old_shape(store, tmp_path)
    assert _rows(
        old, "SELECT count(*) FROM duckdb_tables() WHERE table_name = 'item_affected'"
    ) == [(0,)]
    with open_writer(old) as writer:
        assert writer.schema_version() >= 16
    for sql in (
        "SELECT * FROM item_vulns ORDER BY rowid",
        "SELECT * FROM item_affected ORDER BY item_id, list_no",
        "SELECT * FROM item_refs ORDER BY item_id",
    ):
        assert _rows(old, sql) == _rows(store, sql)
    cves = "SELECT * EXCLUDE (refreshed_at) FROM cves ORDER BY cve_id"
    mentions = "SELECT * FROM item_products ORDER BY ALL"
    refresh(old, since=None)
    assert _rows(old, cves) == _rows(store, cves)
    assert _rows(old, mentions) == _rows(store, mentions)
