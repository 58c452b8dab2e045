from datetime import UTC, date, datetime

import pytest

from techwatch.briefing.period import (
    PeriodError,
    is_due,
    last_days,
    parse_period,
    period_due,
)
from techwatch.clients.profile import Cadence


@pytest.mark.parametrize(
    ("text", "kind", "first", "last"),
    [
        ("2026-W48", "week", date(2026, 11, 23), date(2026, 11, 29)),
        ("2026-W01", "week", date(2025, 12, 29), date(2026, 1, 4)),
        ("2026-11", "month", date(2026, 11, 1), date(2026, 11, 30)),
        ("2024-02", "month", date(2024, 2, 1), date(2024, 2, 29)),
        ("2026-12", "month", date(2026, 12, 1), date(2026, 12, 31)),
        ("2026-11-28", "day", date(2026, 11, 28), date(2026, 11, 28)),
        ("2026-11-16..2026-11-30", "span", date(2026, 11, 16), date(2026, 11, 29)),
    ],
)
def test_parse_period(text, kind, first, last):
    period = parse_period(text)
    assert (period.kind, period.first_day, period.last_day, period.label) == (
        kind,
        first,
        last,
        text,
    )


@pytest.mark.parametrize(
    "text",
    ["2026-W54", "2026-13", "2026-02-30", "last week", "", "W48", "2026-11-30..2026-11-30"],
)
def test_impossible_periods_are_usage_errors(text):
    with pytest.raises(PeriodError, match="period"):
        parse_period(text)


def test_bounds_are_local_midnights_in_zurich():
    winter = parse_period("2026-11-28")
    assert winter.start == datetime(2026, 11, 27, 23, tzinfo=UTC)
    assert winter.end == datetime(2026, 11, 28, 23, tzinfo=UTC)
    summer = parse_period("2026-07-01")
    assert summer.start == datetime(2026, 6, 30, 22, tzinfo=UTC)


def test_week_across_the_daylight_saving_change_is_seven_local_days():
    period = parse_period("2026-W13")  # 23-29 March 2026; clocks go forward on the 29th
    assert (period.end - period.start).total_seconds() == 7 * 24 * 3600 - 3600


def test_last_days_ends_today_in_zurich():
    now = datetime(2026, 11, 28, 23, 30, tzinfo=UTC)  # already the 29th in Zurich
    period = last_days(7, now)
    assert (period.first_day, period.last_day) == (date(2026, 11, 23), date(2026, 11, 29))
    with pytest.raises(PeriodError):
        last_days(0, now)


@pytest.mark.parametrize(
    ("cadence", "today", "due"),
    [
        (Cadence("daily"), date(2026, 11, 28), True),
        (Cadence("weekly", weekday=0), date(2026, 11, 30), True),
        (Cadence("weekly", weekday=0), date(2026, 11, 28), False),
        (Cadence("weekly", weekday=5), date(2026, 11, 28), True),
        (Cadence("monthly", day=1), date(2026, 12, 1), True),
        (Cadence("monthly", day=1), date(2026, 12, 2), False),
    ],
)
def test_is_due(cadence, today, due):
    assert is_due(cadence, today) is due


@pytest.mark.parametrize(
    ("cadence", "today", "label"),
    [
        (Cadence("daily"), date(2026, 11, 28), "2026-11-27"),
        (Cadence("weekly", weekday=0), date(2026, 11, 30), "2026-W48"),
        (Cadence("weekly", weekday=0), date(2026, 1, 5), "2026-W01"),
        (Cadence("weekly", weekday=3), date(2026, 11, 26), "2026-11-19..2026-11-26"),
        (Cadence("monthly", day=1), date(2026, 1, 1), "2025-12"),
        (Cadence("monthly", day=15), date(2026, 3, 15), "2026-02-15..2026-03-15"),
    ],
)
def test_period_due_is_the_period_that_just_ended(cadence, today, label):
    period = period_due(cadence, today)
    assert period.label == label
    assert period.last_day < today
