"""Kind html: a page without a feed, read with CSS selectors (RELIABILITY 20-24)."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from techwatch.errors import ParseError
from techwatch.parse.html_page import (
    MAX_ENTRIES,
    MAX_PAGE_BYTES,
    parse_html_page,
    parse_page_date,
)
from techwatch.parse.pool import ParsePool
from techwatch.parse.registry import parse_document
from techwatch.types import HtmlSelectors, ParsedFeed

NOW = datetime(2026, 11, 28, 3, 0, tzinfo=UTC)
PAGE_URL = "https://www.example.ch/fr/actualites/"
NEWS = HtmlSelectors(
    entry="div.news article", title="h3", date="time", summary=".teaser", link="a.more"
)


def parse(body: str | bytes, selectors: HtmlSelectors = NEWS, **kwargs: object) -> ParsedFeed:
    data = body.encode() if isinstance(body, str) else body
    options: dict[str, object] = {"url": PAGE_URL, "fetched_at": NOW, **kwargs}
    return parse_html_page("page", data, selectors=selectors, **options)  # type: ignore[arg-type]


def page(*articles: str, lang: str = "fr", head: str = "") -> str:
    inner = "\n".join(f"<article>{a}</article>" for a in articles)
    return (
        f'<!DOCTYPE html><html lang="{lang}"><head><title>Actualités</title>{head}</head>'
        f'<body><nav><a href="/">Accueil</a></nav><div class="news">{inner}</div></body></html>'
    )


def article(title: str, href: str | None, date: str = "", teaser: str = "") -> str:
    more = f'<a class="more" href="{href}">Lire</a>' if href is not None else ""
    when = f"<time>{date}</time>" if date else ""
    return f'<h3>{title}</h3>{when}<div class="teaser">{teaser}</div>{more}'


# --- real pages -------------------------------------------------------------------------------


def test_cert_fr_home_page_lists_its_alerts_and_advisories(realdata: Path) -> None:
    body = (realdata / "html" / "cert-fr_homepage_captured-2022.html").read_bytes()
    selectors = HtmlSelectors(
        entry="div.items-list div.item", title=".item-title", date=".item-date"
    )
    feed = parse(body, selectors, url="https://www.cert.ssi.gouv.fr/")
    assert feed.entries_total == len(feed.items) == 25
    first = feed.items[0]
    assert first.title == "Vulnérabilité dans les produits Fortinet"
    assert first.url == "https://www.cert.ssi.gouv.fr/alerte/CERTFR-2022-ALE-011/"
    assert first.identity == first.url  # the link is the identity (RELIABILITY 20)
    assert first.published == datetime(2022, 10, 14, tzinfo=UTC)  # "14 octobre 2022"
    assert feed.language == "fr" and {i.language for i in feed.items} == {"fr"}
    assert all(i.published is not None for i in feed.items)
    assert feed.warnings == ()


def test_sqlite_release_history_reads_entries_that_are_their_own_title(realdata: Path) -> None:
    body = (realdata / "html" / "vendor_sqlite-release-history.html").read_bytes()
    selectors = HtmlSelectors(entry="h3", title="h3", date="h3")
    feed = parse(body, selectors, url="https://www.sqlite.org/changes.html")
    assert [i.title for i in feed.items] == [
        "2021-01-20 (3.34.1)",
        "2020-12-01 (3.34.0)",
        "2000-05-30",
        "2000-05-29",
    ]
    assert [i.published for i in feed.items][:2] == [
        datetime(2021, 1, 20, tzinfo=UTC),
        datetime(2020, 12, 1, tzinfo=UTC),
    ]
    assert all(i.url is None and i.identity.startswith("sha256:") for i in feed.items)
    again = parse(body, selectors, url="https://www.sqlite.org/changes.html")
    assert [i.identity for i in again.items] == [i.identity for i in feed.items]


def test_daring_fireball_articles_with_english_dates_and_summaries(realdata: Path) -> None:
    body = (realdata / "html" / "blog-en_daringfireball_home.html").read_bytes()
    selectors = HtmlSelectors(entry="div.article", title="h1", date=".dateline", summary="p")
    feed = parse(body, selectors, url="https://daringfireball.net/")
    assert len(feed.items) == 3
    first = feed.items[0]
    assert first.title == "On the San Bernardino Suspect’s Apple ID Password Reset"
    assert first.url == "http://daringfireball.net/2016/02/san_bernardino_password_reset"
    assert first.published == datetime(2016, 2, 21, tzinfo=UTC)  # "Sunday, 21 February 2016"
    assert first.text.startswith("The latest news in the Apple-FBI legal fight")
    assert first.language == "en"


# --- fields -----------------------------------------------------------------------------------


def test_relative_links_resolve_against_base_href_and_only_http_links_are_kept() -> None:
    body = page(
        article("Relative", "avis/2026-01.html", "2026-11-20"),
        article("Mail", "mailto:info@example.ch", "2026-11-21"),
        article("Protocol-relative", "//cdn.example.org/a", "2026-11-22"),
        head='<base href="https://www.example.ch/de/">',
    )
    urls = [i.url for i in parse(body).items]
    assert urls == [
        "https://www.example.ch/de/avis/2026-01.html",
        None,
        "https://cdn.example.org/a",
    ]


def test_without_a_link_selector_the_title_link_is_used() -> None:
    body = page('<h3><a href="/a/1">Un</a></h3>', '<h3>Deux</h3><a href="/a/2">ailleurs</a>')
    feed = parse(body, HtmlSelectors(entry="div.news article", title="h3"))
    assert [(i.title, i.url) for i in feed.items] == [
        ("Un", "https://www.example.ch/a/1"),
        ("Deux", None),
    ]


def test_hostile_markup_never_reaches_titles_texts_or_links() -> None:
    """RELIABILITY 24: scripts, handlers, javascript: and data: links, svg, iframe, form."""
    title = 'Alerte <script>alert("t")</script><img src=x onerror="alert(1)"> Fortinet'
    teaser = (
        '<a href="javascript:alert(2)">clic</a> <iframe src="https://evil.example"></iframe>'
        '<svg onload="alert(3)"><text>svg</text></svg><form><input name="q"></form>'
        '<b onclick="alert(4)">Mettez à jour</b> <a href="data:text/html,x">data</a>'
    )
    feed = parse(page(article(title, "javascript:alert(5)", "2026-11-27", teaser)))
    (item,) = feed.items
    assert item.title == "Alerte Fortinet"
    assert item.url is None and item.canonical_url is None
    assert "Mettez à jour" in item.text
    for bad in ("alert", "script", "onerror", "onclick", "javascript", "iframe", "svg", "data:"):
        assert bad not in item.html and bad not in item.text and bad not in item.title


def test_entries_without_title_are_skipped_and_missing_fields_stay_empty() -> None:
    body = page(
        article("", "/pub", "2026-11-20"),
        article("Sans date ni résumé", "/a/1"),
        article("Date impossible", "/a/2", "31.02.2026"),
        article("Date future", "/a/3", "2027-01-01"),
    )
    feed = parse(body)
    assert feed.entries_total == 4
    assert [(i.title, i.published, i.text) for i in feed.items] == [
        ("Sans date ni résumé", None, ""),
        ("Date impossible", None, ""),
        ("Date future", None, ""),
    ]
    assert "1 entries without a title skipped" in feed.warnings
    assert any(w.startswith("2 dates not understood") for w in feed.warnings)


def test_cve_ids_are_found_in_title_and_summary() -> None:
    body = page(article("Faille CVE-2026-1234", "/a/1", teaser="Voir aussi cve-2025-99999."))
    assert parse(body).items[0].cves == ("CVE-2025-99999", "CVE-2026-1234")


@pytest.mark.parametrize(
    ("lang", "declared", "expected"),
    [("de-CH", "fr", "de"), ("", "fr", "fr"), ("not a tag!", "it", "it")],
)
def test_language_comes_from_the_page_then_the_source(
    lang: str, declared: str, expected: str
) -> None:
    feed = parse(page(article("Titre", "/a"), lang=lang), declared_language=declared)
    assert feed.language == expected == feed.items[0].language


# --- identity ---------------------------------------------------------------------------------


def test_identity_is_stable_when_the_summary_changes_at_every_fetch() -> None:
    """RELIABILITY 22: a teaser with a counter or a date does not make a new item."""
    first = parse(page(article("Titre", None, "2026-11-20", "vu 10 fois")))
    second = parse(page(article("Titre", None, "2026-11-20", "vu 11 fois")))
    assert first.items[0].identity == second.items[0].identity
    assert first.items[0].content_hash != second.items[0].content_hash


def test_a_link_shared_by_several_entries_is_not_their_identity() -> None:
    body = page(
        article("Premier", "/actualites/", "2026-11-20"),
        article("Second", "/actualites/", "2026-11-21"),
    )
    items = parse(body).items
    assert len({i.identity for i in items}) == 2
    assert all(i.identity.startswith("sha256:") for i in items)


def test_the_same_entry_twice_on_a_page_is_one_item() -> None:
    """RELIABILITY 21: one item per (source, identity)."""
    body = page(article("Un", "/a/1", "2026-11-20"), article("Un", "/a/1#top", "2026-11-20"))
    feed = parse(body)
    assert [i.title for i in feed.items] == ["Un"]
    assert "1 duplicate entries dropped (same identity)" in feed.warnings


def test_the_number_of_entries_is_capped() -> None:
    body = page(*(article(f"N{n}", f"/a/{n}") for n in range(MAX_ENTRIES + 5)))
    feed = parse(body)
    assert len(feed.items) == MAX_ENTRIES
    assert feed.entries_total == MAX_ENTRIES
    assert f"more than {MAX_ENTRIES} entries matched, only the first {MAX_ENTRIES} kept" in (
        feed.warnings
    )


def test_only_the_beginning_of_an_oversized_page_is_read() -> None:
    filler = "<!-- " + "x" * MAX_PAGE_BYTES + " -->"
    body = page(article("Avant", "/a/1"), filler + article("Après", "/a/2"))
    feed = parse(body)
    assert [i.title for i in feed.items] == ["Avant"]
    assert any(w.startswith("page larger than") for w in feed.warnings)


# --- failures ---------------------------------------------------------------------------------


def test_an_entry_selector_matching_nothing_fails_the_source() -> None:
    body = '<html><body><div class="news-v2"><article><h3>x</h3></article></div></body></html>'
    with pytest.raises(ParseError) as caught:
        parse(body)
    assert caught.value.kind == "not_a_feed"
    assert caught.value.source_id == "page"
    assert "selector div.news article matched nothing: the page layout may have changed" in str(
        caught.value
    )


@pytest.mark.parametrize("body", [b"", b"  \n", b'{"json": true}'])
def test_empty_or_non_html_bodies_fail_as_not_a_feed(body: bytes) -> None:
    with pytest.raises(ParseError) as caught:
        parse(body)
    assert caught.value.kind == "not_a_feed"


def test_the_charset_of_the_http_header_decodes_the_page() -> None:
    body = page(article("Sécurité des données", "/a")).encode("iso-8859-1")
    feed = parse(body, content_type="text/html; charset=ISO-8859-1")
    assert feed.items[0].title == "Sécurité des données"


# --- dates ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "date_format", "expected"),
    [
        ("2026-11-20", None, datetime(2026, 11, 20, tzinfo=UTC)),
        ("2026-11-20T10:30:00+01:00", None, datetime(2026, 11, 20, 9, 30, tzinfo=UTC)),
        ("2026-11-20T10:30Z", None, datetime(2026, 11, 20, 10, 30, tzinfo=UTC)),
        ("Publié le 20.11.2026", None, datetime(2026, 11, 20, tzinfo=UTC)),
        ("1er décembre 2025", None, datetime(2025, 12, 1, tzinfo=UTC)),
        ("14 octobre 2022", None, datetime(2022, 10, 14, tzinfo=UTC)),
        ("Vendredi 14 fevrier 2025", None, datetime(2025, 2, 14, tzinfo=UTC)),
        ("3. März 2025", None, datetime(2025, 3, 3, tzinfo=UTC)),
        ("Friday, 4 March 2016", None, datetime(2016, 3, 4, tzinfo=UTC)),
        ("March 4th, 2016", None, datetime(2016, 3, 4, tzinfo=UTC)),
        ("Sept. 9, 2024", None, datetime(2024, 9, 9, tzinfo=UTC)),
        ("20/11/2026", "%d/%m/%Y", datetime(2026, 11, 20, tzinfo=UTC)),
        ("20/11/2026", None, None),  # day/month or month/day: not guessed
        ("11/20/2026", "%d/%m/%Y", None),
        ("30 février 2026", None, None),
        ("2026-13-01", None, None),
        ("1970-01-01", None, None),  # epoch zero
        ("2026-12-25", None, None),  # ahead of the fetch
        ("hier", None, None),
        ("", None, None),
    ],
)
def test_dates_are_read_not_guessed(
    raw: str, date_format: str | None, expected: datetime | None
) -> None:
    assert parse_page_date(raw, date_format, NOW) == expected


def test_a_time_element_datetime_attribute_wins_over_its_text() -> None:
    body = page('<h3>Titre</h3><time datetime="2026-11-20T08:00:00Z">il y a 3 jours</time>')
    assert parse(body).items[0].published == datetime(2026, 11, 20, 8, tzinfo=UTC)


# --- wiring -----------------------------------------------------------------------------------


def test_the_registry_and_the_worker_pool_dispatch_kind_html() -> None:
    body = page(article("Par le registre", "/a/1", "2026-11-20")).encode()
    options = {"url": PAGE_URL, "fetched_at": NOW, "selectors": NEWS}
    direct = parse_document("html", "page", body, **options)  # type: ignore[arg-type]
    with ParsePool(workers=1, timeout_s=20.0) as pool:
        pooled = pool.submit(
            "page",
            body,
            url=PAGE_URL,
            content_type="text/html",
            declared_language=None,
            fetched_at=NOW,
            kind="html",
            selectors=NEWS,
        ).result(timeout=60)
    assert pooled == direct
    assert [i.title for i in pooled.items] == ["Par le registre"]


def test_the_demo_page_is_read_with_the_demo_selectors() -> None:
    """`./dev demo` exercises the kind: the page and its selectors agree."""
    from techwatch.config import parse_sources
    from techwatch.demo.site import FEEDS, SOURCES_TEMPLATE

    text = SOURCES_TEMPLATE.read_text(encoding="utf-8").replace("{base_url}", "http://127.0.0.1:1")
    (source,) = [s for s in parse_sources(text, path=SOURCES_TEMPLATE).sources if s.kind == "html"]
    body = (FEEDS / "commune-informatique.html").read_bytes()
    feed = parse(body, source.html, url=source.url)
    assert len(feed.items) == 4 and feed.language == "fr"
    assert feed.items[1].cves == ("CVE-2026-48391",)
    assert feed.items[1].url == (
        "https://arcn.demo.example/fr/alertes/2026/nas-sauvegardes-cve-2026-48391.html"
    )
    assert [i.published is None for i in feed.items] == [False, False, False, True]
