"""Collecting a batch over real HTTP: retries for transient errors only (RELIABILITY 37)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from techwatch.collect import collect_batch
from techwatch.demo.server import Site, serve
from techwatch.parse.pool import ParsePool
from techwatch.types import FetchSettings, Source

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
