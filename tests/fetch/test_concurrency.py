"""One FeedClient serves `settings.concurrency` fetches at once, as the ingest run uses it."""

from __future__ import annotations

import asyncio
import threading
from dataclasses import replace
from datetime import datetime

import pytest

from techwatch.fetch import FeedClient
from techwatch.types import Fetched
from tests.fetch.helpers import LOCAL, make_source
from tests.fetch.server import Handler, LocalServer

pytestmark = pytest.mark.timeout(20)


def test_concurrent_fetches_are_really_in_flight_together(now: datetime) -> None:
    settings = replace(LOCAL, concurrency=12)
    # Every answer waits until all 12 requests have arrived: a smaller connection limit would
    # leave the barrier short and every answer a 500.
    barrier = threading.Barrier(settings.concurrency, timeout=5)

    def together(h: Handler) -> None:
        try:
            barrier.wait()
        except threading.BrokenBarrierError:
            h.reply(500)
            return
        h.reply(200, h.path.encode())

    async def run(server: LocalServer) -> list[Fetched]:
        async with FeedClient(settings) as client:
            return await asyncio.gather(
                *(
                    client.fetch(make_source(server.url(f"/feed?{i}")), None, now)
                    for i in range(settings.concurrency)
                )
            )

    with LocalServer({"/feed": together}) as server:
        results = asyncio.run(run(server))
    assert [r.body for r in results] == [f"/feed?{i}".encode() for i in range(12)]
