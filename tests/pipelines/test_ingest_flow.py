"""The real ingestion flow under Prefect, over real HTTP, into a real DuckDB file."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from pipelines.ingest import ingest_flow
from techwatch.demo.server import serve
from techwatch.demo.site import demo_site, write_demo_sources
from techwatch.runlock import RunInProgressError, lock_path_for, run_lock
from techwatch.storage import open_reader

pytestmark = pytest.mark.usefixtures("prefect_api")


def _by_id(report: dict) -> dict[str, dict]:
    return {line["source_id"]: line for line in report["sources"]}


def test_demo_feeds_end_to_end_then_nothing_new(tmp_path: Path) -> None:
    db = tmp_path / "var" / "techwatch.duckdb"
    site = demo_site()
    with serve(site) as base_url:
        sources = write_demo_sources(tmp_path / "sources.yml", base_url)
        first = ingest_flow(sources_path=sources, db_path=db, kind="test", force=True)
        second = ingest_flow(sources_path=sources, db_path=db, kind="test", force=True)

    lines = _by_id(first)
    assert lines["demo-missing"]["status"] == "failed"
    assert lines["demo-missing"]["error_kind"] == "http_4xx"
    assert lines["demo-flaky"]["error_kind"] in {"http_5xx", "rate_limited"}
    assert lines["demo-not-a-feed"]["error_kind"] == "not_a_feed"
    assert lines["demo-certfr-avis"]["status"] == "ok"
    assert lines["demo-truncated"]["status"] == "ok"
    assert lines["demo-truncated"]["new"] >= 3
    assert lines["demo-cisa-kev"]["new"] == 3
    assert first["new_items"] > 50
    assert {"fr", "de", "en"} <= set(first["new_by_language"])

    # Second run: conditional GET everywhere it worked, nothing new, failing sources backed off.
    assert second["new_items"] == 0
    assert second["updated_items"] == 0
    assert second["new_by_language"] == {}
    assert second["status_counts"]["not_modified"] >= first["status_counts"]["ok"]
    again = _by_id(second)
    assert again["demo-missing"]["status"] == "skipped"
    assert again["demo-flaky"]["status"] == "skipped"

    with open_reader(db) as reader:
        info = reader.info()
        hits = reader.search("ransomware", limit=5)
        runs = reader.runs(limit=5)
        stored = {r["source_id"]: r["status"] for r in reader.run_sources(second["run_id"])}
        [kev_id] = [
            r["id"]
            for r in reader.items(source_id="demo-cisa-kev", limit=10)
            if r["cves"] == ["CVE-2026-48213"]
        ]
        kev_item = reader.item(kev_id)
    assert kev_item is not None
    [fortios] = kev_item["vulns"]
    assert (fortios["vuln_id"], fortios["kev_ransomware"]) == ("CVE-2026-48213", True)
    assert info["counts"]["items"] == first["new_items"]
    assert stored["demo-missing"] == stored["demo-flaky"] == "skipped"
    assert hits, "full-text search finds demo items"
    # Newest first: the second run had nothing fail (failing sources were backing off).
    assert [r["status"] for r in runs][:2] == ["ok", "partial"]


def test_an_item_new_in_a_later_run_is_found_ranked_right_after_it(tmp_path: Path) -> None:
    db = tmp_path / "techwatch.duckdb"
    site = demo_site()
    entry = (
        b"<item><title>Quokkaware hits clinics</title><guid>quokka-1</guid>"
        b"<description>A new strain named quokkaware encrypts practice software.</description>"
        b"</item></channel>"
    )
    with serve(site) as base_url:
        sources = write_demo_sources(tmp_path / "sources.yml", base_url)
        ingest_flow(sources_path=sources, db_path=db, kind="test", force=True)
        with open_reader(db) as reader:
            assert reader.search("quokkaware") == []
        feed = site.documents["/security-press.rss"]
        site.documents["/security-press.rss"] = feed.replace(b"</channel>", entry, 1)
        second = ingest_flow(sources_path=sources, db_path=db, kind="test", force=True)

    assert second["new_items"] == 1
    with open_reader(db) as reader:
        [hit] = reader.search("quokkaware")
        pending = reader.info()["search_index"]["pending"]
    assert hit["title"] == "Quokkaware hits clinics"
    assert hit["score"] is not None and hit["score"] > 0, "ranked by the index, not a fallback"
    assert pending == 0


def test_a_second_overlapping_run_is_refused(tmp_path: Path) -> None:
    db = tmp_path / "techwatch.duckdb"
    with serve(demo_site()) as base_url:
        sources = write_demo_sources(tmp_path / "sources.yml", base_url)
        with run_lock(lock_path_for(db)), pytest.raises(RunInProgressError):
            ingest_flow(sources_path=sources, db_path=db, kind="test")
    assert not db.exists(), "the refused run wrote nothing"


def test_a_failing_stage_keeps_the_run_lock_until_the_search_index_ends(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The index runs beside stories and the stages after them: if one raises, the flow must
    wait for the index inside the lock, or a second run could start while it still writes.
    The run's slower collector pace (gcpacing) is given back too."""
    import fcntl
    import gc
    import os
    import time

    from techwatch import ingest
    from techwatch.gcpacing import YOUNG_THRESHOLD

    db = tmp_path / "techwatch.duckdb"
    lock_held_at_index_end: list[bool] = []
    real_index = ingest.index_search

    def slow_index(db_path: Path) -> None:
        time.sleep(1.0)  # longer than the failing enrichment stage takes to raise
        real_index(db_path)
        fd = os.open(lock_path_for(db), os.O_RDWR)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            lock_held_at_index_end.append(False)
        except BlockingIOError:
            lock_held_at_index_end.append(True)
        finally:
            os.close(fd)

    pace_in_stage: list[int] = []

    def broken_enrichment(*args: object, **kwargs: object) -> None:
        pace_in_stage.append(gc.get_threshold()[0])
        raise RuntimeError("enrichment stage broke")

    monkeypatch.setattr(ingest, "index_search", slow_index)
    monkeypatch.setattr("pipelines.ingest.refresh", broken_enrichment)
    with serve(demo_site()) as base_url:
        sources = write_demo_sources(tmp_path / "sources.yml", base_url)
        with pytest.raises(RuntimeError, match="enrichment stage broke"):
            ingest_flow(sources_path=sources, db_path=db, kind="test")
    assert lock_held_at_index_end == [True]
    assert pace_in_stage == [YOUNG_THRESHOLD] != [gc.get_threshold()[0]]


