"""The ingestion flow groups stories after storing, under Prefect, into a real DuckDB file."""

from __future__ import annotations

from pathlib import Path

import pytest

from pipelines.ingest import ingest_flow
from techwatch.demo.server import serve
from techwatch.demo.site import demo_site, write_demo_sources
from techwatch.storage import open_reader

pytestmark = pytest.mark.usefixtures("prefect_api")


def test_the_flow_groups_the_demo_feeds_into_stories(tmp_path: Path) -> None:
    db = tmp_path / "var" / "techwatch.duckdb"
    with serve(demo_site()) as base_url:
        sources = write_demo_sources(tmp_path / "sources.yml", base_url)
        first = ingest_flow(sources_path=sources, db_path=db, kind="test", force=True)
        second = ingest_flow(sources_path=sources, db_path=db, kind="test", force=True)

    grouped = first["stories"]
    assert grouped["items"] == first["new_items"]
    assert 0 < grouped["new_stories"] < first["new_items"]
    assert grouped["joined"] > 0
    assert "stories" in first["stage_seconds"]
    assert second["stories"]["items"] == 0, "nothing new, nothing to group"

    with open_reader(db) as reader:
        stories = reader.stories(min_sources=2, limit=500)
        everything = reader.stories(limit=10_000)
        [fortios] = [s for s in stories if "CVE-2026-48213" in s["cves"]]
        shown = reader.story(fortios["story_id"])
    assert sum(s["items"] for s in everything) == first["new_items"]  # every item, once
    assert fortios["sources"] >= 3
    assert shown is not None
    sources_in_story = [row["source_id"] for row in shown["items_list"]]
    assert len(sources_in_story) == len(set(sources_in_story)), "one item per source"
    assert "demo-cisa-kev" in sources_in_story
