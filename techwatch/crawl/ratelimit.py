"""A rolling-window request limit, as the NVD API states it (5 requests in any 30 s without a
key, 50 with one); exceeding it gets 403 answers, so the crawl waits instead."""

from __future__ import annotations

import asyncio
import time
from collections import deque
from collections.abc import Callable, Sequence

NVD_PUBLIC: tuple[int, float] = (5, 30.0)
NVD_WITH_KEY: tuple[int, float] = (50, 30.0)


def wait_before_next(sent: Sequence[float], now: float, limit: int, window_s: float) -> float:
    """Seconds to wait so that the next request keeps at most `limit` in any `window_s`.

    `sent` holds the send times of earlier requests, oldest first.
    """
    recent = [t for t in sent if t > now - window_s]
    if len(recent) < limit:
        return 0.0
    return recent[-limit] + window_s - now


class RollingLimiter:
    """`await limiter.acquire()` before each request; one limiter per rate-limited source."""

    def __init__(
        self, limit: int, window_s: float, *, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self._limit = max(1, limit)
        self._window_s = window_s
        self._clock = clock
        self._sent: deque[float] = deque(maxlen=self._limit)
        self._lock = asyncio.Lock()

    async def acquire(self) -> None:
        async with self._lock:
            delay = wait_before_next(self._sent, self._clock(), self._limit, self._window_s)
            if delay > 0:
                await asyncio.sleep(delay)
            self._sent.append(self._clock())