def test_the_search_index_runs_after_stories_and_beside_enrichment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The index runs on its own connection once stories are grouped, beside enrichment: never
    beside a write of items (DuckDB 1.5.5 lost a row when an uncommitted delete of the index's
    queue met a concurrent insert of items), nor beside stories, whose transient memory added
    to the index's made the run's peak."""
    import threading

    from techwatch import ingest
    from techwatch.enrich.refresh import refresh
    from techwatch.stories.run import group_pending

    db = tmp_path / "techwatch.duckdb"
    events: list[str] = []
    index_started = threading.Event()
    real_index, real_store = ingest.index_search, ingest.store_batch

    def recorded_store(*args: Any, **kwargs: Any) -> Any:
        events.append("store start")
        written = real_store(*args, **kwargs)
        events.append("store end")
        return written

    def recorded_index(db_path: Path) -> None:
        events.append("index starts")
        index_started.set()
        real_index(db_path)
        events.append("index ends")

    def recorded_stories(*args: Any, **kwargs: Any) -> Any:
        events.append("stories start")
        report = group_pending(*args, **kwargs)
        events.append("stories end")
        return report

    def recorded_enrichment(*args: Any, **kwargs: Any) -> Any:
        events.append("enrich start")
        index_started.wait(timeout=10)  # an index started beside shows up before enrich ends
        report = refresh(*args, **kwargs)
        events.append("enrich end")
        return report

    monkeypatch.setattr(ingest, "index_search", recorded_index)
    monkeypatch.setattr(ingest, "store_batch", recorded_store)
    monkeypatch.setattr("pipelines.ingest.group_pending", recorded_stories)
    monkeypatch.setattr("pipelines.ingest.refresh", recorded_enrichment)
    with serve(demo_site()) as base_url:
        sources = write_demo_sources(tmp_path / "sources.yml", base_url)
        ingest_flow(sources_path=sources, db_path=db, kind="test")
    last_store_end = len(events) - 1 - events[::-1].index("store end")
    assert last_store_end < events.index("stories end") < events.index("index starts")
    assert events.index("index starts") < events.index("enrich end")
    assert events.count("index starts") == events.count("index ends") == 1


NEW_ENTRY = (
    b"<item><title>Quokkaware hits clinics</title><guid>quokka-1</guid>"
    b"<description>A new strain named quokkaware encrypts practice software.</description>"
    b"</item></channel>"
)


def _recording(calls: list[str], name: str, function: Any) -> Any:
    def recorded(*args: Any, **kwargs: Any) -> Any:
        calls.append(name)
        return function(*args, **kwargs)

    return recorded


def test_an_unchanged_night_skips_the_stages_left_nothing_to_do(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Stories, search index and enrichment: each would open the store to find nothing."""
    from techwatch import ingest
    from techwatch.enrich.refresh import refresh
    from techwatch.stories.run import group_pending

    db = tmp_path / "techwatch.duckdb"
    calls: list[str] = []
    monkeypatch.setattr(ingest, "index_search", _recording(calls, "index", ingest.index_search))
    monkeypatch.setattr(ingest, "store_batch", _recording(calls, "store", ingest.store_batch))
    monkeypatch.setattr(
        "pipelines.ingest.group_pending", _recording(calls, "stories", group_pending)
    )
    monkeypatch.setattr("pipelines.ingest.refresh", _recording(calls, "enrich", refresh))
    site = demo_site()
    runs: list[tuple[dict[str, Any], list[str]]] = []
    with serve(site) as base_url:
        sources = write_demo_sources(tmp_path / "sources.yml", base_url)
        for night in ("first", "unchanged", "one new item"):
            if night == "one new item":
                feed = site.documents["/security-press.rss"]
                site.documents["/security-press.rss"] = feed.replace(b"</channel>", NEW_ENTRY, 1)
            report = ingest_flow(sources_path=sources, db_path=db, kind="test", force=True)
            runs.append((report, sorted(calls)))
            calls.clear()

    (first, first_calls), (quiet, quiet_calls), (changed, changed_calls) = runs
    assert first_calls == changed_calls == ["enrich", "index", "store", "stories"]
    assert (quiet["new_items"], quiet["updated_items"], quiet_calls) == (0, 0, [])
    assert quiet["stories"] == {
        "items": 0,
        "new_stories": 0,
        "joined": 0,
        "merges": 0,
        "seconds": 0,
    }
    assert set(quiet["stage_seconds"]) == set(first["stage_seconds"])
    assert (changed["new_items"], changed["stories"]["items"]) == (1, 1)
    with open_reader(db) as reader:
        assert reader.info()["search_index"]["pending"] == 0
        quiet_rows = reader.run_sources(quiet["run_id"])
    # The quiet night's run rows were written by `finish`, as the store stage wrote them.
    assert {(r["source_id"], r["status"]) for r in quiet_rows} == {
        (line["source_id"], line["status"]) for line in quiet["sources"]
    }


