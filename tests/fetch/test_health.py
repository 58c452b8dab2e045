"""RELIABILITY 11-14 as pure decisions: schedule, back-off with jitter, degraded, Retry-After."""

from __future__ import annotations

import random
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from techwatch.health import backoff_delay, is_due, next_state, parse_retry_after
from techwatch.types import FetchSettings, OutcomeStatus, Source, SourceOutcome, SourceState

SETTINGS = FetchSettings(
    backoff_base_s=15 * 60, backoff_max_s=24 * 3600, degraded_after=5, retry_after_max_s=6 * 3600
)
POLL = timedelta(hours=6)
SOURCE = Source(
    id="cert-fr",
    name="CERT-FR",
    kind="feed",
    url="https://cert.example/feed",
    category="advisory",
    poll_interval_s=int(POLL.total_seconds()),
)


def outcome(status: OutcomeStatus, now: datetime, **fields: object) -> SourceOutcome:
    return SourceOutcome(
        source_id=SOURCE.id,
        status=status,
        started_at=now,
        duration_s=0.1,
        **fields,  # type: ignore[arg-type]
    )


def failed(now: datetime, **fields: object) -> SourceOutcome:
    return outcome("failed", now, error_kind="http_5xx", error="HTTP 503", transient=True, **fields)


def fail_times(n: int, now: datetime, rng: random.Random) -> list[SourceState]:
    """States after n consecutive failures, each run at the moment the previous one allowed."""
    states, state, at = [], None, now
    for _ in range(n):
        state = next_state(SOURCE, state, failed(at), SETTINGS, at, rng)
        states.append(state)
        assert state.next_attempt is not None
        at = state.next_attempt
    return states


@pytest.mark.parametrize(
    ("source", "state", "offset", "due"),
    [
        (SOURCE, None, None, True),
        (replace(SOURCE, enabled=False), None, None, False),
        (SOURCE, SourceState(SOURCE.id, url=SOURCE.url), None, True),
        (SOURCE, SourceState(SOURCE.id, url=SOURCE.url), timedelta(minutes=30), False),
        (SOURCE, SourceState(SOURCE.id, url=SOURCE.url), timedelta(0), True),
        (SOURCE, SourceState(SOURCE.id, url=SOURCE.url), -timedelta(minutes=1), True),
        (SOURCE, SourceState(SOURCE.id, url="https://old.example/"), timedelta(days=1), True),
        (
            replace(SOURCE, enabled=False),
            SourceState(SOURCE.id, url=SOURCE.url),
            -timedelta(days=1),
            False,
        ),
    ],
    ids=[
        "never-fetched",
        "disabled",
        "no-next-attempt",
        "not-yet",
        "exactly-now",
        "overdue",
        "url-changed",
        "disabled-overdue",
    ],
)
def test_is_due(
    now: datetime,
    source: Source,
    state: SourceState | None,
    offset: timedelta | None,
    due: bool,
) -> None:
    if state is not None and offset is not None:
        state = replace(state, next_attempt=now + offset)
    assert is_due(source, state, now) is due


def test_success_schedules_the_next_poll_and_stores_validators(now: datetime) -> None:
    state = next_state(
        SOURCE,
        None,
        outcome("ok", now, etag='"a"', last_modified="x"),
        SETTINGS,
        now,
        random.Random(1),
        items_seen_delta=7,
    )
    assert state == SourceState(
        source_id=SOURCE.id,
        url=SOURCE.url,
        etag='"a"',
        last_modified="x",
        last_attempt=now,
        last_success=now,
        last_status="ok",
        consecutive_failures=0,
        next_attempt=now + POLL,
        degraded=False,
        items_seen=7,
    )


@pytest.mark.parametrize(
    ("status", "new_etag", "expected_etag"),
    [
        ("not_modified", None, '"old"'),  # a 304 without validators keeps the ones we sent
        ("not_modified", '"new"', '"new"'),
        ("ok", '"new"', '"new"'),
        ("ok", None, None),  # a 200 without validators: the old ones describe nothing any more
    ],
)
def test_validators_after_success(
    now: datetime, status: OutcomeStatus, new_etag: str | None, expected_etag: str | None
) -> None:
    previous = SourceState(SOURCE.id, url=SOURCE.url, etag='"old"', last_modified="old-date")
    state = next_state(
        SOURCE, previous, outcome(status, now, etag=new_etag), SETTINGS, now, random.Random(1)
    )
    assert state.etag == expected_etag
    assert state.last_modified == ("old-date" if status == "not_modified" else None)


def test_a_304_resets_the_failure_count(now: datetime) -> None:
    failing = fail_times(3, now, random.Random(3))[-1]
    state = next_state(
        SOURCE, failing, outcome("not_modified", now), SETTINGS, now, random.Random(3)
    )
    assert state.consecutive_failures == 0
    assert state.last_status == "not_modified"
    assert state.last_error is None
    assert state.next_attempt == now + POLL


@pytest.mark.parametrize("seed", [0, 1, 2, 42, 2026])
def test_repeated_failures_back_off_further_with_jitter_until_the_cap(seed: int) -> None:
    rng = random.Random(seed)
    delays = [backoff_delay(SOURCE, n, SETTINGS, rng) for n in range(1, 13)]
    for n, delay in enumerate(delays, start=1):
        backoff = min(SETTINGS.backoff_max_s, SETTINGS.backoff_base_s * 2 ** (n - 1))
        extra = (delay - POLL).total_seconds()
        assert backoff / 2 <= extra <= backoff  # equal jitter on the capped exponential step
    # 15 min * 2**6 = 16 h is the last step under the 24 h cap: until there, every failure
    # waits longer than the one before, whatever the seed.
    assert delays[:7] == sorted(delays[:7])
    assert all(delay > POLL + timedelta(hours=12) for delay in delays[7:])


