"""Briefing periods, in the advisor's time zone (Europe/Zurich): a briefing covers whole local
days, so "week 48" means the same seven days to the advisor, the client and the database.

Labels: `2026-11-28` (a day), `2026-W48` (an ISO week, Monday to Sunday), `2026-11` (a month),
`2026-11-21..2026-11-28` (any other span, end exclusive).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Literal
from zoneinfo import ZoneInfo

from techwatch.clients.profile import Cadence, Client
from techwatch.errors import ConfigError

ZONE = ZoneInfo("Europe/Zurich")
PeriodKind = Literal["day", "week", "month", "span"]

_WEEK = re.compile(r"^(\d{4})-W(\d{2})$")
_MONTH = re.compile(r"^(\d{4})-(\d{2})$")
_DAY = re.compile(r"^(\d{4})-(\d{2})-(\d{2})$")
_SPAN = re.compile(r"^(\d{4}-\d{2}-\d{2})\.\.(\d{4}-\d{2}-\d{2})$")


class PeriodError(ConfigError):
    """A period the user typed that does not exist (usage error, exit 2)."""


@dataclass(frozen=True, slots=True)
class Period:
    """[start, end) as aware UTC datetimes, with the local calendar days they cover."""

    kind: PeriodKind
    first_day: date  # local, inclusive
    last_day: date  # local, inclusive
    label: str

    @property
    def start(self) -> datetime:
        return _local_midnight(self.first_day)

    @property
    def end(self) -> datetime:
        return _local_midnight(self.last_day + timedelta(days=1))

    @property
    def week(self) -> int:
        """ISO week number of the last day: what subjects say ("semaine 48")."""
        return self.last_day.isocalendar().week


def day(d: date) -> Period:
    return Period("day", d, d, d.isoformat())


def week(year: int, number: int) -> Period:
    monday = date.fromisocalendar(year, number, 1)
    return Period("week", monday, monday + timedelta(days=6), f"{year}-W{number:02d}")


def month(year: int, number: int) -> Period:
    first = date(year, number, 1)
    following = date(year + number // 12, number % 12 + 1, 1)
    return Period("month", first, following - timedelta(days=1), f"{year}-{number:02d}")


def span(first_day: date, last_day: date) -> Period:
    label = f"{first_day.isoformat()}..{(last_day + timedelta(days=1)).isoformat()}"
    return Period("span", first_day, last_day, label)


def parse_period(text: str) -> Period:
    """`2026-W48`, `2026-11`, `2026-11-28` or `2026-11-16..2026-11-30` (end exclusive) ->
    Period; anything else is a usage error."""
    text = text.strip()
    try:
        if m := _SPAN.match(text):
            first, end = date.fromisoformat(m.group(1)), date.fromisoformat(m.group(2))
            if end <= first:
                raise ValueError("the end must come after the start")
            return span(first, end - timedelta(days=1))
        if m := _WEEK.match(text):
            return week(int(m.group(1)), int(m.group(2)))
        if m := _MONTH.match(text):
            return month(int(m.group(1)), int(m.group(2)))
        if m := _DAY.match(text):
            return day(date(int(m.group(1)), int(m.group(2)), int(m.group(3))))
    except ValueError as error:
        raise PeriodError(f"period {text!r}: {error}") from None
    raise PeriodError(
        f"period {text!r}: expected 2026-W48, 2026-11, 2026-11-28 or 2026-11-16..2026-11-30"
    )


def last_days(days: int, now: datetime) -> Period:
    """The `days` whole local days up to and including today (`--since 7d`)."""
    if days < 1:
        raise PeriodError(f"--since must cover at least one day, got {days}")
    today = local_date(now)
    return span(today - timedelta(days=days - 1), today)


def is_due(cadence: Cadence, today: date) -> bool:
    """Whether a client on this cadence gets a briefing on `today` (a local date)."""
    if cadence.kind == "daily":
        return True
    if cadence.kind == "weekly":
        return today.weekday() == cadence.weekday
    return today.day == cadence.day


def period_due(cadence: Cadence, today: date) -> Period:
    """The period a briefing sent on `today` covers: the one that just ended.

    Daily: yesterday. Weekly: the seven days before today (an ISO week when sent on Mondays).
    Monthly: from the same day last month (a calendar month when sent on the 1st).
    """
    yesterday = today - timedelta(days=1)
    if cadence.kind == "daily":
        return day(yesterday)
    if cadence.kind == "weekly":
        first = today - timedelta(days=7)
        if first.weekday() == 0:
            year, number, _ = first.isocalendar()
            return week(year, number)
        return span(first, yesterday)
    previous = date(today.year - (today.month == 1), (today.month - 2) % 12 + 1, today.day)
    if today.day == 1:
        return month(previous.year, previous.month)
    return span(previous, yesterday)


def local_date(moment: datetime) -> date:
    """The advisor's calendar date at `moment` (which must be aware)."""
    return moment.astimezone(ZONE).date()


def _local_midnight(d: date) -> datetime:
    return datetime.combine(d, time(0), tzinfo=ZONE).astimezone(UTC)


def due(clients: Sequence[Client], today: date) -> list[tuple[Client, Period]]:
    """The clients whose cadence falls on `today`, each with the period its briefing covers."""
    return [(c, period_due(c.cadence, today)) for c in clients if is_due(c.cadence, today)]
