"""The async edge of the crawl kinds: it performs what `techwatch.crawl.plan` decides.

Every request goes through the run's FeedClient, so crawls get the guards of any source
(address policy, body cap, timeouts, Retry-After). A crawl yields one SourceOutcome:
- the listing (or an NVD page) failing fails the source, with what was fetched before kept;
- one bad document never fails it: a warning names the document's URL.
"""

from __future__ import annotations

import asyncio
import os
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime

from techwatch.crawl import plan
from techwatch.crawl.ratelimit import NVD_PUBLIC, NVD_WITH_KEY, RollingLimiter
from techwatch.errors import SourceError
from techwatch.fetch import FeedClient
from techwatch.parse.csaf import parse_rolie_feed
from techwatch.parse.nvd import nvd_page_info
from techwatch.parse.pool import ParsePool
from techwatch.types import (
    CrawlSettings,
    Fetched,
    ParsedFeed,
    ParsedItem,
    Source,
    SourceOutcome,
    SourceState,
)

NVD_API_KEY_ENV = "TECHWATCH_NVD_API_KEY"
#: Warnings kept per outcome; a feed where every document fails says so in one line more.
MAX_WARNINGS = 50


@dataclass
class _Tally:
    """What a crawl gathered so far; becomes the outcome."""

    source: Source
    started_at: datetime
    t0: float = field(default_factory=time.perf_counter)
    items: list[ParsedItem] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    entries: int = 0
    bytes: int = 0
    parse_s: float = 0.0
    http_status: int | None = None

    def add(self, parsed: ParsedFeed, size: int, parse_s: float) -> None:
        self.items.extend(parsed.items)
        self.warnings.extend(parsed.warnings)
        self.entries += parsed.entries_total
        self.bytes += size
        self.parse_s += parse_s

    def outcome(self, cursor: str | None, error: SourceError | None = None) -> SourceOutcome:
        elapsed = time.perf_counter() - self.t0
        warnings = self.warnings[:MAX_WARNINGS]
        if len(self.warnings) > MAX_WARNINGS:
            warnings.append(f"... and {len(self.warnings) - MAX_WARNINGS} more warnings")
        base = SourceOutcome(
            source_id=self.source.id,
            status="ok",
            started_at=self.started_at,
            duration_s=elapsed,
            http_status=self.http_status,
            url=self.source.url,
            bytes=self.bytes,
            entries=self.entries,
            items=tuple(self.items),
            warnings=tuple(warnings),
            fetch_s=max(0.0, elapsed - self.parse_s),
            parse_s=self.parse_s,
            cursor=cursor,
        )
        if error is None:
            return base
        return replace(
            base,
            status="failed",
            http_status=error.status,
            error_kind=error.kind,
            error=str(error.args[0]),
            transient=error.transient,
            retry_after=error.retry_after,
        )


@dataclass
class _Crawl:
    """One source's crawl: its client, parse pool, settings and retry policy."""

    client: FeedClient
    pool: ParsePool
    source: Source
    settings: CrawlSettings
    retry_delays: Sequence[float]
    started_at: datetime
    headers: Mapping[str, str] | None = None
    limiter: RollingLimiter | None = None

    async def get(self, url: str) -> Fetched:
        """GET one URL of the crawl, with the in-run retries of a transient error; each
        attempt counts against the rate limit, when there is one."""
        delays = list(self.retry_delays)
        while True:
            if self.limiter is not None:
                await self.limiter.acquire()
            try:
                return await self.client.fetch(
                    replace(self.source, url=url), None, datetime.now(UTC), headers=self.headers
                )
            except SourceError as error:
                if not (error.transient and delays) or _waits_long(error, delays[0]):
                    raise
                await asyncio.sleep(delays.pop(0))

    async def parse(self, fetched: Fetched, kind: str) -> tuple[ParsedFeed, float]:
        t0 = time.perf_counter()
        parsed = await self.pool.parse(
            self.source.id,
            fetched.body or b"",
            url=fetched.final_url,
            content_type=fetched.content_type,
            declared_language=self.source.language,
            fetched_at=fetched.fetched_at,
            kind=kind,
        )
        return parsed, time.perf_counter() - t0

    async def documents(self, urls: Sequence[str], kind: str, tally: _Tally) -> set[str]:
        """Fetch and parse documents, `concurrency` at a time; returns those handled.

        A document counts as handled when parsed, or when it failed for good (404,
        unparseable): retrying those next run would not help. A transient failure leaves it
        for the next run.
        """
        gate = asyncio.Semaphore(max(1, self.settings.concurrency))
        handled: set[str] = set()

        async def one(url: str) -> None:
            async with gate:
                try:
                    fetched = await self.get(url)
                    parsed, parse_s = await self.parse(fetched, kind)
                except SourceError as error:
                    tally.warnings.append(f"{url}: {error.kind}: {error.args[0]}")
                    if not error.transient:
                        handled.add(url)
                    return
            tally.add(parsed, len(fetched.body or b""), parse_s)
            handled.add(url)

        await asyncio.gather(*(one(url) for url in urls))
        return handled


