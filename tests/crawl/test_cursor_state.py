"""A crawl's cursor in the source state: kept, moved (even by a failed run) or forgotten."""

from __future__ import annotations

import random
from dataclasses import replace
from datetime import datetime

import pytest

from techwatch.health import next_state
from techwatch.types import FetchSettings, OutcomeStatus, SourceOutcome, SourceState
from tests.crawl.helpers import make_source

SOURCE = make_source("nvd-api", "https://services.nvd.nist.gov/rest/json/cves/2.0")
BEFORE = SourceState(source_id=SOURCE.id, url=SOURCE.url, cursor='{"since": "old"}')


def _after(outcome_cursor: str | None, status: OutcomeStatus, now: datetime) -> SourceState:
    outcome = SourceOutcome(
        source_id=SOURCE.id, status=status, started_at=now, duration_s=1.0, cursor=outcome_cursor
    )
    return next_state(SOURCE, BEFORE, outcome, FetchSettings(), now, random.Random(1))


@pytest.mark.parametrize(
    ("outcome_cursor", "status", "expected"),
    [
        ('{"since": "new"}', "ok", '{"since": "new"}'),
        (None, "ok", '{"since": "old"}'),
        ('{"since": "new"}', "failed", '{"since": "new"}'),  # completed windows stay done
        (None, "failed", '{"since": "old"}'),
    ],
)
def test_the_cursor_moves_only_when_the_crawl_says_so(
    outcome_cursor: str | None, status: OutcomeStatus, expected: str, now: datetime
) -> None:
    assert _after(outcome_cursor, status, now).cursor == expected


def test_a_new_url_forgets_the_cursor(now: datetime) -> None:
    moved = replace(BEFORE, url="https://mirror.example/cves")
    outcome = SourceOutcome(source_id=SOURCE.id, status="failed", started_at=now, duration_s=1.0)
    state = next_state(SOURCE, moved, outcome, FetchSettings(), now, random.Random(1))
    assert state.cursor is None
