"""one_shot: how a command runs flows against Prefect's ephemeral API."""

from __future__ import annotations

from prefect.settings import get_current_settings, temporary_settings

from pipelines.local import EPHEMERAL_STARTUP_S, one_shot


def test_the_ephemeral_api_gets_time_to_start_and_no_heartbeats() -> None:
    before = get_current_settings().server.ephemeral.startup_timeout_seconds
    with temporary_settings(updates={"api.url": None}), one_shot():
        settings = get_current_settings()
        assert settings.server.ephemeral.startup_timeout_seconds == EPHEMERAL_STARTUP_S
        assert settings.flows.heartbeat_frequency is None
    assert get_current_settings().server.ephemeral.startup_timeout_seconds == before


def test_an_operators_longer_wait_is_kept() -> None:
    longer = {"api.url": None, "server.ephemeral.startup_timeout_seconds": 600}
    with temporary_settings(updates=longer), one_shot():
        assert get_current_settings().server.ephemeral.startup_timeout_seconds == 600


def test_a_configured_api_is_left_alone() -> None:
    before = get_current_settings().server.ephemeral.startup_timeout_seconds
    configured = {"api.url": "http://127.0.0.1:4200/api"}
    with temporary_settings(updates=configured), one_shot():
        assert get_current_settings().server.ephemeral.startup_timeout_seconds == before
