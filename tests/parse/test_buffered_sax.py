"""buffered_sax: feedparser reads the same elements through the direct handlers as through
ExpatParser and its own startElementNS / endElementNS."""

from __future__ import annotations

import io
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from xml.sax.expatreader import ExpatParser

import feedparser
import pytest

from techwatch.parse import buffered_sax
from techwatch.parse import feeds as feeds  # importing the feed parser installs the driver

_DOCUMENTS = {
    "rss with known prefixes": (
        '<?xml version="1.0"?><rss version="2.0" xmlns:dc="http://purl.org/dc/elements/1.1/"'
        ' xmlns:content="http://purl.org/rss/1.0/modules/content/"><channel><title>T</title>'
        '<item><title>A &amp; b</title><guid isPermaLink="false">g1</guid><dc:creator>Ann'
        "</dc:creator><content:encoded>&lt;p&gt;x&lt;/p&gt;</content:encoded></item>"
        "</channel></rss>"
    ),
    "atom, xml:base, xml:lang, xhtml with MathML and SVG": (
        '<feed xmlns="http://www.w3.org/2005/Atom" xml:lang="fr" xml:base="https://e.org/">'
        '<title type="xhtml"><div xmlns="http://www.w3.org/1999/xhtml">Ti <b>t</b></div>'
        '</title><entry xml:base="news/"><id>urn:1</id><title>E</title>'
        '<content type="xhtml"><div xmlns="http://www.w3.org/1999/xhtml"><p>x</p>'
        '<math xmlns="http://www.w3.org/1998/Math/MathML"><mi>y</mi></math>'
        '<svg xmlns="http://www.w3.org/2000/svg"><circle r="1"/></svg></div></content>'
        '<link href="a?b=1&amp;c=2"/></entry></feed>'
    ),
    "unknown namespaces, declared once, twice and as the default": (
        '<rss version="2.0" xmlns:foo="http://example.org/foo" xmlns:bar="http://example.org/'
        'foo" xmlns:x="urn:x"><channel><title>T</title><foo:thing>1</foo:thing><item>'
        '<title>I</title><x:y>2</x:y><z xmlns="urn:z"><w>3</w></z><Upper>4</Upper></item>'
        "</channel></rss>"
    ),
    "backend.userland namespace": (
        '<rss version="2.0" xmlns="http://backend.userland.com/rss2"><channel><title>U</title>'
        "<item><title>I</title></item></channel></rss>"
    ),
    "xlink declared on an element without attributes": (
        '<rss version="2.0"><channel xmlns:xl="http://www.w3.org/1999/xlink"><title>T</title>'
        '<item><title xl:href="h">I</title><description>d</description></item></channel></rss>'
    ),
    "upper-case names": (
        "<RSS version='2.0'><CHANNEL><TITLE>T</TITLE><ITEM><TITLE>I</TITLE><Link>"
        "https://e.org/</Link></ITEM></CHANNEL></RSS>"
    ),
    "ill-formed: the loose parser takes over": (
        "<rss version='2.0'><channel><title>T</title><item><title>I &amp; &bogus;</title>"
        "<description>a < b</description></item></channel></rss>"
    ),
    "attributes, plain, prefixed, known and not, with the same key twice": (
        '<rss version="2.0" xmlns:u="urn:u" xmlns:dc="http://purl.org/dc/elements/1.1/">'
        '<channel><title xml:lang="de" u:x="1" dc:y="2" Type="TEXT" rel="A">T</title>'
        '<item><guid isPermaLink="false" u:isPermaLink="true">g</guid><enclosure url="e"'
        ' length="1" type="audio/mpeg"/></item></channel></rss>'
    ),
    "an attribute in a namespace with a tab": (
        '<rss version="2.0" xmlns:w="urn:a&#9;b"><channel w:x="1"><title>T</title></channel></rss>'
    ),
    "a namespace name with a tab: ExpatParser splits it in four": (
        '<rss version="2.0" xmlns:w="urn:a&#9;b"><channel><w:x>1</w:x></channel></rss>'
    ),
}


def _parse(body: bytes) -> Any:
    try:
        parsed = feedparser.parse(
            io.BytesIO(body), sanitize_html=False, resolve_relative_uris=False
        )
    except Exception as error:  # the stock path fails on some documents: so must ours
        return repr(error)
    if "bozo_exception" in parsed:  # exceptions compare by identity
        parsed["bozo_exception"] = repr(parsed["bozo_exception"])
    return parsed