def test_a_quiet_night_whose_stage_fails_keeps_its_run_rows_and_states(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A quiet night leaves its write to `finish`: a stage failing before it writes them."""
    from techwatch import ingest

    def broken(*args: Any, **kwargs: Any) -> None:
        raise RuntimeError("scoring broke")

    db = tmp_path / "techwatch.duckdb"
    calls: list[str] = []
    with serve(demo_site()) as base_url:
        sources = write_demo_sources(tmp_path / "sources.yml", base_url)
        ingest_flow(sources_path=sources, db_path=db, kind="test", force=True)
        with open_reader(db) as reader:
            before = {s["id"]: s["last_attempt"] for s in reader.sources()}
        monkeypatch.setattr(ingest, "store_batch", _recording(calls, "store", ingest.store_batch))
        monkeypatch.setattr(ingest, "write_quiet", _recording(calls, "quiet", ingest.write_quiet))
        monkeypatch.setattr("techwatch.watch.score_night", broken)
        with pytest.raises(RuntimeError, match="scoring broke"):
            ingest_flow(sources_path=sources, db_path=db, kind="test", force=True)

    with open_reader(db) as reader:
        [failed_run, _] = reader.runs(limit=2)
        rows = reader.run_sources(failed_run["run_id"])
        after = {s["id"]: s["last_attempt"] for s in reader.sources()}
    assert calls == ["quiet"]
    assert failed_run["status"] == "running", "the run never finished"
    fetched = [r["source_id"] for r in rows if r["status"] == "not_modified"]
    assert len(fetched) > 5
    assert all(after[source_id] > before[source_id] for source_id in fetched)
