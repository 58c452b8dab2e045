"""Running one crawl against a local server, synchronously, for tests that read as specs."""

from __future__ import annotations

import asyncio
from datetime import datetime

from techwatch.crawl.ratelimit import RollingLimiter
from techwatch.crawl.run import crawl_source
from techwatch.fetch import FeedClient
from techwatch.parse.pool import ParsePool
from techwatch.types import (
    CrawlSettings,
    FetchSettings,
    Source,
    SourceKind,
    SourceOutcome,
    SourceState,
)

LOCAL = FetchSettings(
    allow_private_networks=True, connect_timeout_s=2.0, read_timeout_s=5.0, total_timeout_s=10.0
)


def make_source(
    kind: SourceKind, url: str, crawl: CrawlSettings | None = None, source_id: str = "crawl"
) -> Source:
    return Source(id=source_id, name="Crawl", kind=kind, url=url, category="advisory", crawl=crawl)


def crawl(
    pool: ParsePool,
    source: Source,
    state: SourceState | None = None,
    *,
    now: datetime | None = None,
    limiter: RollingLimiter | None = None,
    retry_delays: tuple[float, ...] = (),
) -> SourceOutcome:
    async def run() -> SourceOutcome:
        async with FeedClient(LOCAL) as client:
            return await crawl_source(
                client,
                pool,
                source,
                state,
                retry_delays=retry_delays,
                limiter=limiter or RollingLimiter(100, 1.0),
                now=now,
            )

    return asyncio.run(run())


def state_after(source: Source, outcome: SourceOutcome) -> SourceState:
    """The state the next run would load, as far as the crawl is concerned."""
    return SourceState(source_id=source.id, url=source.url, cursor=outcome.cursor)