def test_jitter_spreads_sources_that_failed_together(now: datetime) -> None:
    rng = random.Random(7)
    attempts = {backoff_delay(SOURCE, 4, SETTINGS, rng) for _ in range(20)}
    assert len(attempts) == 20


def test_back_off_is_recorded_in_state_and_reset_by_success(now: datetime) -> None:
    states = fail_times(6, now, random.Random(5))
    assert [s.consecutive_failures for s in states] == [1, 2, 3, 4, 5, 6]
    gaps = [s.next_attempt - s.last_attempt for s in states]  # type: ignore[operator]
    assert gaps == sorted(gaps)
    assert all(gap > POLL for gap in gaps)  # never polled more often than a healthy source
    assert states[-1].last_error_kind == "http_5xx"

    at = states[-1].next_attempt
    assert at is not None
    recovered = next_state(SOURCE, states[-1], outcome("ok", at), SETTINGS, at, random.Random(5))
    assert recovered.consecutive_failures == 0
    assert not recovered.degraded
    assert recovered.next_attempt == at + POLL
    assert recovered.last_error_kind is None


def test_a_source_is_degraded_after_the_threshold_but_still_probed(now: datetime) -> None:
    states = fail_times(7, now, random.Random(11))
    assert [s.degraded for s in states] == [False, False, False, False, True, True, True]
    last = states[-1]
    assert last.next_attempt is not None
    assert not is_due(SOURCE, last, last.next_attempt - timedelta(hours=1))
    assert is_due(SOURCE, last, last.next_attempt)  # degraded, never disabled


@pytest.mark.parametrize(
    ("retry_after", "expected"),
    [
        (timedelta(days=2), timedelta(hours=6)),  # beyond retry_after_max_s: capped
        (timedelta(hours=3), timedelta(hours=3)),  # later than the back-off: honoured
        (timedelta(minutes=1), None),  # sooner than the back-off: the back-off wins
    ],
)
def test_retry_after_is_honoured_and_capped(
    now: datetime, retry_after: timedelta, expected: timedelta | None
) -> None:
    hourly = replace(SOURCE, poll_interval_s=3600)
    settings = replace(SETTINGS, retry_after_max_s=6 * 3600)
    outcome = failed(now, retry_after=now + retry_after)
    state = next_state(hourly, None, outcome, settings, now, random.Random(9))
    if expected is None:
        expected = backoff_delay(hourly, 1, settings, random.Random(9))  # the same draw
    assert state.next_attempt == now + expected


def test_retry_after_later_than_the_back_off_sets_the_next_attempt(now: datetime) -> None:
    settings = replace(SETTINGS, retry_after_max_s=48 * 3600)
    later = now + timedelta(hours=20)
    state = next_state(
        SOURCE, None, failed(now, retry_after=later), settings, now, random.Random(9)
    )
    assert state.next_attempt == later


def test_a_changed_url_forgets_validators_and_failures(now: datetime) -> None:
    degraded = fail_times(6, now, random.Random(2))[-1]
    old = replace(degraded, url="https://old.example/feed", etag='"o"', last_modified="d")
    state = next_state(SOURCE, old, failed(now), SETTINGS, now, random.Random(2))
    assert state.url == SOURCE.url
    assert state.etag is None and state.last_modified is None
    assert state.consecutive_failures == 1
    assert not state.degraded


def test_a_skipped_source_keeps_its_state(now: datetime) -> None:
    previous = fail_times(2, now, random.Random(4))[-1]
    state = next_state(SOURCE, previous, outcome("skipped", now), SETTINGS, now, random.Random(4))
    assert state == previous


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (None, None),
        ("", None),
        ("soon", None),
        ("-5", None),
        ("120", timedelta(seconds=120)),
        (" 0 ", timedelta(0)),
        ("Sat, 28 Nov 2026 03:05:00 GMT", timedelta(minutes=5)),
        ("Saturday, 28-Nov-26 03:05:00 GMT", timedelta(minutes=5)),  # obsolete RFC 850 form
        ("Fri, 27 Nov 2026 03:00:00 GMT", timedelta(0)),  # in the past: now
        ("Mon, 28 Dec 2026 03:00:00 GMT", timedelta(hours=1)),  # far: capped
        ("99999999999999999999999", timedelta(hours=1)),
        ("9" * 5000, timedelta(hours=1)),
    ],
)
def test_parse_retry_after(now: datetime, value: str | None, expected: timedelta | None) -> None:
    assert now == datetime(2026, 11, 28, 3, 0, tzinfo=UTC)
    parsed = parse_retry_after(value, now, cap_s=3600)
    assert parsed == (now + expected if expected is not None else None)


def test_a_daily_source_is_due_for_the_next_nightly_run_started_a_little_earlier(
    now: datetime,
) -> None:
    daily = replace(SOURCE, poll_interval_s=24 * 3600)
    # Last night's run reached this source 40 s after it started.
    fetched_at = now - timedelta(days=1) + timedelta(seconds=40)
    state = SourceState(daily.id, url=daily.url, next_attempt=fetched_at + timedelta(days=1))
    assert is_due(daily, state, now)
    assert not is_due(daily, state, now - timedelta(hours=1))