def _events(body: bytes, monkeypatch: pytest.MonkeyPatch) -> tuple[list[object], Any]:
    """Every call feedparser's strict parser gets for its elements and text, and the result."""
    events: list[object] = []
    cls = feedparser.api.StrictFeedParser
    with monkeypatch.context() as patch:
        for name in ("unknown_starttag", "unknown_endtag", "handle_data"):
            patch.setattr(cls, name, _recording(getattr(cls, name), name, events))
        result = _parse(body)
    return events, result


def _recording(method: Any, name: str, events: list[object]) -> Any:
    def record(self: Any, *args: Any, **kwargs: Any) -> Any:
        events.append((name, args, kwargs))
        return method(self, *args, **kwargs)

    return record


def _stock_and_direct(
    body: bytes, monkeypatch: pytest.MonkeyPatch
) -> Iterator[tuple[list[object], Any]]:
    with monkeypatch.context() as patch:
        patch.setattr(buffered_sax, "_direct_handlers", lambda reader, handler: None)
        yield _events(body, monkeypatch)
    yield _events(body, monkeypatch)


def test_the_direct_handlers_apply_to_the_installed_feedparser(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A feedparser or Python upgrade that changes a replicated function turns them off: this
    test is the alarm."""
    assert buffered_sax._feedparser_as_read(feedparser.api.StrictFeedParser)
    assert not buffered_sax._feedparser_as_read(feedparser.api.LooseFeedParser)
    stock_calls: list[str] = []
    stock = ExpatParser.start_element_ns

    def counted(self: ExpatParser, name: str, attributes: dict[str, str]) -> None:
        stock_calls.append(name)
        stock(self, name, attributes)

    monkeypatch.setattr(ExpatParser, "start_element_ns", counted)
    body = '<rss version="2.0"><channel><title>T</title><link a="1">L</link></channel></rss>'
    assert _parse(body.encode()).feed.title == "T"
    assert not stock_calls


@pytest.mark.parametrize("body", _DOCUMENTS.values(), ids=_DOCUMENTS.keys())
def test_feedparser_gets_the_same_calls_and_gives_the_same_result(
    body: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    (stock_events, stock), (direct_events, direct) = _stock_and_direct(body.encode(), monkeypatch)
    assert direct_events == stock_events
    assert direct == stock
    assert stock_events
    assert "TypeError" not in str(stock)  # not a failure of the recording itself


@pytest.mark.parametrize("folder", ["feeds", "feeds-feedparser-fixtures"])
def test_real_feeds_give_the_same_calls(
    realdata: Path, folder: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Every real feed, and feedparser's own test documents (namespaces, xml:base, bad
    encodings, ill-formed XML...)."""
    paths = sorted(p for p in (realdata / folder).rglob("*") if p.is_file())
    assert paths
    for path in paths:
        (stock_events, stock), (direct_events, direct) = _stock_and_direct(
            path.read_bytes(), monkeypatch
        )
        assert direct_events == stock_events, path.name
        assert direct == stock, path.name


@pytest.mark.parametrize(
    ("name", "keys"),
    [
        ("href", ("href", "href")),
        ("isPermaLink", ("ispermalink", "ispermalink")),
        ("http://www.w3.org/XML/1998/namespace lang xml", ("xml:lang", "xml:lang")),
        ("urn:u x u", ("x", "u:x")),
        ("http://purl.org/dc/elements/1.1/ y D", ("dc:y", "d:y")),
        ("urn:a\tb x w", None),
        ("a:b", None),
    ],
)
def test_attribute_keys_read_from_expat_names(name: str, keys: tuple[str, str] | None) -> None:
    _parse(b"<rss/>")
    matched = feedparser.api.StrictFeedParser._matchnamespaces
    assert buffered_sax.attribute_keys(name, matched) == keys


@pytest.mark.parametrize(
    ("name", "start", "end"),
    [
        ("title", "title", "title"),
        ("Title", "title", "title"),
        ("http://purl.org/dc/elements/1.1/ creator dc", "dc:creator", "dc:creator"),
        ("http://www.w3.org/2005/Atom entry", "entry", "entry"),  # then namespaces declared
        ("http://backend.userland.com/rss2 item", "item", "item"),
        ("http://www.w3.org/1998/Math/MathML math", None, "math"),
        ("urn:a\tb x w", None, None),
    ],
)
def test_tags_read_from_expat_names(name: str, start: str | None, end: str | None) -> None:
    _parse(b"<rss/>")  # feedparser fills its table of known namespaces at its first parse
    matched = feedparser.api.StrictFeedParser._matchnamespaces
    read_start = buffered_sax.start_tag(name, matched)
    read_end = buffered_sax.end_tag(name, matched)
    assert (read_start and read_start.tag) == start
    assert (read_end and read_end.tag) == end
