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
from techwatch.parse.feedparser_tuning import (
    EncodingDeclaration,
    copy_params,
    has_c1_control,
    may_redecode,
)

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
    assert feedparser_tuning._PARAMS_GET in mixin._FeedParserMixin.pop.__code__.co_names
    assert mixin._urljoin.__wrapped__ is feedparser.urls._urljoin
    assert isinstance(feedparser.encodings.RE_XML_PI_ENCODING, EncodingDeclaration)
    assert feedparser.FeedParserDict.get.__wrapped__ is not None
    assert feedparser.FeedParserDict.__contains__.__wrapped__ is not None


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
    cls = feedparser.FeedParserDict
    monkeypatch.setattr(cls, "get", cls.get.__wrapped__)
    monkeypatch.setattr(cls, "__contains__", cls.__contains__.__wrapped__)
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


def _redecoded(text: str) -> str:
    """feedparser's own repair of UTF-8 text read as Latin-1, as its pop does it."""
    try:
        return text.encode("iso-8859-1").decode("utf-8")
    except (UnicodeEncodeError, UnicodeDecodeError):
        return text


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("", False),
        ("plain ascii", False),
        ("caf\u00e9 \u00e0 la cr\u00e8me", False),  # lead bytes only: the decode fails
        ("\u6f22\u5b57", False),  # no Latin-1 byte: the encode fails
        ("caf\u00c3\u00a9", True),  # mojibake of "café": repaired
        ("\u00a0 alone", True),  # a continuation byte alone: tried, and the decode fails
    ],
)
def test_may_redecode(text: str, expected: bool) -> None:
    assert may_redecode(text) is expected
    if text == "caf\u00c3\u00a9":
        assert _redecoded(text) == "caf\u00e9"


def test_may_redecode_finds_what_a_search_for_u0080_u00bf_finds() -> None:
    """The byte search in the UTF-8 text answers as the regex it replaced, on text over ASCII,
    Latin-1, the BMP, astral characters and lone surrogates."""
    rng = random.Random(7)
    alphabet = "a \u007f\u0080\u00bf\u00c0\u00c2\u00e9\u0100\u0142\u20ac\ud800\udfff\U0001f600"
    found = {True: 0, False: 0}
    for _ in range(20_000):
        text = "".join(rng.choice(alphabet) for _ in range(rng.randint(1, 6)))
        expected = re.search("[\x80-\xbf]", text) is not None
        assert may_redecode(text) is expected, repr(text)
        found[expected] += 1
    assert min(found.values()) > 1000


def test_text_that_may_not_redecode_is_left_as_is_by_the_repair() -> None:
    """Random text over ASCII, Latin-1 and beyond: whenever the repair would change a text,
    may_redecode says so."""
    rng = random.Random(5)
    alphabet = "aZ \u00a0\u00a9\u00bf\u00c0\u00c3\u00e9\u00ef\u00ff\u0100\u20ac\u0080\u0092"
    changed = 0
    for _ in range(20_000):
        text = "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 6)))
        if _redecoded(text) != text:
            changed += 1
            assert may_redecode(text), repr(text)
    assert changed > 100


def test_has_c1_control_after_may_redecode_of_the_same_text() -> None:
    """pop asks may_redecode, then has_c1_control, about one text: the second answer reuses
    the first search only when that search rules C1 controls out."""
    rng = random.Random(11)
    alphabet = "a \u00e9\u00c0\u00ff\u0100\u20ac\u0080\u0092\u009f\u00a0\u00bf"
    seen = {True: 0, False: 0}
    for _ in range(20_000):
        text = "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 6)))
        may_redecode(text)
        expected = text.translate(feedparser.mixin._cp1252) != text
        assert has_c1_control(text) is expected, repr(text)
        seen[expected] += 1
    assert min(seen.values()) > 1000


def test_pop_reads_only_plain_content_parameters() -> None:
    """The keys pop reads with dict.get are neither aliases nor computed by FeedParserDict."""
    pop = feedparser.mixin._FeedParserMixin.pop.__wrapped__
    assert feedparser_tuning._reads_plain_params(pop)
    cls = feedparser.FeedParserDict
    for key in feedparser_tuning._PLAIN_PARAM_KEYS:
        assert key not in cls.keymap and key not in feedparser_tuning._COMPUTED_KEYS
        params = cls({key: "value"})
        assert dict.get(params, key) == cls.get.__wrapped__(params, key)
        assert dict.get(cls(), key, 0) == cls.get.__wrapped__(cls(), key, 0)


