"""one_shot: how a command runs flows against Prefect's ephemeral API."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
from contextlib import closing
from pathlib import Path
from types import ModuleType

import pytest
from prefect.settings import get_current_settings, temporary_settings

from pipelines.local import EPHEMERAL_STARTUP_S, one_shot, server_environment

ROOT = Path(__file__).resolve().parents[2]


FAKE_API = "http://127.0.0.1:9/api"
PREFECT_SERVER_MODULE = "prefect.server.api.server"


@pytest.fixture
def launches(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    """The startup waits asked of a stand-in for the API launcher (it starts nothing), in a
    process that, like a command's, has not imported Prefect's server."""
    asked: list[float] = []

    def launch(startup_s: float) -> str:
        asked.append(startup_s)
        return FAKE_API

    monkeypatch.setattr("pipelines.local.ephemeral_api", launch)
    monkeypatch.delitem(sys.modules, PREFECT_SERVER_MODULE, raising=False)
    return asked


def test_the_ephemeral_api_gets_time_to_start_and_no_heartbeats(launches: list[float]) -> None:
    before = get_current_settings().server.ephemeral.startup_timeout_seconds
    with temporary_settings(updates={"api.url": None}), one_shot():
        settings = get_current_settings()
        assert settings.api.url == FAKE_API
        assert settings.server.ephemeral.startup_timeout_seconds == EPHEMERAL_STARTUP_S
        assert settings.flows.heartbeat_frequency is None
    assert launches == [EPHEMERAL_STARTUP_S]
    assert get_current_settings().server.ephemeral.startup_timeout_seconds == before


def test_an_operators_longer_wait_is_kept(launches: list[float]) -> None:
    longer = {"api.url": None, "server.ephemeral.startup_timeout_seconds": 600}
    with temporary_settings(updates=longer), one_shot():
        assert get_current_settings().server.ephemeral.startup_timeout_seconds == 600
    assert launches == [600]


def test_a_configured_api_is_left_alone(launches: list[float]) -> None:
    before = get_current_settings().server.ephemeral.startup_timeout_seconds
    configured = {"api.url": "http://127.0.0.1:4200/api"}
    with temporary_settings(updates=configured), one_shot():
        settings = get_current_settings()
        assert settings.api.url == "http://127.0.0.1:4200/api"
        assert settings.server.ephemeral.startup_timeout_seconds == before
    assert launches == []


def test_prefects_own_ephemeral_api_is_kept_once_its_server_was_imported(
    launches: list[float], monkeypatch: pytest.MonkeyPatch
) -> None:
    # A flow ran outside one_shot: Prefect imported its server and started its own API.
    monkeypatch.setitem(sys.modules, PREFECT_SERVER_MODULE, ModuleType(PREFECT_SERVER_MODULE))
    with temporary_settings(updates={"api.url": None}), one_shot():
        settings = get_current_settings()
        assert settings.api.url is None
        assert settings.flows.heartbeat_frequency is None
    assert launches == []


# A command's flows, in a fresh process with no API configured: the ephemeral API answers them
# from a child process, and this process never imports Prefect's server (+77 MiB).
_COMMAND = """
import sys
from prefect import flow, task
from pipelines.local import one_shot

@task
def double(x: int) -> int:
    return 2 * x

@flow
def night() -> int:
    return double(1) + double.submit(2).result()

with one_shot():
    first = night()
with one_shot():
    second = night()
print(first, second, "prefect.server.api.server" in sys.modules)
"""


@pytest.mark.slow
@pytest.mark.timeout(300)  # the API server's start took 35-75 s on a loaded 2-core machine
def test_a_commands_flows_run_without_importing_prefects_server(tmp_path: Path) -> None:
    assert _run_fresh(_COMMAND, tmp_path) == ["6", "6", "False"]
    # Every task run and its three states (pending, running, completed) were recorded, in the
    # batches the launcher asks for, the last one when the server stopped with the process.
    with closing(sqlite3.connect(tmp_path / "prefect" / "prefect.db")) as db:
        assert db.execute("SELECT count(*) FROM task_run").fetchone() == (4,)
        assert db.execute("SELECT count(*) FROM task_run_state").fetchone() == (12,)


RECORDER_BATCH = "PREFECT_SERVER_SERVICES_TASK_RUN_RECORDER_BATCH_SIZE"


def test_the_server_records_task_runs_in_batches_unless_told_otherwise(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv(RECORDER_BATCH, raising=False)
    assert server_environment()[RECORDER_BATCH] == "100"
    monkeypatch.setenv(RECORDER_BATCH, "7")  # an operator's setting wins
    assert server_environment()[RECORDER_BATCH] == "7"


# Another process binds the port first: uvicorn cannot start on it and exits; the launcher
# starts the server again on another port instead of failing the command.
_PORT_TAKEN = """
import socket
import pipelines.local as local

taken = socket.socket()
taken.bind(("127.0.0.1", 0))
taken.listen()
busy = taken.getsockname()[1]
ports = iter([busy])
real_free_port = local._free_port
local._free_port = lambda: next(ports, None) or real_free_port()
url = local.ephemeral_api(240)
print(busy, url.split(":")[2].split("/")[0], local._server.poll())
"""


@pytest.mark.slow
@pytest.mark.timeout(300)
def test_the_api_starts_on_another_port_when_its_port_was_taken(tmp_path: Path) -> None:
    busy, port, exited = _run_fresh(_PORT_TAKEN, tmp_path)
    assert port != busy
    assert exited == "None", "the server answering on the new port is running"


def _run_fresh(script: str, tmp_path: Path) -> list[str]:
    """The words `script` prints, run by a fresh Python process with no Prefect API
    configured (as a command starts) and a Prefect home of its own."""
    environment = {k: v for k, v in os.environ.items() if not k.startswith("PREFECT_")}
    environment |= {"PREFECT_HOME": str(tmp_path / "prefect"), "PREFECT_LOGGING_LEVEL": "ERROR"}
    done = subprocess.run(
        [sys.executable, "-c", script],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env=environment,
        timeout=280,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout.split()
