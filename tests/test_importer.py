"""`techwatch import`: files from disk through the source's parser into the store."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path
from typing import Any

import duckdb
import pytest

from techwatch import importer
from techwatch.cli import main
from techwatch.config import load_sources
from techwatch.importer import import_files, import_sources
from techwatch.parse.pool import ParsePool
from techwatch.storage import open_reader
from techwatch.storage.writer import Writer

DATA = Path(__file__).parent / "data" / "advisories"

SOURCES = """\
sources:
  - id: kev
    name: KEV
    kind: cisa-kev
    url: https://www.cisa.gov/kev.json
    category: advisory
  - id: certfr
    name: CERT-FR
    kind: certfr-json
    url: https://www.cert.ssi.gouv.fr/avis/feed/
    category: advisory
    language: fr
"""


@pytest.fixture
def home(tmp_path: Path) -> Path:
    (tmp_path / "sources.yml").write_text(SOURCES)
    return tmp_path


def _import(capsys: pytest.CaptureFixture[str], home: Path, *args: str) -> tuple[int, str, str]:
    code = main(["import", "--home", str(home), *args])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_a_kev_catalog_is_imported_and_a_second_import_adds_nothing(
    home: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    catalog = Path(__file__).parents[1] / "techwatch" / "demo" / "feeds" / "kev.json"
    expected = json.loads(catalog.read_text())["count"]
    code, out, _ = _import(capsys, home, "--source", "kev", str(catalog), "--json")
    assert code == 0
    report = json.loads(out)
    assert (report["parsed"], report["new_items"], report["failed"]) == (1, expected, [])
    code, out, _ = _import(capsys, home, "--source", "kev", str(catalog), "--json")
    assert json.loads(out)["new_items"] == 0
    with open_reader(home / "var" / "techwatch.duckdb") as reader:
        assert reader.info()["counts"]["items"] == expected
        runs = reader.runs()
    assert [r["kind"] for r in runs] == ["import", "import"]


def test_a_folder_with_a_broken_file_imports_the_rest_and_names_the_culprit(
    home: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = tmp_path / "avis"
    folder.mkdir()
    shutil.copy(DATA / "certfr_avis.json", folder / "good.json")
    (folder / "broken.json").write_text('{"reference": "CERTFR-2026-AVI-0001", "title": ')
    code, out, _ = _import(capsys, home, "--source", "certfr", str(folder), "--json")
    assert code == 0
    report = json.loads(out)
    assert report["files"] == 2 and report["parsed"] == 1
    [(name, reason)] = report["failed"]
    assert name.endswith("broken.json") and reason.startswith("malformed_advisory")


def test_an_unknown_source_is_a_usage_error(home: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = _import(capsys, home, "--source", "nvd", str(DATA / "kev_catalog.json"))
    assert code == 2
    assert out == ""
    assert "nvd" in err and "kev" in err


def test_imports_every_real_cert_fr_avis(
    realdata: Path, home: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = realdata / "advisories" / "cert-fr-avis" / "2026"
    files = sorted(folder.glob("*.json"))
    code, out, _ = _import(capsys, home, "--source", "certfr", str(folder), "--json")
    assert code == 0
    report = json.loads(out)
    assert report["files"] == len(files) == report["parsed"]
    assert report["new_items"] == len(files)


def test_the_report_gives_the_seconds_of_each_stage(
    home: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    catalog = Path(__file__).parents[1] / "techwatch" / "demo" / "feeds" / "kev.json"
    code, out, _ = _import(capsys, home, "--source", "kev", str(catalog), "--json")
    assert code == 0
    report = json.loads(out)
    stages = report["stage_seconds"]
    assert list(stages) == ["read", "parse", "store", "enrich", "stories", "close"]
    assert all(v >= 0 for v in stages.values())
    assert sum(stages.values()) <= report["seconds"] + 0.05 + stages["close"]
    assert report["new_stories"] > 0 and stages["stories"] > 0


def _avis_folder(folder: Path, count: int) -> Path:
    """`count` CERT-FR avis, distinct by reference and title, from the sample one."""
    folder.mkdir()
    sample = json.loads((DATA / "certfr_avis.json").read_text())
    for n in range(count):
        avis = {
            **sample,
            "reference": f"CERTFR-2026-AVI-{n + 100:04d}",
            "title": f"Multiples vulnérabilités dans Zorglub{n} Firewall",
        }
        (folder / f"avis-{n:02d}.json").write_text(json.dumps(avis))
    return folder


def test_an_interrupted_import_keeps_its_batches_and_a_rerun_adds_only_the_rest(
    home: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    folder = _avis_folder(tmp_path / "avis", 6)
    monkeypatch.setattr(importer, "BATCH_ITEMS", 2)  # one file (one item) per transaction
    real_write = Writer.write_outcomes
    calls: list[int] = []

    def write_then_die(self: Writer, *args: Any, **kwargs: Any) -> Any:
        stats = real_write(self, *args, **kwargs)
        calls.append(1)
        if len(calls) == 2:
            raise KeyboardInterrupt  # killed right after the second commit
        return stats

    monkeypatch.setattr(Writer, "write_outcomes", write_then_die)
    db = home / "var" / "techwatch.duckdb"
    with pytest.raises(KeyboardInterrupt):
        import_files(db, load_sources(home / "sources.yml"), "certfr", [folder])
    with open_reader(db) as reader:
        info = reader.info()
        assert info["counts"]["items"] == 2
        assert info["search_index"]["pending"] == 2  # not indexed yet, still found unranked
        assert [r["score"] for r in reader.search("Zorglub1")] == [None]

    monkeypatch.setattr(Writer, "write_outcomes", real_write)
    code, out, _ = _import(capsys, home, "--source", "certfr", str(folder), "--json")
    assert code == 0
    report = json.loads(out)
    # An interrupted run records no file as stored: all are read again, two found unchanged.
    assert (report["parsed"], report["unchanged_files"]) == (6, 0)
    assert (report["new_items"], report["updated_items"]) == (4, 0)
    with open_reader(db) as reader:
        info = reader.info()
        assert info["counts"]["items"] == 6
        assert info["search_index"]["pending"] == 0
        assert info["search_index"]["items"] == 6
        [hit] = reader.search("Zorglub1")
        assert hit["score"] is not None  # the index covers the items of both runs
        assert [r["status"] for r in reader.runs()] == ["ok", "interrupted"]


def test_several_sources_are_imported_in_one_run(home: Path, tmp_path: Path) -> None:
    catalog = Path(__file__).parents[1] / "techwatch" / "demo" / "feeds" / "kev.json"
    expected = json.loads(catalog.read_text())["count"]
    folder = _avis_folder(tmp_path / "avis", 3)
    config = load_sources(home / "sources.yml")
    db = home / "store.duckdb"
    report = import_sources(db, config, [("kev", [catalog]), ("certfr", [folder])])
    assert (report.source_id, report.files, report.parsed) == ("kev,certfr", 4, 4)
    assert report.new_items == expected + 3
    assert report.cves_refreshed > 0 and report.new_stories > 0
    with open_reader(db) as reader:
        [run] = reader.runs()
        assert run["kind"] == "import" and run["status"] == "ok"
        assert reader.info()["search_index"]["pending"] == 0
        assert {s["source_id"] for s in reader.run_sources(run["run_id"])} == {"kev", "certfr"}


def test_the_search_index_is_built_on_the_import_threads_and_the_batches_on_the_default(
    home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """SEARCH_INDEX_THREADS caps DuckDB once the batches are stored, not before."""
    with duckdb.connect() as fresh:
        default = fresh.execute("SELECT current_setting('threads')").fetchone()
    threads = (os.cpu_count() or 1) + 1  # not DuckDB's default (one per core): set, not inherited
    monkeypatch.setattr(importer, "SEARCH_INDEX_THREADS", threads)
    seen: list[tuple[str, int]] = []

    def spying(name: str) -> Any:
        real = getattr(Writer, name)

        def spy(self: Writer, *args: Any, **kwargs: Any) -> Any:
            row = self._conn.execute("SELECT current_setting('threads')").fetchone()
            seen.append((name, row[0] if row else 0))
            return real(self, *args, **kwargs)

        return spy

    for name in ("write_outcomes", "update_search_index"):
        monkeypatch.setattr(Writer, name, spying(name))
    config = load_sources(home / "sources.yml")
    import_sources(home / "store.duckdb", config, [("certfr", [_avis_folder(tmp_path / "a", 2)])])
    assert default and threads != default[0]
    assert seen == [("write_outcomes", default[0]), ("update_search_index", threads)]


@pytest.mark.parametrize(("files", "max_bytes"), [(2, 10**9), (512, 1)])
def test_the_files_ahead_in_the_workers_are_bounded_and_every_file_is_stored_in_order(
    home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, files: int, max_bytes: int
) -> None:
    """The window of files handed to the workers ahead is bounded by count and by bytes; a
    file larger than the byte bound still goes, alone."""
    folder = _avis_folder(tmp_path / "avis", 5)
    monkeypatch.setattr(importer, "LOOKAHEAD_FILES", files)
    monkeypatch.setattr(importer, "LOOKAHEAD_BYTES", max_bytes)
    submitted: list[str] = []
    consumed: list[str] = []
    ahead: list[int] = []  # files in the workers' hands when one more is handed over
    real_read, real_outcome = importer._read, importer._outcome

    def read(reader: Any, source: Any, path: Path) -> Any:
        ahead.append(len(submitted) - len(consumed))
        submitted.append(path.name)
        return real_read(reader, source, path)

    def outcome(job: Any) -> Any:
        consumed.append(job.path.name)
        return real_outcome(job)

    monkeypatch.setattr(importer, "_read", read)
    monkeypatch.setattr(importer, "_outcome", outcome)
    db = home / "store.duckdb"
    report = import_files(db, load_sources(home / "sources.yml"), "certfr", [folder])
    assert (report.parsed, report.new_items, report.failed) == (5, 5, ())
    assert consumed == submitted == sorted(p.name for p in folder.iterdir())
    assert max(ahead) == (files - 1 if max_bytes > 1 else 0)
    with open_reader(db) as reader:
        assert len(reader.runs()) == 1 and reader.info()["counts"]["items"] == 5


@pytest.mark.parametrize(
    ("batch_files", "batch_bytes", "sizes"), [(2, 10**9, [2, 2, 1]), (16, 1, [1] * 5)]
)
def test_small_files_go_to_the_workers_several_per_task(
    home: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    batch_files: int,
    batch_bytes: int,
    sizes: list[int],
) -> None:
    """Consecutive files share a worker task, up to BATCH_FILES files or BATCH_BYTES bytes;
    what is stored is the same as file by file."""
    folder = _avis_folder(tmp_path / "avis", 5)
    monkeypatch.setattr(importer, "BATCH_FILES", batch_files)
    monkeypatch.setattr(importer, "BATCH_BYTES", batch_bytes)
    batches: list[int] = []
    real_submit_many = ParsePool.submit_many

    def submit_many(pool: ParsePool, documents: Any) -> Any:
        batches.append(len(documents))
        return real_submit_many(pool, documents)

    monkeypatch.setattr(ParsePool, "submit_many", submit_many)
    db = home / "store.duckdb"
    report = import_files(db, load_sources(home / "sources.yml"), "certfr", [folder])
    assert (report.parsed, report.new_items, report.failed) == (5, 5, ())
    assert batches == sizes
    with open_reader(db) as reader:
        assert reader.info()["counts"]["items"] == 5


def test_the_workers_load_the_enrichment_once_the_last_files_are_handed_to_them(
    home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Each worker is asked to load the enrichment's modules (enrich.warm) right after the
    last files, before any enrichment work; an import that parses nothing asks nothing."""
    folder = _avis_folder(tmp_path / "avis", 5)
    monkeypatch.setattr(importer, "BATCH_FILES", 2)
    asked: list[str] = []
    real_submit_many, real_call = ParsePool.submit_many, ParsePool.call

    def submit_many(pool: ParsePool, documents: Any) -> Any:
        asked.append("parse")
        return real_submit_many(pool, documents)

    def call(pool: ParsePool, function: Any, *args: Any) -> Any:
        asked.append(f"{function.__module__}.{function.__name__}")
        return real_call(pool, function, *args)

    monkeypatch.setattr(ParsePool, "submit_many", submit_many)
    monkeypatch.setattr(ParsePool, "call", call)
    config = load_sources(home / "sources.yml")
    report = import_files(home / "store.duckdb", config, "certfr", [folder])
    assert (report.parsed, report.new_items) == (5, 5)
    workers = config.settings.parse_workers
    ready = ["techwatch.enrich.warm.ready"] * workers
    assert asked[: 3 + workers] == ["parse"] * 3 + ready
    assert "techwatch.enrich.warm.ready" not in asked[3 + workers :]
    assert len(asked) > 3 + workers  # the enrichment's work followed

    asked.clear()
    again = import_files(home / "store.duckdb", config, "certfr", [folder])
    assert (again.parsed, again.unchanged_files, asked) == (0, 5, [])