def test_patched_pop_still_drops_the_mode_and_base64_parameters() -> None:
    body = (
        '<feed xmlns="http://www.w3.org/2005/Atom"><entry><id>urn:x</id>'
        '<content type="text" mode="base64">SGVsbG8=</content></entry></feed>'
    )
    content = _parse(body).entries[0].content[0]
    assert content["value"] == "Hello"
    assert "mode" not in content and "base64" not in content


def test_patched_pop_still_repairs_utf8_read_as_latin1() -> None:
    body = "<rss version='2.0'><channel><title>caf\u00c3\u00a9</title></channel></rss>"
    assert _parse(body).feed.title == "caf\u00e9"


@pytest.mark.parametrize(
    "params",
    [
        {"type": "text/html", "language": "fr", "base": "https://example.org/"},
        {"type": "text/plain", "language": None, "base": "", "base64": 0},
        {"type": "text/html", "extra": {"nested": ["list"]}},  # not atomic: deepcopy itself
        {},
        {"type": "text/html", "description": "an alias", "value": "v"},  # renamed by deepcopy
        {"type": "text/html", 1: "an int key", b"k": None, ("t",): "a tuple key"},
    ],
)
def test_copy_params_is_a_deep_copy(params: dict[str, object]) -> None:
    original = feedparser.FeedParserDict(params)
    copied = copy_params(original)
    expected = copy.deepcopy(original)
    assert copied == expected
    assert list(copied.items()) == list(expected.items())
    assert type(copied) is feedparser.FeedParserDict
    assert copied is not original
    copied["type"] = "changed"
    assert original.get("type") == params.get("type")
    if "extra" in params:
        assert copied["extra"] is not original["extra"]


_LOOKUP_KEYS = (
    "title", "missing", "type", "base64", "guid", "id", "description", "summary", "subtitle",
    "url", "href", "updated", "updated_parsed", "published", "category", "enclosures",
    "license", "tags", "links", 1, None, ("title",),
)  # fmt: skip
_LOOKUP_DICTS = (
    {},
    {"title": "t", "id": "i", "type": "text/html", "base64": 0},
    {"summary": "s", "href": "h", "published": "p", "published_parsed": (2026, 1, 1)},
    {"subtitle": "s", "updated": "u", "tags": [{"term": "x"}], 1: "one"},
    {"links": [{"rel": "enclosure", "href": "e"}, {"rel": "license", "href": "l"}]},
    {"links": [], "license": "own", "category": "own", "guid": "own key"},
)


@pytest.mark.filterwarnings("ignore::DeprecationWarning")  # updated -> published fallback
@pytest.mark.parametrize("content", _LOOKUP_DICTS)
def test_dict_lookups_answer_as_feedparser_does(content: dict[object, object]) -> None:
    cls = feedparser.FeedParserDict
    value = cls(content)
    for key in _LOOKUP_KEYS:
        assert value.get(key, "dflt") == cls.get.__wrapped__(value, key, "dflt"), key
        assert value.get(key) == cls.get.__wrapped__(value, key), key
        assert (key in value) is cls.__contains__.__wrapped__(value, key), key


def test_urljoin_still_joins() -> None:
    urljoin = feedparser.mixin._urljoin
    assert urljoin("", "") == ""
    assert urljoin("https://example.org/a/", "b") == "https://example.org/a/b"
    assert urljoin("", "https://example.org/x") == "https://example.org/x"


@pytest.mark.parametrize(
    "uri",
    [
        "", "https://example.org/x", "http:///example.org//a", "HTTPS:////x", "x+y-z.w:////q",
        "http://", "a:/b", "relative/x?q=1", "//host/x", "tag:example.org,2026:/y",
        "1http:///x", " http:///x", "https://example.org/\u00e9t\u00e9",
    ],
)  # fmt: skip
@pytest.mark.parametrize("base", ["", "https://example.org/dir/"])
def test_urljoin_answers_as_feedparser_does(base: str, uri: str) -> None:
    urljoin = feedparser.mixin._urljoin
    assert urljoin(base, uri) == urljoin.__wrapped__(base, uri)


def test_urljoin_drops_extra_slashes_after_the_scheme() -> None:
    assert feedparser.mixin._urljoin("", "http:////example.org/a") == "http://example.org/a"


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