async def crawl_source(
    client: FeedClient,
    pool: ParsePool,
    source: Source,
    state: SourceState | None,
    *,
    retry_delays: Sequence[float],
    limiter: RollingLimiter | None = None,
    now: datetime | None = None,
) -> SourceOutcome:
    """Crawl one source of a crawl kind; `now` bounds the NVD window (default: the clock)."""
    started_at = now or datetime.now(UTC)
    settings = source.crawl or CrawlSettings()
    crawl = _Crawl(client, pool, source, settings, retry_delays, started_at)
    cursor = state.cursor if state is not None and state.url == source.url else None
    tally = _Tally(source, started_at)
    if source.kind == "nvd-api":
        return await _nvd(crawl, cursor, tally, limiter)
    if source.kind == "csaf-rolie":
        return await _rolie(crawl, cursor, tally)
    if source.kind == "certfr-feed":
        return await _certfr(crawl, cursor, tally)
    raise ValueError(f"{source.kind!r} is not a crawl kind")  # collect dispatches: a bug


async def _nvd(
    crawl: _Crawl, cursor: str | None, tally: _Tally, limiter: RollingLimiter | None
) -> SourceOutcome:
    """Page through each lastModified window; the cursor passes a window once it is complete."""
    key = os.environ.get(NVD_API_KEY_ENV, "").strip()
    crawl.headers = {"apiKey": key} if key else None
    crawl.limiter = limiter or RollingLimiter(*(NVD_WITH_KEY if key else NVD_PUBLIC))
    now = crawl.started_at
    since = plan.nvd_since(cursor, now, crawl.settings.initial_days)
    done: str | None = None
    for window in plan.nvd_windows(since, now):
        start: int | None = 0
        while start is not None:
            url = plan.nvd_page_url(crawl.source.url, window, start)
            try:
                fetched = await crawl.get(url)
                first, returned, total = await asyncio.to_thread(
                    nvd_page_info, fetched.body or b"", source_id=crawl.source.id, url=url
                )
                parsed, parse_s = await crawl.parse(fetched, "nvd-api")
            except SourceError as error:
                return tally.outcome(done, error)
            tally.http_status = fetched.status
            tally.add(parsed, len(fetched.body or b""), parse_s)
            start = plan.nvd_next_start(first, returned, total)
        done = plan.nvd_cursor(window[1])
    return tally.outcome(done)


async def _rolie(crawl: _Crawl, cursor: str | None, tally: _Tally) -> SourceOutcome:
    """Read the ROLIE feed, then fetch the CSAF documents updated after the cursor."""
    try:
        fetched = await crawl.get(crawl.source.url)
        listing = await asyncio.to_thread(
            parse_rolie_feed, fetched.body or b"", url=fetched.final_url, source_id=crawl.source.id
        )
    except SourceError as error:
        return tally.outcome(None, error)
    tally.http_status, tally.bytes = fetched.status, len(fetched.body or b"")
    start = plan.rolie_start(cursor, crawl.started_at, crawl.settings.initial_days)
    due = plan.rolie_due(listing, start, crawl.settings.max_documents)
    handled = await crawl.documents([entry.url for entry in due], "csaf", tally)
    return tally.outcome(plan.rolie_cursor(start, due, handled))


async def _certfr(crawl: _Crawl, cursor: str | None, tally: _Tally) -> SourceOutcome:
    """Read the RSS listing, then fetch the JSON form of the entries not handled before."""
    try:
        fetched = await crawl.get(crawl.source.url)
        listing, _ = await crawl.parse(fetched, "feed")
    except SourceError as error:
        return tally.outcome(None, error)
    tally.http_status, tally.bytes = fetched.status, len(fetched.body or b"")
    links = [item.url for item in listing.items if item.url]
    seen = plan.certfr_seen(cursor)
    wanted: dict[str, str] = {}  # JSON URL -> listed link
    handled_links: set[str] = set()
    for link in plan.certfr_due(links, seen, crawl.settings.max_documents):
        json_url = plan.certfr_json_url(link)
        if json_url is None:
            tally.warnings.append(f"{link}: not an http(s) link, skipped")
            handled_links.add(link)
        else:
            wanted[json_url] = link
    handled = await crawl.documents(list(wanted), "certfr-json", tally)
    handled_links.update(wanted[url] for url in handled)
    return tally.outcome(plan.certfr_cursor(links, seen, handled_links))


def _waits_long(error: SourceError, delay_s: float) -> bool:
    """A server asking us back later than our next quick retry gets its wish (as in collect)."""
    if error.retry_after is None:
        return False
    return (error.retry_after - datetime.now(UTC)).total_seconds() > delay_s
