"""Per-source health: when to fetch a source next, and when to call it degraded.

Pure decisions (no clock, no I/O, randomness injected) so that back-off is tested with a fixed
`now` and a seeded `random.Random`.

Policy (RELIABILITY 11-14):
- Success or 304 resets the failure count and schedules the next poll one `poll_interval_s` later.
- The n-th consecutive failure waits `poll_interval_s + jitter(backoff(n))`, where
  `backoff(n) = min(backoff_max_s, backoff_base_s * 2 ** (n - 1))` and jitter is "equal jitter"
  (a uniform draw in [backoff / 2, backoff]). A failing source is thus never polled more often
  than a healthy one; until the cap each failure waits longer than the one before for any seed
  (the ranges of successive failures only touch), then the wait stays within
  [backoff_max_s / 2, backoff_max_s] on top of the poll interval; and sources that failed
  together do not all come back at the same moment.
- A server's Retry-After is honoured: the next attempt is never before it (capped by
  `retry_after_max_s`).
- From `degraded_after` consecutive failures on, the source is degraded. It keeps a next attempt
  like any other source: degraded sources are reported and probed, never disabled silently.
- Validators and health belong to a URL: when the source URL changes, the ETag, Last-Modified,
  crawl cursor and failure count of the old URL are forgotten, and the new URL is due at once.
"""

from __future__ import annotations

import random
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime

from techwatch.types import FetchSettings, Source, SourceOutcome, SourceState

#: A run may start a little before a source's next attempt (the previous run took a few seconds
#: to get to it): without this grace a daily source polled by a nightly run would skip a night.
MAX_GRACE = timedelta(minutes=10)


def is_due(source: Source, state: SourceState | None, now: datetime) -> bool:
    """Whether `source` should be fetched in a run at `now` (within a small grace)."""
    if not source.enabled:
        return False
    if state is None or state.next_attempt is None:
        return True
    if state.url is not None and state.url != source.url:
        return True  # the operator changed the URL: the old schedule says nothing about the new one
    grace = min(MAX_GRACE, timedelta(seconds=source.poll_interval_s / 10))
    return state.next_attempt <= now + grace


def next_state(
    source: Source,
    previous: SourceState | None,
    outcome: SourceOutcome,
    settings: FetchSettings,
    now: datetime,
    rng: random.Random,
    items_seen_delta: int = 0,
) -> SourceState:
    """The state of `source` after `outcome`; a skipped source keeps its state unchanged."""
    state = _for_url(source, previous)
    if outcome.status == "skipped":
        return state
    state = replace(
        state,
        last_attempt=now,
        last_status=outcome.status,
        items_seen=state.items_seen + items_seen_delta,
        # A crawl moves its cursor even when it then fails: what it completed stays done.
        cursor=outcome.cursor if outcome.cursor is not None else state.cursor,
    )
    if outcome.status == "failed":
        return _after_failure(source, state, outcome, settings, now, rng)
    return _after_success(source, state, outcome, now)


def backoff_delay(
    source: Source, failures: int, settings: FetchSettings, rng: random.Random
) -> timedelta:
    """How long to wait after the `failures`-th consecutive failure (see the module docstring)."""
    exponent = min(max(failures, 1) - 1, 64)  # bounded so huge counts cannot overflow
    backoff = min(settings.backoff_max_s, settings.backoff_base_s * 2.0**exponent)
    jittered = rng.uniform(backoff / 2, backoff)
    return timedelta(seconds=source.poll_interval_s + jittered)


def parse_retry_after(value: str | None, now: datetime, cap_s: float) -> datetime | None:
    """When a Retry-After header (delta seconds or HTTP-date) allows a retry, within [now, now+cap].

    None when the header is absent or unreadable: a broken header must not stall a source.
    """
    if value is None or not value.strip():
        return None
    text = value.strip()
    cap = timedelta(seconds=cap_s)
    if text.isdigit():
        # Length first: int() refuses very long digit strings, and any of them is past the cap.
        seconds = cap_s if len(text) > 12 else min(int(text), cap_s)
        return now + timedelta(seconds=seconds)
    try:
        when = parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError, OverflowError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)  # HTTP dates are GMT by definition
    return min(max(when, now), now + cap)


def _for_url(source: Source, previous: SourceState | None) -> SourceState:
    """The previous state, or a fresh one if there is none or it belongs to another URL."""
    if previous is None:
        return SourceState(source_id=source.id, url=source.url)
    if previous.url is not None and previous.url != source.url:
        return replace(
            previous,
            url=source.url,
            etag=None,
            last_modified=None,
            consecutive_failures=0,
            degraded=False,
            next_attempt=None,
            cursor=None,
        )
    return replace(previous, url=source.url)


def _after_success(
    source: Source, state: SourceState, outcome: SourceOutcome, now: datetime
) -> SourceState:
    not_modified = outcome.status == "not_modified"
    # A 304 often omits validators: the ones we sent are still the right ones. A 200 replaces them,
    # even with None, because the new representation is the one they must describe.
    etag = outcome.etag if outcome.etag is not None or not not_modified else state.etag
    last_modified = (
        outcome.last_modified
        if outcome.last_modified is not None or not not_modified
        else state.last_modified
    )
    return replace(
        state,
        etag=etag,
        last_modified=last_modified,
        last_success=now,
        last_error_kind=None,
        last_error=None,
        consecutive_failures=0,
        degraded=False,
        next_attempt=now + timedelta(seconds=source.poll_interval_s),
    )


def _after_failure(
    source: Source,
    state: SourceState,
    outcome: SourceOutcome,
    settings: FetchSettings,
    now: datetime,
    rng: random.Random,
) -> SourceState:
    failures = state.consecutive_failures + 1
    next_attempt = now + backoff_delay(source, failures, settings, rng)
    if outcome.retry_after is not None:
        honoured = min(outcome.retry_after, now + timedelta(seconds=settings.retry_after_max_s))
        next_attempt = max(next_attempt, honoured)
    return replace(
        state,
        last_error_kind=outcome.error_kind,
        last_error=outcome.error,
        consecutive_failures=failures,
        degraded=failures >= settings.degraded_after,
        next_attempt=next_attempt,
    )
