"""The pure decisions of the crawl kinds: windows, pages, due documents and cursors."""

from __future__ import annotations

import itertools
import json
from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qs, urlsplit

import pytest

from techwatch.crawl import plan
from techwatch.crawl.ratelimit import wait_before_next

NOW = datetime(2026, 11, 28, 3, 0, tzinfo=UTC)
T = [datetime(2026, 11, day, tzinfo=UTC) for day in range(1, 8)]


# --- NVD ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("cursor", "expected"),
    [
        (None, NOW - timedelta(days=7)),
        ('{"since": "2026-11-20T00:00:00+00:00"}', datetime(2026, 11, 20, tzinfo=UTC)),
        ('{"since": "2026-11-20T00:00:00"}', datetime(2026, 11, 20, tzinfo=UTC)),
        ("not json", NOW - timedelta(days=7)),
        ('["since"]', NOW - timedelta(days=7)),
        ('{"since": "yesterday"}', NOW - timedelta(days=7)),
        ('{"since": "2027-01-01T00:00:00+00:00"}', NOW - timedelta(days=7)),  # in the future
    ],
)
def test_nvd_starts_at_the_cursor_or_initial_days_back(
    cursor: str | None, expected: datetime
) -> None:
    assert plan.nvd_since(cursor, NOW, 7) == expected


def test_nvd_splits_a_long_range_into_windows_of_at_most_120_days() -> None:
    since = NOW - timedelta(days=300)
    windows = plan.nvd_windows(since, NOW)
    assert [end - start for start, end in windows] == [
        timedelta(days=120),
        timedelta(days=120),
        timedelta(days=60),
    ]
    assert windows[0][0] == since and windows[-1][1] == NOW
    assert all(a[1] == b[0] for a, b in itertools.pairwise(windows))


def test_nvd_has_no_window_when_the_cursor_is_now() -> None:
    assert plan.nvd_windows(NOW, NOW) == []


def test_nvd_page_url_carries_the_window_with_an_encoded_offset() -> None:
    window = (datetime(2026, 11, 21, 3, 0, 0, 250000, tzinfo=UTC), NOW)
    url = plan.nvd_page_url("https://services.nvd.nist.gov/rest/json/cves/2.0", window, 2000)
    assert "lastModStartDate=2026-11-21T03%3A00%3A00.250%2B00%3A00" in url
    query = parse_qs(urlsplit(url).query)
    assert query == {
        "lastModStartDate": ["2026-11-21T03:00:00.250+00:00"],
        "lastModEndDate": ["2026-11-28T03:00:00.000+00:00"],
        "startIndex": ["2000"],
        "resultsPerPage": [str(plan.NVD_PAGE_SIZE)],
    }


def test_nvd_page_url_keeps_a_query_of_the_configured_url() -> None:
    url = plan.nvd_page_url("https://x.test/cves?noRejected", (T[0], T[1]), 0)
    assert url.startswith("https://x.test/cves?noRejected&lastModStartDate=")


@pytest.mark.parametrize(
    ("start", "returned", "total", "expected"),
    [
        (0, 1000, 2500, 1000),
        (1000, 1000, 2500, 2000),
        (2000, 500, 2500, None),
        (0, 9, 9, None),
        (0, 0, 0, None),
        (0, 0, 2500, None),  # an empty page ends the window instead of asking again
    ],
)
def test_nvd_follows_total_results(
    start: int, returned: int, total: int, expected: int | None
) -> None:
    assert plan.nvd_next_start(start, returned, total) == expected


# --- ROLIE -------------------------------------------------------------------------------

LISTING = [
    ("https://p.test/c.json", T[3]),
    ("https://p.test/a.json", T[1]),
    ("https://p.test/b.json", T[1]),
    ("https://p.test/undated.json", None),
    ("https://p.test/d.json", T[5]),
]


