"""nvd-api over real HTTP: windows, paging by totalResults, the API key, the rate limit and a
cursor that only passes a window fetched completely."""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest

from techwatch.crawl.ratelimit import RollingLimiter
from techwatch.parse.pool import ParsePool
from techwatch.types import CrawlSettings, SourceState
from tests.crawl.helpers import crawl, make_source, state_after
from tests.fetch.server import Handler, LocalServer

pytestmark = pytest.mark.timeout(60)

NOW = datetime(2026, 11, 28, 3, 0, tzinfo=UTC)
PAGE = 4  # the server's page size, whatever the client asks: paging must follow the answer


class FakeNvd:
    """Serves the real 9-CVE sample as pages of PAGE, and remembers what was asked."""

    def __init__(self, sample: dict[str, object], fail_from: int | None = None) -> None:
        self.sample = sample
        self.fail_from = fail_from  # startIndex from which the server answers 503
        self.queries: list[dict[str, str]] = []
        self.keys: list[str | None] = []
        self.times: list[float] = []

    def __call__(self, h: Handler) -> None:
        query = {k: v[0] for k, v in parse_qs(urlsplit(h.path).query).items()}
        self.queries.append(query)
        self.keys.append(h.headers.get("apiKey"))
        self.times.append(time.monotonic())
        start = int(query["startIndex"])
        if self.fail_from is not None and start >= self.fail_from:
            h.reply(503, b"busy")
            return
        vulns = list(self.sample["vulnerabilities"])  # type: ignore[call-overload]
        page = {
            **self.sample,
            "startIndex": start,
            "resultsPerPage": len(vulns[start : start + PAGE]),
            "totalResults": len(vulns),
            "vulnerabilities": vulns[start : start + PAGE],
        }
        h.reply(200, json.dumps(page).encode(), {"Content-Type": "application/json"})


@pytest.fixture
def sample(realdata: Path) -> dict[str, object]:
    path = realdata / "advisories" / "api-samples" / "nvd-api2_2h-window.json"
    return json.loads(path.read_bytes())


def test_a_first_run_pages_through_the_last_days_and_sets_the_cursor(
    pool: ParsePool, sample: dict[str, object]
) -> None:
    nvd = FakeNvd(sample)
    with LocalServer({"/cves": nvd}) as server:
        source = make_source("nvd-api", server.url("/cves"), CrawlSettings(initial_days=3))
        outcome = crawl(pool, source, now=NOW)
    assert outcome.status == "ok", outcome.error
    assert [q["startIndex"] for q in nvd.queries] == ["0", "4", "8"]
    assert {q["lastModStartDate"] for q in nvd.queries} == {"2026-11-25T03:00:00.000+00:00"}
    assert {q["lastModEndDate"] for q in nvd.queries} == {"2026-11-28T03:00:00.000+00:00"}
    assert len(outcome.items) == outcome.entries == 9
    assert all(item.identity.startswith("cve:CVE-") and item.facts for item in outcome.items)
    assert json.loads(outcome.cursor or "") == {"since": NOW.isoformat()}
    assert nvd.keys == [None, None, None]


def test_the_next_run_starts_at_the_cursor(pool: ParsePool, sample: dict[str, object]) -> None:
    nvd = FakeNvd(sample)
    with LocalServer({"/cves": nvd}) as server:
        source = make_source("nvd-api", server.url("/cves"))
        first = crawl(pool, source, now=NOW)
        later = NOW + timedelta(hours=6)
        crawl(pool, source, state_after(source, first), now=later)
    second_run = nvd.queries[3:]
    assert {q["lastModStartDate"] for q in second_run} == {"2026-11-28T03:00:00.000+00:00"}
    assert {q["lastModEndDate"] for q in second_run} == {"2026-11-28T09:00:00.000+00:00"}


def test_a_long_absence_is_fetched_in_windows_of_120_days(
    pool: ParsePool, sample: dict[str, object]
) -> None:
    nvd = FakeNvd(sample)
    with LocalServer({"/cves": nvd}) as server:
        source = make_source("nvd-api", server.url("/cves"), CrawlSettings(initial_days=200))
        outcome = crawl(pool, source, now=NOW)
    windows = sorted({(q["lastModStartDate"], q["lastModEndDate"]) for q in nvd.queries})
    assert windows == [
        ("2026-05-12T03:00:00.000+00:00", "2026-09-09T03:00:00.000+00:00"),
        ("2026-09-09T03:00:00.000+00:00", "2026-11-28T03:00:00.000+00:00"),
    ]
    assert len(nvd.queries) == 6  # three pages per window
    assert outcome.status == "ok"


def test_a_failure_mid_paging_keeps_the_pages_but_not_the_cursor(
    pool: ParsePool, sample: dict[str, object]
) -> None:
    nvd = FakeNvd(sample, fail_from=PAGE)
    with LocalServer({"/cves": nvd}) as server:
        source = make_source("nvd-api", server.url("/cves"))
        previous = SourceState(
            source_id=source.id, url=source.url, cursor='{"since": "2026-11-27T00:00:00+00:00"}'
        )
        outcome = crawl(pool, source, previous, now=NOW, retry_delays=(0.05,))
    assert outcome.status == "failed"
    assert (outcome.error_kind, outcome.transient, outcome.http_status) == ("http_5xx", True, 503)
    assert len(outcome.items) == PAGE  # the first page is stored; refetching it is harmless
    assert outcome.cursor is None  # None keeps the previous cursor: the window comes again
    assert [q["startIndex"] for q in nvd.queries] == ["0", "4", "4"]  # one in-run retry


def test_the_api_key_comes_from_the_environment_as_a_header(
    pool: ParsePool, sample: dict[str, object], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TECHWATCH_NVD_API_KEY", "k-123")
    nvd = FakeNvd(sample)
    with LocalServer({"/cves": nvd}) as server:
        outcome = crawl(pool, make_source("nvd-api", server.url("/cves")), now=NOW)
    assert nvd.keys == ["k-123"] * 3
    assert "k-123" not in repr(outcome)


def test_requests_keep_to_the_rolling_limit(pool: ParsePool, sample: dict[str, object]) -> None:
    nvd = FakeNvd(sample)
    with LocalServer({"/cves": nvd}) as server:
        source = make_source("nvd-api", server.url("/cves"))
        crawl(pool, source, now=NOW, limiter=RollingLimiter(2, 0.6))
    first, _, third = nvd.times
    # The third waited for the first to leave the window; the server sees arrivals, and the
    # first one also paid for the connection, hence a little slack.
    assert third - first >= 0.5


def test_the_api_key_is_not_sent_to_another_host_after_a_redirect(
    pool: ParsePool, sample: dict[str, object], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TECHWATCH_NVD_API_KEY", "k-123")
    mirror = FakeNvd(sample)
    with LocalServer({"/cves": mirror}) as elsewhere:

        def moved(h: Handler) -> None:
            query = h.path.split("?", 1)[1]
            h.reply(302, b"", {"Location": elsewhere.url(f"/cves?{query}")})

        with LocalServer({"/cves": moved}) as server:
            outcome = crawl(pool, make_source("nvd-api", server.url("/cves")), now=NOW)
        sent = [r.headers.get("apikey") for r in server.requests]
    assert outcome.status == "ok"
    assert sent == ["k-123"] * 3  # the API's own host gets the key
    assert mirror.keys == [None] * 3  # another port is another origin: no key
