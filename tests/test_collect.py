"""Collecting a batch over real HTTP: retries for transient errors only (RELIABILITY 37)."""

from __future__ import annotations

import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import pytest

from techwatch.collect import Collector, collect_batch
from techwatch.demo.server import Site, serve
from techwatch.parse.pool import ParsePool
from techwatch.types import FetchSettings, Source, SourceOutcome

FEED = b"""<?xml version="1.0" encoding="utf-8"?>
<rss version="2.0"><channel><title>t</title><link>https://example.org/</link>
<item><title>Patch now: CVE-2026-48001</title><link>https://example.org/a</link>
<guid>a</guid>
<description>&lt;p&gt;Fix for &lt;b&gt;FortiOS&lt;/b&gt;.&lt;/p&gt;</description></item>
</channel></rss>"""

SETTINGS = FetchSettings(allow_private_networks=True, concurrency=4, total_timeout_s=10)


@pytest.fixture(scope="module")
def pool() -> Iterator[ParsePool]:
    with ParsePool(1, 20) as parse_pool:
        yield parse_pool


def _source(base: str, path: str) -> Source:
    return Source(
        id=path.strip("/").split(".")[0], name=path, kind="feed", url=base + path, category="press"
    )


def test_transient_error_is_retried_within_the_run(pool: ParsePool) -> None:
    site = Site(documents={"/warming.rss": FEED}, fail_first={"/warming.rss": 1})
    with serve(site) as base:
        [outcome] = collect_batch(
            [_source(base, "/warming.rss")], {}, SETTINGS, pool, retry_delays=(0.05, 0.1)
        )
    assert outcome.status == "ok"
    assert site.hits["/warming.rss"] == 2
    assert [item.cves for item in outcome.items] == [("CVE-2026-48001",)]


def test_terminal_error_is_not_retried(pool: ParsePool) -> None:
    site = Site(gone={"/gone.rss"})
    with serve(site) as base:
        [outcome] = collect_batch(
            [_source(base, "/gone.rss")], {}, SETTINGS, pool, retry_delays=(0.05, 0.1)
        )
    assert outcome.status == "failed"
    assert (outcome.error_kind, outcome.transient) == ("http_4xx", False)
    assert site.hits["/gone.rss"] == 1


def test_persistent_transient_error_fails_after_the_retries(pool: ParsePool) -> None:
    site = Site(documents={"/down.rss": FEED}, fail_first={"/down.rss": 10})
    with serve(site) as base:
        [outcome] = collect_batch(
            [_source(base, "/down.rss")], {}, SETTINGS, pool, retry_delays=(0.05, 0.1)
        )
    assert outcome.status == "failed"
    assert outcome.transient is True
    assert site.hits["/down.rss"] == 3


def test_a_long_retry_after_is_not_retried_now(pool: ParsePool) -> None:
    site = Site(documents={"/busy.rss": FEED}, unavailable={"/busy.rss": 600})
    with serve(site) as base:
        [outcome] = collect_batch(
            [_source(base, "/busy.rss")], {}, SETTINGS, pool, retry_delays=(0.05,)
        )
    assert outcome.status == "failed"
    assert outcome.retry_after is not None
    assert site.hits["/busy.rss"] == 1


def test_one_bad_source_does_not_stop_the_batch(pool: ParsePool) -> None:
    site = Site(documents={"/good.rss": FEED, "/page.rss": b"<html><body>hello</body></html>"})
    with serve(site) as base:
        outcomes = collect_batch(
            [_source(base, "/good.rss"), _source(base, "/page.rss")], {}, SETTINGS, pool
        )
    assert [(o.source_id, o.status) for o in outcomes] == [("good", "ok"), ("page", "failed")]
    assert outcomes[1].error_kind == "not_a_feed"


def test_collector_gives_what_collect_batch_gives(pool: ParsePool) -> None:
    site = Site(
        documents={"/good.rss": FEED, "/page.rss": b"<html><body>hello</body></html>"},
        gone={"/gone.rss"},
    )
    paths = ["/good.rss", "/gone.rss", "/page.rss"]
    with serve(site) as base:
        sources = [_source(base, path) for path in paths]
        alone = collect_batch(sources, {}, SETTINGS, pool, retry_delays=())
        with Collector(SETTINGS, pool, retry_delays=()) as collector:
            shared = [collector.collect(sources[:2], {}), collector.collect(sources[2:], {})]

    def facts(outcomes: list[SourceOutcome]) -> list[tuple[object, ...]]:
        return [(o.source_id, o.status, o.error_kind, o.items, o.etag) for o in outcomes]

    assert facts([*shared[0], *shared[1]]) == facts(alone)


def test_batches_collected_at_once_share_the_concurrency_gate(pool: ParsePool) -> None:
    """Two threads with three sources each and a concurrency of 2: three rounds of latency,
    not two (a client per batch, as `collect_batch` has, would let four requests run at once)."""
    site = Site(documents={f"/f{i}.rss": FEED for i in range(6)}, latency_s=(0.4, 0.4))
    settings = FetchSettings(allow_private_networks=True, concurrency=2, total_timeout_s=10)
    with serve(site) as base:
        sources = [_source(base, f"/f{i}.rss") for i in range(6)]
        with Collector(settings, pool) as collector, ThreadPoolExecutor(2) as threads:
            started = time.perf_counter()
            halves = [threads.submit(collector.collect, sources[i::2], {}) for i in range(2)]
            outcomes = [o for half in halves for o in half.result()]
            elapsed = time.perf_counter() - started
    assert [o.status for o in outcomes] == ["ok"] * 6
    assert elapsed >= 3 * 0.4


def test_collector_refuses_work_outside_its_block(pool: ParsePool) -> None:
    collector = Collector(SETTINGS, pool)
    with pytest.raises(RuntimeError, match="outside"):
        collector.collect([], {})
    with collector:
        assert collector.collect([], {}) == []
    with pytest.raises(RuntimeError, match="outside"):
        collector.collect([], {})
