"""Fetching one source against a local server, synchronously, for tests that read as specs."""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass
from datetime import datetime

import pytest

from techwatch.errors import SourceError
from techwatch.fetch import AddressPolicy, FeedClient
from techwatch.types import Fetched, FetchSettings, Source, SourceState

MiB = 2**20

# Local servers live on 127.0.0.1, so private networks are allowed except where refusal is tested.
LOCAL = FetchSettings(
    allow_private_networks=True,
    connect_timeout_s=2.0,
    read_timeout_s=5.0,
    total_timeout_s=5.0,
    max_bytes=1 * MiB,
)


def make_source(url: str) -> Source:
    return Source(id="src", name="Test source", kind="feed", url=url, category="advisory")


def fetch(
    url: str,
    now: datetime,
    *,
    settings: FetchSettings = LOCAL,
    state: SourceState | None = None,
    policy: AddressPolicy | None = None,
) -> Fetched:
    async def run() -> Fetched:
        async with FeedClient(settings, policy=policy) as client:
            return await client.fetch(make_source(url), state, now)

    return asyncio.run(run())


def fetch_many(urls: list[str], now: datetime, *, settings: FetchSettings = LOCAL) -> list[Fetched]:
    """Fetch several URLs one after the other with one client, as a run does."""

    async def run() -> list[Fetched]:
        async with FeedClient(settings) as client:
            return [await client.fetch(make_source(url), None, now) for url in urls]

    return asyncio.run(run())


@dataclass(frozen=True)
class Failure:
    """The error a fetch raised and how long it took to raise it."""

    error: SourceError
    elapsed_s: float


def fetch_failure(
    url: str,
    now: datetime,
    *,
    settings: FetchSettings = LOCAL,
    state: SourceState | None = None,
    policy: AddressPolicy | None = None,
) -> Failure:
    """Fetch expecting a SourceError; return it with the time it took."""
    started = time.monotonic()
    with pytest.raises(SourceError) as info:
        fetch(url, now, settings=settings, state=state, policy=policy)
    return Failure(info.value, time.monotonic() - started)