def test_files_stored_before_are_skipped_and_a_changed_one_is_read_again(
    home: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = _avis_folder(tmp_path / "avis", 4)
    first = import_files(
        home / "store.duckdb", load_sources(home / "sources.yml"), "certfr", [folder]
    )
    assert (first.parsed, first.unchanged_files, first.new_items) == (4, 0, 4)

    again = import_files(
        home / "store.duckdb", load_sources(home / "sources.yml"), "certfr", [folder]
    )
    assert (again.files, again.parsed, again.unchanged_files) == (4, 0, 4)
    assert (again.new_items, again.updated_items, again.cves_refreshed) == (0, 0, 0)

    changed = json.loads((folder / "avis-02.json").read_text())
    changed["title"] += " (révision)"
    (folder / "avis-02.json").write_text(json.dumps(changed))
    third = import_files(
        home / "store.duckdb", load_sources(home / "sources.yml"), "certfr", [folder]
    )
    assert (third.parsed, third.unchanged_files, third.updated_items) == (1, 3, 1)
    with open_reader(home / "store.duckdb") as reader:
        assert reader.info()["counts"]["items"] == 4
        assert [r["status"] for r in reader.runs()] == ["ok", "ok", "ok"]


def test_reparse_or_new_parser_code_reads_every_file_again(
    home: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    folder = _avis_folder(tmp_path / "avis", 3)
    code, out, _ = _import(capsys, home, "--source", "certfr", str(folder))
    assert code == 0 and "Skipped" not in out
    code, out, _ = _import(capsys, home, "--source", "certfr", str(folder))
    assert "Imported 0/3 files" in out and "Skipped 3 files" in out

    code, out, _ = _import(capsys, home, "--source", "certfr", str(folder), "--reparse", "--json")
    report = json.loads(out)
    assert (report["parsed"], report["unchanged_files"], report["new_items"]) == (3, 0, 0)
    assert report["updated_items"] == 0, "the same code reads the same items"

    monkeypatch.setattr(importer, "parsers_fingerprint", lambda: "a parser fix")
    code, out, _ = _import(capsys, home, "--source", "certfr", str(folder), "--json")
    assert (json.loads(out)["parsed"], json.loads(out)["unchanged_files"]) == (3, 0)


def test_the_same_file_for_another_source_is_read(home: Path, tmp_path: Path) -> None:
    folder = _avis_folder(tmp_path / "avis", 2)
    text = SOURCES + (
        "  - id: certfr2\n    name: CERT-FR bis\n    kind: certfr-json\n"
        "    url: https://example.org/avis/\n    category: advisory\n"
    )
    (home / "sources.yml").write_text(text)
    config = load_sources(home / "sources.yml")
    import_files(home / "store.duckdb", config, "certfr", [folder])
    other = import_files(home / "store.duckdb", config, "certfr2", [folder])
    assert (other.parsed, other.unchanged_files, other.new_items) == (2, 0, 2)


#: A few real files of each advisory kind (glob under advisories/, source id, kind).
REAL_SAMPLE = (
    ("cisa-kev/known_exploited_vulnerabilities.json", "kev", "cisa-kev", 1),
    ("cve-json5-vulnrichment/*/*.json", "cve", "cve-json5", 60),
    ("cert-fr-avis/*/*.json", "certfr", "certfr-json", 60),
    ("csaf-cisa/*-2024/*.json", "csaf", "csaf", 30),
    ("osv-golang-vulndb/*.json", "osv", "osv", 30),
)


def test_a_real_import_is_stable_and_its_enrichment_equals_a_full_refresh(
    realdata: Path, tmp_path: Path
) -> None:
    """Invariants of the fast paths: a second import skips every file and changes nothing;
    reparsing finds every item unchanged (stable content hashes); the CVE table built
    incrementally by the import is the one a full refresh rebuilds from every item, and the
    product mentions it recognised in its workers (beside story grouping) are those a full
    refresh in one process finds from the same, freshly learnt, dictionary."""
    from techwatch.enrich.refresh import refresh
    from techwatch.storage.connection import connect

    entries = "".join(
        f"  - id: {sid}\n    name: {sid}\n    kind: {kind}\n"
        f"    url: https://{sid}.example/\n    category: advisory\n"
        for _, sid, kind, _ in REAL_SAMPLE
    )
    (tmp_path / "sources.yml").write_text(f"sources:\n{entries}")
    config = load_sources(tmp_path / "sources.yml")
    groups = [
        (sid, sorted((realdata / "advisories").glob(pattern))[:count])
        for pattern, sid, _, count in REAL_SAMPLE
    ]
    db = tmp_path / "store.duckdb"
    first = import_sources(db, config, groups)
    assert first.parsed == first.files > 150 and first.new_items > 1000
    cves_sql = "SELECT * EXCLUDE (refreshed_at) FROM cves ORDER BY cve_id"

    def table(sql: str) -> list[tuple[Any, ...]]:
        conn = connect(db, read_only=True, wait_s=5)
        try:
            return conn.execute(sql).fetchall()
        finally:
            conn.close()

    mentions_sql = "SELECT * FROM item_products ORDER BY ALL"
    incremental = table(cves_sql)
    mentioned = table(mentions_sql)
    assert len(incremental) > 1000 and len(mentioned) > 1000

    again = import_sources(db, config, groups)
    assert (again.parsed, again.unchanged_files, again.new_items) == (0, first.files, 0)
    reparsed = import_sources(db, config, groups, reparse=True)
    assert (reparsed.parsed, reparsed.new_items, reparsed.updated_items) == (first.files, 0, 0)

    refresh(db, since=None)
    assert table(cves_sql) == incremental
    with duckdb.connect(str(db)) as conn:  # learnt again from nothing, as the import did
        conn.execute("DELETE FROM products")
    refresh(db, since=None)
    assert table(mentions_sql) == mentioned


def test_a_feed_file_is_imported_with_its_language_detected(home: Path) -> None:
    """Feed kinds detect languages: their workers load the language model (advisory-only
    imports start without it)."""
    feed = Path(__file__).parents[1] / "techwatch" / "demo" / "feeds" / "heise-security.rss"
    (home / "sources.yml").write_text(
        SOURCES + "  - id: heise\n    name: heise\n    kind: feed\n"
        "    url: https://www.heise.de/security/rss/news.rdf\n    category: press\n"
    )
    report = import_files(
        home / "store.duckdb", load_sources(home / "sources.yml"), "heise", [feed]
    )
    assert report.parsed == 1 and report.new_items > 0
    with open_reader(home / "store.duckdb") as reader:
        languages = {item["language"] for item in reader.items(limit=100)}
    assert languages == {"de"}
