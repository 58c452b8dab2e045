"""Pure decisions of the crawl kinds: which requests a run makes, and where the next run starts.

Nothing here touches the network or the clock: the listing, the cursor and `now` come in, URLs
and the next cursor go out (`techwatch.crawl.run` performs the requests).

Cursors are small JSON texts kept in `source_state.cursor`:
- nvd-api: `{"since": ISO}`, the end of the last lastModified window fetched completely.
  A run fetches (since, now] in windows of at most 120 days (the API refuses longer ones); the
  cursor only moves past a window once all its pages arrived. Pages fetched before a failure
  are stored anyway: refetching them next run changes nothing (items are keyed by CVE).
- csaf-rolie: `{"updated": ISO, "url": URL}`, the last document handled, in (updated, url)
  order. Documents listed after it are due oldest first, at most `max_documents` a run, so a
  backlog drains over several runs without skipping any. A document that failed transiently
  stops the cursor (it and those after it come again); a terminal failure (404, unparseable)
  is reported and passed, or it would block the feed forever.
- certfr-feed: `{"seen": [links]}`, the listed entries already handled; entries gone from the
  listing are forgotten, so the cursor stays as small as the RSS feed.
"""

from __future__ import annotations

import json
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Final
from urllib.parse import urlencode, urlsplit

NVD_MAX_WINDOW: Final = timedelta(days=120)
# The API allows 2000 a page, but 2000 CVEs (~5 KiB each) pass the default 10 MiB body cap.
NVD_PAGE_SIZE: Final = 1000


def _load(cursor: str | None) -> dict[str, Any]:
    """A stored cursor as a mapping; an unreadable one counts as none (a first run again)."""
    if not cursor:
        return {}
    try:
        value = json.loads(cursor)
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}


def _timestamp(value: object) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        return None
    return parsed if parsed.tzinfo is not None else parsed.replace(tzinfo=UTC)


# --- NVD CVE API 2.0 -----------------------------------------------------------------------


def nvd_since(cursor: str | None, now: datetime, initial_days: int) -> datetime:
    """Where this run's lastModified range starts: the cursor, or `initial_days` back."""
    since = _timestamp(_load(cursor).get("since"))
    if since is None or since > now:
        return now - timedelta(days=initial_days)
    return since


def nvd_windows(since: datetime, now: datetime) -> list[tuple[datetime, datetime]]:
    """(since, now] cut into consecutive windows the API accepts (at most 120 days each)."""
    windows: list[tuple[datetime, datetime]] = []
    start = since
    while start < now:
        end = min(start + NVD_MAX_WINDOW, now)
        windows.append((start, end))
        start = end
    return windows


def _nvd_time(moment: datetime) -> str:
    """ISO 8601 with milliseconds and an explicit offset, as the API documents it."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.") + (
        f"{moment.astimezone(UTC).microsecond // 1000:03d}+00:00"
    )


def nvd_page_url(
    base: str, window: tuple[datetime, datetime], start_index: int, per_page: int = NVD_PAGE_SIZE
) -> str:
    """The URL of one page of a window; `+` of the offsets is percent-encoded by urlencode."""
    query = urlencode(
        {
            "lastModStartDate": _nvd_time(window[0]),
            "lastModEndDate": _nvd_time(window[1]),
            "startIndex": start_index,
            "resultsPerPage": per_page,
        }
    )
    return f"{base}{'&' if '?' in base else '?'}{query}"


def nvd_next_start(start: int, returned: int, total: int) -> int | None:
    """The startIndex of the next page, or None when the window is complete.

    A page that returns nothing ends the window too: the total moved under us, and asking
    again for the same index would loop.
    """
    following = start + returned
    if returned <= 0 or following >= total:
        return None
    return following


def nvd_cursor(since: datetime) -> str:
    return json.dumps({"since": since.astimezone(UTC).isoformat()})


# --- CSAF ROLIE feeds ----------------------------------------------------------------------


@dataclass(frozen=True, slots=True, order=True)
class Listed:
    """One document of a ROLIE feed, ordered by (updated, url): the crawl's position."""

    updated: datetime
    url: str


def rolie_position(cursor: str | None) -> Listed | None:
    """The last document handled, from the cursor."""
    data = _load(cursor)
    updated, url = _timestamp(data.get("updated")), data.get("url")
    if updated is None or not isinstance(url, str):
        return None
    return Listed(updated, url)


def rolie_start(cursor: str | None, now: datetime, initial_days: int) -> Listed:
    """Documents after this position are due: the cursor, or on a first run `initial_days`
    back (a feed of 2,000 old advisories is history, not news)."""
    return rolie_position(cursor) or Listed(now - timedelta(days=initial_days), "")


def rolie_due(
    listing: Sequence[tuple[str, datetime | None]], start: Listed, limit: int
) -> list[Listed]:
    """The documents updated after `start`, oldest first, at most `limit`.

    Undated entries are left out: ROLIE requires `updated`, and without it nothing says
    whether the document changed.
    """
    listed = sorted({Listed(updated, url) for url, updated in listing if updated is not None})
    return [entry for entry in listed if entry > start][: max(0, limit)]


def rolie_cursor(start: Listed, due: Sequence[Listed], handled: Collection[str]) -> str:
    """The position after this run: the last due document such that it and all before it were
    handled; `start` when the first one was not."""
    position = start
    for entry in due:
        if entry.url not in handled:
            break
        position = entry
    return json.dumps(
        {"updated": position.updated.astimezone(UTC).isoformat(), "url": position.url}
    )


# --- CERT-FR RSS listings ------------------------------------------------------------------


def certfr_json_url(link: str) -> str | None:
    """The JSON form of a CERT-FR avis or alerte: its page URL followed by `json/`."""
    parts = urlsplit(link)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        return None
    path = parts.path if parts.path.endswith("/") else parts.path + "/"
    return f"{parts.scheme}://{parts.netloc}{path}json/"


def certfr_seen(cursor: str | None) -> frozenset[str]:
    seen = _load(cursor).get("seen")
    return (
        frozenset(s for s in seen if isinstance(s, str)) if isinstance(seen, list) else frozenset()
    )


def certfr_due(links: Sequence[str], seen: Collection[str], limit: int) -> list[str]:
    """Listed links not handled yet, oldest first (RSS lists newest first), at most `limit`."""
    fresh = [link for link in dict.fromkeys(links) if link not in seen]
    return list(reversed(fresh))[: max(0, limit)]


def certfr_cursor(links: Sequence[str], seen: Collection[str], handled: Collection[str]) -> str:
    """The links of the listing handled now or before; the others come again next run."""
    kept = [link for link in dict.fromkeys(links) if link in seen or link in handled]
    return json.dumps({"seen": kept})
