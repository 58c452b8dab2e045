"""The search index built after the writes, in chunks (ingestion's store stage leaves it to a
side task): a stored item is always found, ranked once indexed, unranked before, even when the
process dies between the write and the index build or between two of its chunks."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from datetime import timedelta
from pathlib import Path

from techwatch import ingest
from techwatch.storage import open_reader, open_writer
from techwatch.types import FetchSettings
from tests.storage.conftest import Worker
from tests.storage.factories import T0, batch, item, outcome, source

StartWorker = Callable[..., Worker]

QUERIES = ["exchange", "patch", "title 3", "ransomware", "CVE-2026-0001", "text", "about"]


def corpus() -> list:
    words = ["exchange patch", "ransomware clinic", "patch tuesday", "printer exchange"]
    items = [
        item("s1", f"a{i}", title=f"title {i} {words[i % 4]}", text=f"text {i} {words[-i % 4]}")
        for i in range(23)
    ]
    return [
        outcome("s1", items[:12]),
        outcome("s2", [replace(i, source_id="s2") for i in items[12:]]),
    ]


def search(db: Path, query: str) -> list[tuple[str, float | None]]:
    with open_reader(db) as r:
        return [(h["title"], h["score"]) for h in r.search(query, limit=50)]


def pending(db: Path) -> int:
    with open_reader(db) as r:
        return int(r.info()["search_index"]["pending"])


def test_chunked_index_ranks_as_one_build(tmp_path: Path) -> None:
    chunked, whole = tmp_path / "chunked.duckdb", tmp_path / "whole.duckdb"
    edited = replace(corpus()[0].items[3], text="now about ransomware", content_hash="2")
    for db in (chunked, whole):
        with open_writer(db) as w:
            w.write_outcomes("r1", corpus(), [], T0, index_search=False)
    with open_writer(chunked) as w:
        w.update_search_index(chunk=5)
        w.write_outcomes("r2", [outcome("s1", [edited])], [], T0, index_search=False)
        w.update_search_index(chunk=5)
    with open_writer(whole) as w:
        w.write_outcomes("r2", [outcome("s1", [edited])], [], T0, index_search=False)
        w.rebuild_search_index()

    assert pending(chunked) == 0
    for query in QUERIES:
        hits = search(chunked, query)
        assert hits == search(whole, query), query
        assert all(score is not None for _, score in hits), query
    assert [title for title, _ in search(chunked, "about")] == ["title 3 printer exchange"]


def test_a_stored_batch_is_found_unranked_then_ranked_by_index_search(db: Path) -> None:
    with open_writer(db) as w:
        w.write_outcomes("r1", corpus(), [], T0)
    later = T0 + timedelta(days=1)
    ingest.store_batch(db, "r2", [source("s1")], batch("later", 7), {}, FetchSettings(), now=later)
    assert pending(db) == 7
    assert [score for _, score in search(db, "later title 4")] == [None]

    ingest.index_search(db)

    assert pending(db) == 0
    [(title, score)] = search(db, "later title 4")
    assert title == "later title 4" and score is not None and score > 0


def test_a_crash_between_the_write_and_the_index_loses_nothing(
    db: Path, worker: StartWorker
) -> None:
    doomed = worker("write", str(db), "r1", "night", "40", "unindexed")
    doomed.expect("committed")
    doomed.kill()

    assert pending(db) == 40
    assert search(db, "night title 17") == [("night title 17", None)]
    ingest.close_run(db, "r1", finished_at=T0, failed=False, summary={})  # the next run's close
    assert pending(db) == 0
    [(title, score)] = search(db, "night title 17")
    assert title == "night title 17" and score is not None


def test_a_crash_between_two_index_chunks_keeps_the_first(db: Path, worker: StartWorker) -> None:
    doomed = worker("write", str(db), "r1", "night", "40", "index-chunks")
    doomed.expect("chunked")
    doomed.kill()

    assert pending(db) == 30
    hits = search(db, "night")
    assert len(hits) == 40, "every stored item is found"
    assert sum(score is not None for _, score in hits) == 10, "the committed chunk is ranked"
    ingest.index_search(db)
    assert pending(db) == 0
    assert all(score is not None for _, score in search(db, "night"))
