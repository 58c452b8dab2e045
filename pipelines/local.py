"""Running flows once from a command, in this process, against Prefect's ephemeral API."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from prefect.settings import get_current_settings, temporary_settings


@contextmanager
def one_shot() -> Iterator[None]:
    """Flow runs started inside send no heartbeats when no Prefect API is configured.

    Heartbeats let a Prefect server mark a run whose process vanished as crashed; the ephemeral
    API lives and dies with this process, so no one reads them. They are not free: Prefect's
    heartbeat thread sleeps in one-second steps and every flow run waits for it to wake at its
    end (0.93 s of a 2.1 s nightly run where nothing changed). With a configured API (a
    server, `techwatch serve`'s deployments) nothing changes.
    """
    if get_current_settings().api.url:
        yield
        return
    with temporary_settings(updates={"flows.heartbeat_frequency": None}):
        yield
