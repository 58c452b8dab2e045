"""certfr-feed over real HTTP: the RSS listing, then the `json/` form of each entry not handled
before, oldest first, capped; a broken entry is a warning naming its URL."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from techwatch.parse.pool import ParsePool
from techwatch.types import CrawlSettings, Source
from tests.crawl.helpers import crawl, make_source, state_after
from tests.fetch.server import Handler, LocalServer, Route

pytestmark = pytest.mark.timeout(60)

REFERENCES = [f"CERTFR-2025-AVI-000{n}" for n in range(1, 6)]


def _serve(body: bytes, content_type: str) -> Route:
    def route(h: Handler) -> None:
        h.reply(200, body, {"Content-Type": content_type})

    return route


def _rss(links: list[str]) -> bytes:
    items = "".join(
        f"<item><title>{link.rstrip('/').rsplit('/', 1)[1]}</title><link>{link}</link>"
        f"<guid>{link}</guid><pubDate>Mon, 06 Jan 2025 10:00:00 +0000</pubDate>"
        "<description>Avis</description></item>"
        for link in links
    )
    return (
        '<?xml version="1.0" encoding="UTF-8"?><rss version="2.0"><channel>'
        f"<title>CERT-FR avis</title><link>https://www.cert.ssi.gouv.fr/</link>{items}"
        "</channel></rss>"
    ).encode()


@dataclass
class CertFr:
    server: LocalServer

    def source(self, settings: CrawlSettings | None = None) -> Source:
        return make_source("certfr-feed", self.server.url("/avis/feed/"), settings)

    def list(self, references: list[str]) -> None:
        """Publish a listing, newest first like CERT-FR's."""
        links = [self.server.url(f"/avis/{ref}/") for ref in reversed(references)]
        self.server.routes["/avis/feed/"] = _serve(_rss(links), "application/rss+xml")

    def fetched(self) -> list[str]:
        return [r.path.split("/")[2] for r in self.server.requests if r.path.endswith("/json/")]


@pytest.fixture
def certfr(realdata: Path) -> Iterator[CertFr]:
    folder = realdata / "advisories" / "cert-fr-avis" / "2025"
    routes = {
        f"/avis/{ref}/json/": _serve((folder / f"{ref}.json").read_bytes(), "application/json")
        for ref in REFERENCES
    }
    with LocalServer(routes) as server:
        yield CertFr(server)


def test_new_entries_are_fetched_once_oldest_first_within_the_cap(
    pool: ParsePool, certfr: CertFr
) -> None:
    certfr.list(REFERENCES[:4])
    source = certfr.source(CrawlSettings(max_documents=3, concurrency=1))
    first = crawl(pool, source)
    assert first.status == "ok", first.error
    assert certfr.fetched() == REFERENCES[:3]  # oldest first; the fourth waits
    assert len(first.items) == 3 and first.warnings == ()
    assert all(item.language == "fr" for item in first.items)

    certfr.list(REFERENCES)  # a new avis was published meanwhile
    second = crawl(pool, source, state_after(source, first))
    assert certfr.fetched()[3:] == REFERENCES[3:5]
    assert len(second.items) == 2

    third = crawl(pool, source, state_after(source, second))
    assert len(certfr.fetched()) == 5 and third.items == ()


def test_a_broken_entry_is_a_warning_and_the_others_are_stored(
    pool: ParsePool, certfr: CertFr
) -> None:
    certfr.list(REFERENCES[:3])
    broken = certfr.server.url(f"/avis/{REFERENCES[1]}/json/")
    certfr.server.routes[f"/avis/{REFERENCES[1]}/json/"] = _serve(b"<html>", "text/html")
    outcome = crawl(pool, certfr.source())
    assert outcome.status == "ok"
    assert len(outcome.items) == 2
    [warning] = outcome.warnings
    assert warning.startswith(broken)


def test_an_unreachable_listing_fails_the_source(pool: ParsePool, certfr: CertFr) -> None:
    outcome = crawl(pool, certfr.source())  # no listing published: 404
    assert outcome.status == "failed"
    assert (outcome.error_kind, outcome.http_status) == ("http_4xx", 404)
    assert certfr.fetched() == []
