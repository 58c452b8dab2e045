"""csaf-rolie over real HTTPS: the feed, then only the CSAF documents updated since the last run,
oldest first, a capped number a run; a bad document is a warning naming it, never a failure."""

from __future__ import annotations

import json
import ssl
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import pytest

from techwatch.parse.pool import ParsePool
from techwatch.types import CrawlSettings, Source, SourceOutcome
from tests.crawl.helpers import crawl, make_source, state_after
from tests.fetch.server import Handler, LocalServer, Route

pytestmark = pytest.mark.timeout(60)

NOW = datetime(2024, 10, 25, 3, 0, tzinfo=UTC)
SETTINGS = CrawlSettings(initial_days=30, max_documents=3, concurrency=2)


@dataclass
class Publisher:
    """A CSAF provider on 127.0.0.1: a small ROLIE feed built from CISA's real one, pointing
    at real documents that the same server serves."""

    server: LocalServer
    names: list[str]  # document file names, in feed order

    def source(self, settings: CrawlSettings = SETTINGS) -> Source:
        return make_source("csaf-rolie", self.server.url("/feed.json"), settings)

    def url(self, name: str) -> str:
        return self.server.url(f"/csaf/{name}")

    def fetched(self) -> list[str]:
        return [r.path.rsplit("/", 1)[1] for r in self.server.requests if "/csaf/" in r.path]


def _serve(body: bytes) -> Route:
    def route(h: Handler) -> None:
        h.reply(200, body, {"Content-Type": "application/json"})

    return route


@pytest.fixture
def publisher(
    realdata: Path, trusted_tls: tuple[ssl.SSLContext, Path], monkeypatch: pytest.MonkeyPatch
) -> Iterator[Publisher]:
    context, cert_file = trusted_tls
    monkeypatch.setenv("SSL_CERT_FILE", str(cert_file))  # the client trusts this server only
    folder = realdata / "advisories" / "csaf-cisa"
    feed = json.loads((folder / "OT-cisa-csaf-ot-feed-tlp-white.json").read_bytes())
    have = {p.name for p in (folder / "OT-2024").iterdir()}
    entries = [e for e in feed["feed"]["entry"] if e["link"][0]["href"].rsplit("/", 1)[1] in have]
    entries = entries[:5]
    names = [e["link"][0]["href"].rsplit("/", 1)[1] for e in entries]
    routes = {f"/csaf/{n}": _serve((folder / "OT-2024" / n).read_bytes()) for n in names}
    with LocalServer(routes, tls=context) as server:
        for entry, name in zip(entries, names, strict=True):
            entry["link"] = [{"rel": "self", "href": server.url(f"/csaf/{name}")}]
            entry["content"] = {"src": server.url(f"/csaf/{name}"), "type": "application/json"}
        feed["feed"]["entry"] = entries
        server.routes["/feed.json"] = _serve(json.dumps(feed).encode())
        yield Publisher(server, names)


def _tracking_ids(outcome: SourceOutcome) -> list[str]:
    return sorted(item.identity for item in outcome.items)


def test_a_backlog_is_fetched_oldest_first_over_several_runs(
    pool: ParsePool, publisher: Publisher
) -> None:
    source = publisher.source()
    first = crawl(pool, source, now=NOW)
    assert first.status == "ok", first.error
    assert sorted(publisher.fetched()) == [
        "icsa-24-268-06.json",  # 2024-10-24, ordered by URL among equal dates
        "icsa-24-296-01.json",  # 2024-10-22: the oldest
        "icsa-24-298-01.json",
    ]
    assert len(first.items) == 3 and first.warnings == ()
    assert all(item.facts for item in first.items)

    second = crawl(pool, source, state_after(source, first), now=NOW)
    assert sorted(publisher.fetched()[3:]) == ["icsa-24-298-02.json", "icsa-24-298-03.json"]
    assert len(second.items) == 2

    third = crawl(pool, source, state_after(source, second), now=NOW)
    assert len(publisher.fetched()) == 5  # nothing new: only the feed was read
    assert third.status == "ok" and third.items == ()
    assert third.cursor == second.cursor


def test_a_first_run_ignores_documents_older_than_initial_days(
    pool: ParsePool, publisher: Publisher
) -> None:
    source = publisher.source(CrawlSettings(initial_days=2, max_documents=10))
    outcome = crawl(pool, source, now=NOW)
    assert "icsa-24-296-01.json" not in publisher.fetched()  # updated 2024-10-22
    assert len(outcome.items) == 4


def test_a_missing_document_is_a_warning_and_is_passed(
    pool: ParsePool, publisher: Publisher
) -> None:
    del publisher.server.routes["/csaf/icsa-24-268-06.json"]
    source = publisher.source()
    first = crawl(pool, source, now=NOW)
    assert first.status == "ok"
    assert len(first.items) == 2
    [warning] = first.warnings
    assert warning.startswith(publisher.url("icsa-24-268-06.json"))
    assert "404" in warning
    crawl(pool, source, state_after(source, first), now=NOW)
    assert publisher.fetched().count("icsa-24-268-06.json") == 1  # not asked again


def test_a_document_failing_transiently_comes_again_next_run(
    pool: ParsePool, publisher: Publisher
) -> None:
    route = publisher.server.routes["/csaf/icsa-24-268-06.json"]
    publisher.server.routes["/csaf/icsa-24-268-06.json"] = lambda h: h.reply(503, b"busy")
    source = publisher.source()
    first = crawl(pool, source, now=NOW)
    assert first.status == "ok" and len(first.items) == 2
    assert "http_5xx" in first.warnings[0]

    publisher.server.routes["/csaf/icsa-24-268-06.json"] = route
    second = crawl(pool, source, state_after(source, first), now=NOW)
    # The cursor stopped before the failed one: it and those after it are due again.
    assert sorted(publisher.fetched()[3:]) == [
        "icsa-24-268-06.json",
        "icsa-24-298-01.json",
        "icsa-24-298-02.json",
    ]
    assert any("ICSA-24-268-06" in item.identity.upper() for item in second.items)


def test_an_unreadable_feed_fails_the_source(pool: ParsePool, publisher: Publisher) -> None:
    publisher.server.routes["/feed.json"] = _serve(b'{"feed": {"title": "no entries"}}')
    outcome = crawl(pool, publisher.source(), now=NOW)
    assert outcome.status == "failed"
    assert outcome.error_kind == "malformed_advisory"
    assert outcome.cursor is None
    assert publisher.fetched() == []
