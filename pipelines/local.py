"""Running flows once from a command, in this process, against Prefect's ephemeral API.

Prefect runs its ephemeral API in a child process, but the process that launches it imports
Prefect's whole server first (FastAPI, SQLAlchemy, the API's models: +77 MiB, kept for the whole
run: a quarter of the ingestion bench's peak before its first stage). `one_shot` launches the
same server with the same command and environment, without that import, and points the flows
of this process at it.
"""

from __future__ import annotations

import atexit
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Final

import httpx
import prefect
from prefect.settings import get_current_settings, temporary_settings

#: Seconds to wait for the ephemeral API server to answer (Prefect's default: 20). Its start
#: took 25 s on a slow 2-core machine (bench/ingest_bench.py), where `techwatch demo` on a fresh
#: checkout then failed before fetching anything: a slow start is no reason to lose a night.
EPHEMERAL_STARTUP_S: Final = 120

#: What Prefect's own launcher (prefect.server.api.server.SubprocessASGIServer) sets for its
#: ephemeral server: no UI, and only the services an ephemeral server runs.
_SERVER_ENV: Final = {
    "PREFECT_UI_ENABLED": "0",
    "PREFECT__SERVER_EPHEMERAL": "1",
    "PREFECT__SERVER_FINAL": "1",
}

#: What this launcher sets for its server unless the environment sets it: the recorder that
#: turns the client's task-run events into task runs writes them in batches (Prefect's
#: default: one transaction per event, ~50 ms of the server's CPU per task run, 1.1-1.5 s for
#: a flow of 20 tasks, measured here; in batches of 100, 0.5 s). On this 2-core machine the
#: server's CPU is taken from the ingestion run itself. Every task run is still recorded:
#: a batch is written when full, every flush interval (5 s), and when the server stops.
_SERVER_DEFAULTS: Final = {
    "PREFECT_SERVER_SERVICES_TASK_RUN_RECORDER_READ_BATCH_SIZE": "100",
    "PREFECT_SERVER_SERVICES_TASK_RUN_RECORDER_BATCH_SIZE": "100",
}

_PREFECT_SERVER_MODULE: Final = "prefect.server.api.server"
#: uvicorn's exit code when it cannot start, e.g. its port was taken meanwhile.
_UVICORN_STARTUP_FAILURE: Final = 3

_server: subprocess.Popen[bytes] | None = None
_api_url: str | None = None


@contextmanager
def one_shot() -> Iterator[None]:
    """Flow runs started inside use an ephemeral API started for this process (once, stopped
    at exit), waiting up to EPHEMERAL_STARTUP_S for it, and send no heartbeats, when no Prefect
    API is configured.

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
    updates: dict[str, object] = {
        "flows.heartbeat_frequency": None,
        "server.ephemeral.startup_timeout_seconds": startup_s,
    }
    if _PREFECT_SERVER_MODULE not in sys.modules:
        # Once a flow ran outside `one_shot`, the server's import is paid and Prefect's own
        # ephemeral server runs: starting a second one would save nothing.
        updates["api.url"] = ephemeral_api(startup_s)
    with temporary_settings(updates=updates):
        yield


def ephemeral_api(startup_s: float) -> str:
    """The URL of Prefect's ephemeral API server for this process, started on the first call.

    The port is one the system had free a moment before: when another process binds it first,
    uvicorn exits with its start-up failure code and the server starts again on another port,
    as Prefect's own launcher does."""
    global _server, _api_url
    if _server is not None and _server.poll() is None and _api_url is not None:
        return _api_url
    deadline = time.monotonic() + startup_s
    while True:
        port = _free_port()
        _server = _launch(port)
        atexit.register(_stop, _server)
        _import_for_the_first_run()
        _api_url = f"http://127.0.0.1:{port}/api"
        if _wait_until_healthy(_server, _api_url, deadline, startup_s):
            return _api_url


def _import_for_the_first_run() -> None:
    """Import, while the server starts, what a process's first flow run would: Prefect encodes
    a flow run's parameters for the API with FastAPI's `jsonable_encoder`, imported on first
    use (Flow.serialize_parameters), ~0.2 s of CPU that the ingestion's first run paid."""
    import fastapi.encoders  # noqa: F401


def server_environment() -> dict[str, str]:
    """The server's environment: this process's, with _SERVER_DEFAULTS where it sets none of
    them, _SERVER_ENV, and the Prefect settings set in this process (a profile's too)."""
    return {
        **_SERVER_DEFAULTS,
        **os.environ,
        **_SERVER_ENV,
        **get_current_settings().to_environment_variables(exclude_unset=True),
    }


def api_server_pid() -> int | None:
    """The process id of the API server this process started, if it runs (benchmarks read
    its CPU, which is not the flow's own)."""
    if _server is None or _server.poll() is not None:
        return None
    return _server.pid


def _launch(port: int) -> subprocess.Popen[bytes]:
    environment = server_environment()
    command = [
        sys.executable,
        "-m",
        "uvicorn",
        "--app-dir",
        str(Path(prefect.__file__).parent.parent),
        "--factory",
        "prefect.server.api.server:create_app",
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--log-level",
        "error",
        "--lifespan",
        "on",
    ]
    return subprocess.Popen(command, env=environment)


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def _wait_until_healthy(
    server: subprocess.Popen[bytes], api_url: str, deadline: float, startup_s: float
) -> bool:
    """True once the server answers; False when it could not bind its port (start again)."""
    with httpx.Client() as client:
        while time.monotonic() < deadline:
            code = server.poll()
            if code == _UVICORN_STARTUP_FAILURE:
                return False
            if code is not None:
                raise RuntimeError(f"Prefect's ephemeral API exited with code {code}")
            try:
                if client.get(f"{api_url}/health").status_code == 200:
                    return True
            except httpx.TransportError:
                pass
            time.sleep(0.1)
    _stop(server)
    raise RuntimeError(f"Prefect's ephemeral API did not answer within {startup_s:.0f} s")


def _stop(server: subprocess.Popen[bytes]) -> None:
    server.terminate()
    try:
        server.wait(timeout=5)
    except subprocess.TimeoutExpired:
        server.kill()
        server.wait()