def test_rolie_takes_documents_after_the_position_oldest_first_and_capped() -> None:
    start = plan.Listed(T[0], "")
    due = plan.rolie_due(LISTING, start, 3)
    assert [d.url for d in due] == [
        "https://p.test/a.json",
        "https://p.test/b.json",
        "https://p.test/c.json",
    ]
    after_a = plan.rolie_due(LISTING, plan.Listed(T[1], "https://p.test/a.json"), 10)
    assert [d.url for d in after_a] == [
        "https://p.test/b.json",
        "https://p.test/c.json",
        "https://p.test/d.json",
    ]


def test_rolie_first_run_reaches_initial_days_back() -> None:
    start = plan.rolie_start(None, T[6], 2)
    assert [d.url for d in plan.rolie_due(LISTING, start, 10)] == ["https://p.test/d.json"]


def test_an_updated_document_is_due_again() -> None:
    start = plan.Listed(T[5], "https://p.test/d.json")
    relisted = [*LISTING[:-1], ("https://p.test/a.json", T[6])]
    assert [d.url for d in plan.rolie_due(relisted, start, 10)] == ["https://p.test/a.json"]


def test_rolie_cursor_stops_before_the_first_document_not_handled() -> None:
    start = plan.Listed(T[0], "")
    due = plan.rolie_due(LISTING, start, 10)
    handled = {"https://p.test/a.json", "https://p.test/c.json"}  # b failed transiently
    cursor = plan.rolie_cursor(start, due, handled)
    assert plan.rolie_position(cursor) == plan.Listed(T[1], "https://p.test/a.json")
    nothing = plan.rolie_cursor(start, due, set())
    assert plan.rolie_position(nothing) == start
    everything = plan.rolie_cursor(start, due, {d.url for d in due})
    assert plan.rolie_position(everything) == plan.Listed(T[5], "https://p.test/d.json")


# --- CERT-FR -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("link", "expected"),
    [
        (
            "https://www.cert.ssi.gouv.fr/avis/CERTFR-2025-AVI-0001/",
            "https://www.cert.ssi.gouv.fr/avis/CERTFR-2025-AVI-0001/json/",
        ),
        (
            "https://www.cert.ssi.gouv.fr/alerte/CERTFR-2026-ALE-001",
            "https://www.cert.ssi.gouv.fr/alerte/CERTFR-2026-ALE-001/json/",
        ),
        (
            "https://www.cert.ssi.gouv.fr/avis/X/?utm=1#top",
            "https://www.cert.ssi.gouv.fr/avis/X/json/",
        ),
        ("javascript:alert(1)", None),
        ("/avis/X/", None),
    ],
)
def test_certfr_json_url(link: str, expected: str | None) -> None:
    assert plan.certfr_json_url(link) == expected


def test_certfr_fetches_unseen_entries_oldest_first_and_forgets_unlisted_ones() -> None:
    listing = ["https://c.test/4/", "https://c.test/3/", "https://c.test/2/", "https://c.test/1/"]
    seen = plan.certfr_seen(json.dumps({"seen": ["https://c.test/1/", "https://c.test/0/"]}))
    due = plan.certfr_due(listing, seen, 2)
    assert due == ["https://c.test/2/", "https://c.test/3/"]
    cursor = plan.certfr_cursor(listing, seen, {"https://c.test/2/"})
    assert json.loads(cursor) == {"seen": ["https://c.test/2/", "https://c.test/1/"]}
    assert plan.certfr_seen("garbage") == frozenset()


# --- rate limit --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("sent", "now", "expected"),
    [
        ([], 100.0, 0.0),
        ([90.0, 91.0, 92.0, 93.0], 100.0, 0.0),  # 4 of 5 used
        ([90.0, 91.0, 92.0, 93.0, 94.0], 100.0, 20.0),  # the oldest leaves the window at 120
        ([60.0, 91.0, 92.0, 93.0, 94.0], 100.0, 0.0),  # 60 is out of the window already
        ([71.0, 72.0, 73.0, 74.0, 75.0, 95.0], 100.0, 2.0),
    ],
)
def test_no_more_than_five_requests_in_any_30_seconds(
    sent: list[float], now: float, expected: float
) -> None:
    assert wait_before_next(sent, now, 5, 30.0) == pytest.approx(expected)
