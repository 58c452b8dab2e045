"""A crawl source in a real batch: collect dispatches it, the store keeps its cursor, and the
next run's loaded state starts from it."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

from techwatch.collect import collect_batch
from techwatch.ingest import store_batch
from techwatch.parse.pool import ParsePool
from techwatch.storage import open_reader, open_writer
from techwatch.types import Source
from tests.crawl.helpers import LOCAL, make_source
from tests.crawl.test_nvd import FakeNvd
from tests.fetch.server import Handler, LocalServer

FEED = b"""<?xml version="1.0"?><rss version="2.0"><channel><title>t</title>
<link>https://example.org/</link><item><title>Plain feed entry</title>
<link>https://example.org/a</link><guid>a</guid></item></channel></rss>"""


def test_the_cursor_is_stored_with_the_state_and_used_next_run(
    pool: ParsePool, realdata: Path, tmp_path: Path
) -> None:
    sample = json.loads((realdata / "advisories/api-samples/nvd-api2_2h-window.json").read_bytes())
    nvd = FakeNvd(sample)

    def feed(h: Handler) -> None:
        h.reply(200, FEED, {"Content-Type": "application/rss+xml"})

    db = tmp_path / "techwatch.duckdb"
    with LocalServer({"/cves": nvd, "/feed": feed}) as server:
        sources: list[Source] = [
            make_source("nvd-api", server.url("/cves"), source_id="nvd"),
            Source(id="plain", name="Plain", kind="feed", url=server.url("/feed"), category="blog"),
        ]
        with open_writer(db) as writer:
            writer.sync_sources(sources, datetime.now(UTC))
            writer.begin_run("r1", started_at=datetime.now(UTC), kind="test", flow_run_id=None)
        outcomes = collect_batch(sources, {}, LOCAL, pool, retry_delays=())
        assert [o.status for o in outcomes] == ["ok", "ok"]
        stats, _ = store_batch(db, "r1", sources, outcomes, {}, LOCAL, now=datetime.now(UTC))
        assert stats.new == {"nvd": 9, "plain": 1}

        with open_writer(db) as writer:
            states = writer.load_states()
        since = json.loads(states["nvd"].cursor or "")["since"]
        assert states["plain"].cursor is None
        with open_reader(db) as reader:
            assert {s["id"]: s["cursor"] for s in reader.sources()}["nvd"] == states["nvd"].cursor

        collect_batch(sources[:1], states, LOCAL, pool, retry_delays=())
    starts = {datetime.fromisoformat(q["lastModStartDate"]) for q in nvd.queries[3:]}
    cursor = datetime.fromisoformat(since)
    # The API takes milliseconds: the next window starts at most 1 ms early, never late.
    assert starts == {cursor.replace(microsecond=cursor.microsecond // 1000 * 1000)}
