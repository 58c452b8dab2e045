"""feedparser_tuning: every patch applies to the installed feedparser and changes no output."""

from __future__ import annotations

import copy
import io
import random
import re

import feedparser
import pytest

from techwatch.parse import buffered_sax, feedparser_tuning
from techwatch.parse import feeds as feeds  # importing the feed parser installs the patches
from techwatch.parse.feedparser_tuning import EncodingDeclaration, copy_params, has_c1_control

# C1 controls in text, titles and a feed subtitle; escaped HTML, xhtml and text bodies; an
# xml:base and xml:lang on some elements but not others; entries with content and summary.
ATOM = """<?xml version="1.0" encoding="utf-8"?>
<feed xmlns="http://www.w3.org/2005/Atom" xml:lang="fr-CH">
<title>Veille \u0080 s\u00e9curit\u00e9</title>
<subtitle type="html">&lt;p&gt;Sous-titre \u0092 &lt;b&gt;gras&lt;/b&gt;&lt;/p&gt;</subtitle>
<entry><id>urn:1</id><title type="html">Mise \u00e0 jour &lt;i&gt;urgente&lt;/i&gt; \u0093</title>
<content type="html">&lt;p&gt;Correctif \u0080 publi\u00e9 &lt;a href="/a"&gt;ici&lt;/a&gt;
&lt;/p&gt;</content>
<summary>R\u00e9sum\u00e9 \u0085 court</summary><updated>2026-11-27T10:00:00Z</updated></entry>
<entry xml:base="https://example.org/news/" xml:lang="de"><id>urn:2</id><title>Plain</title>
<content type="xhtml"><div xmlns="http://www.w3.org/1999/xhtml"><p>Text <b>fett</b></p></div>
</content><link href="item?a=1&amp;b=2"/></entry>
</feed>"""


def _parse(body: str) -> feedparser.FeedParserDict:
    return feedparser.parse(
        io.BytesIO(body.encode()), sanitize_html=False, resolve_relative_uris=False
    )


def test_every_patch_is_installed() -> None:
    """A feedparser upgrade that changes a patched function makes its patch a no-op: this test
    is the alarm."""
    mixin = feedparser.mixin
    assert feedparser.api.PREFERRED_XML_PARSERS[0] == buffered_sax.__name__
    assert isinstance(mixin._cp1252, tuple)
    assert mixin._FeedParserMixin.pop.__wrapped__ is not None
    assert mixin._urljoin.__wrapped__ is feedparser.urls._urljoin
    assert isinstance(feedparser.encodings.RE_XML_PI_ENCODING, EncodingDeclaration)


def test_install_is_idempotent() -> None:
    pop, urljoin = feedparser.mixin._FeedParserMixin.pop, feedparser.mixin._urljoin
    feedparser_tuning.install()
    assert feedparser.mixin._FeedParserMixin.pop is pop
    assert feedparser.mixin._urljoin is urljoin


def test_patched_feedparser_gives_the_stock_result(monkeypatch: pytest.MonkeyPatch) -> None:
    fast = _parse(ATOM)
    mixin = feedparser.mixin
    monkeypatch.setattr(mixin._FeedParserMixin, "pop", mixin._FeedParserMixin.pop.__wrapped__)
    monkeypatch.setattr(mixin, "_urljoin", mixin._urljoin.__wrapped__)
    stock = _parse(ATOM)
    assert fast == stock
    assert fast.feed.title == "Veille \u20ac s\u00e9curit\u00e9"  # C1 still mapped
    assert "\u2019" in fast.feed.subtitle
    assert fast.entries[0].content[0]["value"].startswith("<p>Correctif \u20ac")
    assert fast.entries[1].content[0]["base"] == "https://example.org/news/"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("", False),
        ("plain ascii", False),
        ("caf\u00e9 \u00e0 la cr\u00e8me", False),
        ("\u0080", True),
        ("fin \u009f", True),
        ("\u00a0 nbsp is not C1", False),
        ("\u007f DEL is not C1", False),
        ("\u6f22\u5b57 \u0092", True),
    ],
)
def test_has_c1_control(text: str, expected: bool) -> None:
    assert has_c1_control(text) is expected
    assert (text.translate(feedparser.mixin._cp1252) != text) is expected


@pytest.mark.parametrize(
    "params",
    [
        {"type": "text/html", "language": "fr", "base": "https://example.org/"},
        {"type": "text/plain", "language": None, "base": "", "base64": 0},
        {"type": "text/html", "extra": {"nested": ["list"]}},  # not atomic: deepcopy itself
        {},
    ],
)
def test_copy_params_is_a_deep_copy(params: dict[str, object]) -> None:
    original = feedparser.FeedParserDict(params)
    copied = copy_params(original)
    expected = copy.deepcopy(original)
    assert copied == expected
    assert type(copied) is feedparser.FeedParserDict
    assert copied is not original
    copied["type"] = "changed"
    assert original.get("type") == params.get("type")
    if "extra" in params:
        assert copied["extra"] is not original["extra"]


def test_urljoin_still_joins() -> None:
    urljoin = feedparser.mixin._urljoin
    assert urljoin("", "") == ""
    assert urljoin("https://example.org/a/", "b") == "https://example.org/a/b"
    assert urljoin("", "https://example.org/x") == "https://example.org/x"


_STOCK_ENCODING_DECLARATION = re.compile(EncodingDeclaration.pattern)


def _declared(match: re.Match[bytes] | None) -> bytes | None:
    return None if match is None else match.groups()[0]


@pytest.mark.parametrize(
    "document",
    [
        b'<?xml version="1.0" encoding="utf-8"?><rss><title>one line</title></rss>',
        b"<?xml version='1.0' encoding='ISO-8859-1'?>\n<rss/>",
        b'<?xml version="1.0"?><rss><title>encoding="x" later on the line</title></rss>',
        b'<?xml version="1.0" encoding="utf-8"?><rss><t>encoding="koi8-r"?></t></rss>',
        b'<?xml encoding="utf-8" no end of declaration',
        b'<?xml version="1.0"?>\n<rss encoding="utf-8"?></rss>',
        b'<rss encoding="utf-8"?></rss>',
        b"<?xml encoding='a\"?>",
        b"",
    ],
)
def test_encoding_declaration_reads_what_the_stock_regex_reads(document: bytes) -> None:
    expected = _declared(_STOCK_ENCODING_DECLARATION.match(document))
    assert _declared(EncodingDeclaration().match(document)) == expected


def test_encoding_declaration_agrees_with_the_stock_regex_on_random_documents() -> None:
    pieces = [b"<?", b"?>", b"encoding=", b"'", b'"', b"\n", b"x", b"utf-8", b"?", b">", b" "]
    rng = random.Random(12)
    declaration = EncodingDeclaration()
    for _ in range(20_000):
        document = b"".join(rng.choice(pieces) for _ in range(rng.randint(0, 12)))
        document = b"<?" + document if rng.random() < 0.7 else document
        expected = _declared(_STOCK_ENCODING_DECLARATION.match(document))
        assert _declared(declaration.match(document)) == expected, document
