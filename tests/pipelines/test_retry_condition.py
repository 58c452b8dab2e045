"""RELIABILITY 37 at the task level: transient errors are retried, terminal ones are not."""

from __future__ import annotations

import pytest

from pipelines.ingest import retry_if_transient
from techwatch.errors import (
    ConfigError,
    DatabaseBusyError,
    FetchTerminalError,
    ParseError,
    StorageError,
    TechwatchError,
)


class FailedState:
    """What Prefect hands the retry condition: a state whose result is the exception."""

    def __init__(self, error: BaseException) -> None:
        self.error = error

    def result(self, raise_on_failure: bool = True) -> BaseException:
        assert raise_on_failure is False
        return self.error


@pytest.mark.parametrize(
    ("error", "retried"),
    [
        (DatabaseBusyError("database busy"), True),
        (StorageError("schema is newer"), False),
        (ParseError("not a feed", kind="not_a_feed"), False),
        (FetchTerminalError("HTTP 404", kind="http_4xx"), False),
        (ConfigError("bad key"), False),
        (TechwatchError("other"), False),
        (RuntimeError("a bug"), False),
    ],
)
def test_only_transient_errors_are_retried(error: BaseException, retried: bool) -> None:
    assert retry_if_transient(None, None, FailedState(error)) is retried
