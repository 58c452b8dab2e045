"""Running flows once from a command, in this process, against Prefect's ephemeral API."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Final

from prefect.settings import get_current_settings, temporary_settings

#: Seconds to wait for the ephemeral API server to answer (Prefect's default: 20). Its start
#: took 25 s on a slow 2-core machine (bench/ingest_bench.py), where `techwatch demo` on a fresh
#: checkout then failed before fetching anything: a slow start is no reason to lose a night.
EPHEMERAL_STARTUP_S: Final = 120


@contextmanager
def one_shot() -> Iterator[None]:
    """Flow runs started inside send no heartbeats when no Prefect API is configured, and wait
    up to EPHEMERAL_STARTUP_S for the ephemeral API to start.

    Heartbeats let a Prefect server mark a run whose process vanished as crashed; the ephemeral
    API lives and dies with this process, so no one reads them. They are not free: Prefect's
    heartbeat thread sleeps in one-second steps and every flow run waits for it to wake at its
    end (0.93 s of a 2.1 s nightly run where nothing changed). With a configured API (a
    server, `techwatch serve`'s deployments) nothing changes.
    """
    settings = get_current_settings()
    if settings.api.url:
        yield
        return
    startup_s = max(settings.server.ephemeral.startup_timeout_seconds, EPHEMERAL_STARTUP_S)
    updates = {
        "flows.heartbeat_frequency": None,
        "server.ephemeral.startup_timeout_seconds": startup_s,
    }
    with temporary_settings(updates=updates):
        yield
