"""Fetch and parse a batch of sources: network concurrency in asyncio, parsing in worker processes.

A failing source never stops the batch: its error becomes a `failed` outcome with the reason.
Transient fetch errors get a couple of quick retries within the run; terminal ones none.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from types import TracebackType
from typing import Any

from techwatch.crawl import CRAWL_KINDS
from techwatch.crawl.run import crawl_source
from techwatch.errors import ParseError, SourceError
from techwatch.fetch import FeedClient
from techwatch.parse.pool import ParsePool
from techwatch.types import Fetched, FetchSettings, Source, SourceOutcome, SourceState

OnDone = Callable[[SourceOutcome], None]


@dataclass(frozen=True, slots=True)
class _Downloaded:
    """A body fetched and waiting for a parse worker."""

    source: Source
    fetched: Fetched
    started_at: datetime
    fetch_s: float


#: Delays before in-run retries of a transient fetch error; longer waits belong to back-off.
RETRY_DELAYS_S: tuple[float, ...] = (1.0, 3.0)


def collect_batch(
    sources: Sequence[Source],
    states: Mapping[str, SourceState],
    settings: FetchSettings,
    pool: ParsePool,
    *,
    retry_delays: Sequence[float] = RETRY_DELAYS_S,
    on_done: OnDone | None = None,
) -> list[SourceOutcome]:
    """Fetch and parse every source of the batch; one outcome per source, in input order."""
    return asyncio.run(_collect(sources, states, settings, pool, retry_delays, on_done))


class Collector:
    """Collects batch after batch through one HTTP client, one concurrency gate and one event
    loop (in a thread of its own) for a whole run; use it as a context manager.

    A batch per `collect_batch` call would open a client (and ~50 new connections) per batch
    and let the connection slots and parse workers run dry at each batch's end; here the next
    batch, submitted while one runs, queues behind the same gate and fills its tail, and
    connections are kept alive from one batch to the next. Any thread may call `collect`.
    """

    def __init__(
        self,
        settings: FetchSettings,
        pool: ParsePool,
        *,
        retry_delays: Sequence[float] = RETRY_DELAYS_S,
    ) -> None:
        self._settings = settings
        self._pool = pool
        self._retry_delays = retry_delays
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name="collect", daemon=True)
        self._client: FeedClient | None = None
        self._gate: asyncio.Semaphore | None = None

    def __enter__(self) -> Collector:
        self._thread.start()
        try:
            self._call(self._open())
        except BaseException:
            self._stop()
            raise
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        try:
            self._call(self._close())
        finally:
            self._stop()

    def collect(
        self,
        sources: Sequence[Source],
        states: Mapping[str, SourceState],
        *,
        on_done: OnDone | None = None,
    ) -> list[SourceOutcome]:
        """`collect_batch` on the shared client: one outcome per source, in input order."""
        if self._client is None or self._gate is None:
            raise RuntimeError("Collector.collect called outside `with Collector(...)`")
        client, gate = self._client, self._gate
        return self._call(
            _collect_with(client, gate, sources, states, self._pool, self._retry_delays, on_done)
        )

    async def _open(self) -> None:
        self._gate = asyncio.Semaphore(max(1, self._settings.concurrency))
        self._client = await FeedClient(self._settings).__aenter__()

    async def _close(self) -> None:
        client, self._client = self._client, None
        tasks = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
        for pending in tasks:  # a caller that gave up (an error elsewhere in the run)
            pending.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        if client is not None:
            await client.__aexit__(None, None, None)

    def _call(self, coroutine: Any) -> Any:
        return asyncio.run_coroutine_threadsafe(coroutine, self._loop).result()

    def _stop(self) -> None:
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join()
        self._loop.close()


async def _collect(
    sources: Sequence[Source],
    states: Mapping[str, SourceState],
    settings: FetchSettings,
    pool: ParsePool,
    retry_delays: Sequence[float],
    on_done: OnDone | None,
) -> list[SourceOutcome]:
    gate = asyncio.Semaphore(max(1, settings.concurrency))
    async with FeedClient(settings) as client:
        return await _collect_with(client, gate, sources, states, pool, retry_delays, on_done)


async def _collect_with(
    client: FeedClient,
    gate: asyncio.Semaphore,
    sources: Sequence[Source],
    states: Mapping[str, SourceState],
    pool: ParsePool,
    retry_delays: Sequence[float],
    on_done: OnDone | None,
) -> list[SourceOutcome]:
    async def one(source: Source) -> SourceOutcome:
        if source.kind in CRAWL_KINDS:
            # Many requests, paced by their own limits: a crawl holds no batch slot.
            state = states.get(source.id)
            outcome = await crawl_source(client, pool, source, state, retry_delays=retry_delays)
        else:
            outcome = await fetch_and_parse(source)
        if on_done is not None:
            on_done(outcome)
        return outcome

    async def fetch_and_parse(source: Source) -> SourceOutcome:
        async with gate:
            fetched = await _fetch(client, source, states.get(source.id), retry_delays)
        return fetched if isinstance(fetched, SourceOutcome) else await _parse(pool, fetched)

    return list(await asyncio.gather(*(one(s) for s in sources)))


async def _fetch(
    client: FeedClient,
    source: Source,
    state: SourceState | None,
    retry_delays: Sequence[float],
) -> SourceOutcome | _Downloaded:
    """Return a final outcome (failed or not modified) or what the parser needs."""
    started_at = datetime.now(UTC)
    t0 = time.perf_counter()
    delays = list(retry_delays)
    while True:
        try:
            fetched = await client.fetch(source, state, started_at)
            break
        except SourceError as error:
            if not (error.transient and delays) or _waits_long(error, started_at, delays[0]):
                return _failed(source, error, started_at, time.perf_counter() - t0)
            await asyncio.sleep(delays.pop(0))
    fetch_s = time.perf_counter() - t0
    if fetched.not_modified:
        return SourceOutcome(
            source_id=source.id,
            status="not_modified",
            started_at=started_at,
            duration_s=fetch_s,
            http_status=fetched.status,
            url=source.url,
            etag=fetched.etag,
            last_modified=fetched.last_modified,
            fetch_s=fetch_s,
        )
    return _Downloaded(source, fetched, started_at, fetch_s)


async def _parse(pool: ParsePool, job: _Downloaded) -> SourceOutcome:
    source, fetched, started_at, fetch_s = job.source, job.fetched, job.started_at, job.fetch_s
    body = fetched.body or b""
    t0 = time.perf_counter()
    base = SourceOutcome(
        source_id=source.id,
        status="ok",
        started_at=started_at,
        duration_s=fetch_s,
        http_status=fetched.status,
        url=source.url,
        bytes=len(body),
        fetch_s=fetch_s,
    )
    try:
        parsed = await pool.parse(
            source.id,
            body,
            url=fetched.final_url,
            content_type=fetched.content_type,
            declared_language=source.language,
            fetched_at=fetched.fetched_at,
            kind=source.kind,
            selectors=source.html,
        )
    except ParseError as error:
        parse_s = time.perf_counter() - t0
        return replace(
            base,
            status="failed",
            error_kind=error.kind,
            error=str(error.args[0]),
            transient=False,
            duration_s=fetch_s + parse_s,
            parse_s=parse_s,
        )
    parse_s = time.perf_counter() - t0
    return replace(
        base,
        etag=fetched.etag,
        last_modified=fetched.last_modified,
        entries=parsed.entries_total,
        items=parsed.items,  # one per identity already: parse_feed dedupes within the feed
        epss=parsed.epss,
        warnings=parsed.warnings,
        duration_s=fetch_s + parse_s,
        parse_s=parse_s,
    )


def _waits_long(error: SourceError, now: datetime, delay_s: float) -> bool:
    """A server that asks us to come back later than our next quick retry gets its wish."""
    if error.retry_after is None:
        return False
    return (error.retry_after - now).total_seconds() > delay_s


def _failed(
    source: Source, error: SourceError, started_at: datetime, elapsed: float
) -> SourceOutcome:
    return SourceOutcome(
        source_id=source.id,
        status="failed",
        started_at=started_at,
        duration_s=elapsed,
        http_status=error.status,
        error_kind=error.kind,
        error=str(error.args[0]),
        transient=error.transient,
        retry_after=error.retry_after,
        url=source.url,
        fetch_s=elapsed,
    )
