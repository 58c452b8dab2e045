"""Speed-ups of feedparser 6 internals that leave its output unchanged; installed by feeds.py.

feedparser spends most of its time in per-element Python code. Its hot spots are fixed here
without forking it: the SAX driver (text buffering, see buffered_sax.py), its cp1252 table and
the str.translate that applies it to every element's text, the deep copy of an element's
content parameters, a Latin-1 round trip of every element's text, a URL join run at every
start tag, the regex that reads the encoding from the XML declaration, and FeedParserDict
lookups that raise KeyError for every missing key. Each patch checks that feedparser still has
the shape it was written for and otherwise leaves feedparser as it is;
tests/parse/test_feedparser_tuning.py fails when a patch no longer applies.
"""

from __future__ import annotations

import ast
import copy
import inspect
import re
import textwrap
from collections.abc import Callable
from typing import Any, Final

import feedparser

from techwatch.parse import buffered_sax

# C1 controls: the only characters feedparser's cp1252 table changes.
_C1_CONTROL: Final = re.compile("[\x80-\x9f]")
_TRANSLATE: Final = "output = output.translate(_cp1252)"
_DEEPCOPY: Final = "copy.deepcopy(self.contentparams)"
_REDECODE: Final = "output = output.encode('iso-8859-1').decode('utf-8')"
_DEL_MODE: Final = "del self.contentparams['mode']"
_DEL_BASE64: Final = "del self.contentparams['base64']"
# The UTF-8 lead byte of U+0080-U+00BF, the Latin-1 characters whose byte is a UTF-8
# continuation byte (surrogates, passed through, are written with ED).
_LATIN1_SUPPLEMENT_LEAD: Final = b"\xc2"
# The last text in which may_redecode found none of them (compared by identity: a text held
# here cannot be freed, so another text cannot take its place).
_WITHOUT_CONTINUATION: Final[list[str]] = [""]
# Names of ours in feedparser.mixin's globals, where the rewritten pop looks them up.
_HAS_C1: Final = "_techwatch_has_c1_control"
_COPY_PARAMS: Final = "_techwatch_copy_params"
_MAY_REDECODE: Final = "_techwatch_may_redecode"
_PARAMS_GET: Final = "_techwatch_params_get"
# pop's lookups in the content parameters, and the keys it looks up there: neither an alias
# nor one that FeedParserDict.__getitem__ computes.
_GET_PARAM: Final = "self.contentparams.get("
_PARAM_KEYS_READ: Final = re.compile(r"self\.contentparams\.get\('(\w+)'")
_PLAIN_PARAM_KEYS: Final = frozenset({"type", "base64"})
# The encoding attribute of an XML declaration; its value ends at the first quote that follows.
_ENCODING_ATTRIBUTE: Final = re.compile(rb"encoding=['\"](.*?)['\"]")
_ENCODING: Final = b"encoding="
# feedparser.urls._urifixer: its substitution r"\1\3" keeps "scheme://" and drops the slashes
# after it (the lazy third group is always empty).
_URI_FIXER: Final = "^([A-Za-z][A-Za-z0-9+-.]*://)(/*)(.*?)"
# Values that copy.deepcopy returns as they are.
_ATOMIC_TYPES: Final = frozenset({str, int, float, bool, type(None), bytes})


def install() -> None:
    """Apply every patch once per process (idempotent)."""
    _prefer_buffered_sax()
    _cp1252_as_table()
    _faster_pop()
    _urljoin_skips_empty()
    _linear_encoding_declaration()
    _plain_dict_lookups()


def _prefer_buffered_sax() -> None:
    """feedparser asks xml.sax for the first driver in this list that imports; ours buffers
    text."""
    if buffered_sax.__name__ not in feedparser.api.PREFERRED_XML_PARSERS:
        feedparser.api.PREFERRED_XML_PARSERS.insert(0, buffered_sax.__name__)


def _cp1252_as_table() -> None:
    """feedparser maps C1 controls to their cp1252 characters with str.translate on every
    element's text. With its dict, each character missing from it raises and clears a KeyError
    inside translate: a tenth of the parse time. The same mapping as a table over the BMP
    answers every lookup without an exception (characters past it still miss, and stay
    themselves, as before)."""
    table = getattr(feedparser.mixin, "_cp1252", None)
    if isinstance(table, dict):
        feedparser.mixin._cp1252 = tuple(table.get(c, c) for c in range(0x10000))


def has_c1_control(text: str) -> bool:
    """True when `text` holds a character that the cp1252 table would change.

    pop asks may_redecode first, about the same text in a UTF-8 document: when that search
    found no character U+0080-U+00BF, it found no C1 control either, and is not repeated."""
    if text.isascii() or text is _WITHOUT_CONTINUATION[0]:
        return False
    return _C1_CONTROL.search(text) is not None


def may_redecode(text: str) -> bool:
    """False when feedparser's repair of UTF-8 read as Latin-1 (encode to Latin-1, decode as
    UTF-8, keep the text when either fails) cannot change `text`: ASCII reads back as itself,
    and without a character U+0080-U+00BF there is no continuation byte, so any other
    non-ASCII character fails (past U+00FF it has no Latin-1 byte, U+00C0-U+00FF is a lead
    byte that nothing continues).

    Those characters are the ones UTF-8 writes with the lead byte C2, which nothing else
    contains: encoding and a byte search take 1.2 us for an entry's text, the regex search
    for the range 6.4 us (it ran for every element with non-ASCII text)."""
    if text.isascii():
        return False
    if _LATIN1_SUPPLEMENT_LEAD not in text.encode("utf-8", "surrogatepass"):
        _WITHOUT_CONTINUATION[0] = text  # for has_c1_control: U+0080-U+009F is in this range
        return False
    return True


def copy_params(params: Any) -> Any:
    """copy.deepcopy of an element's content parameters, without its generic machinery.

    They are a FeedParserDict of a few strings (type, language, base): deepcopy rebuilds it
    through __reduce_ex__ at 10 us a time, three copies per entry. deepcopy's reconstruction
    stores each key through __setitem__, which renames FeedParserDict's aliases (keymap) and
    is dict's own for any other key: without aliases, dict's copy stores the same (checked and
    copied by C loops: 3.8 -> 2.5 us, against a Python loop over the items). Anything else,
    or any key or value that is not atomic, goes to deepcopy itself.
    """
    cls = feedparser.FeedParserDict
    if (
        type(params) is cls
        and not params.__dict__
        and _ATOMIC_TYPES.issuperset(map(type, params.values()))
        and _ATOMIC_TYPES.issuperset(map(type, params))
        and params.keys().isdisjoint(cls.keymap)
    ):
        return cls(params)
    return copy.deepcopy(params)


def _faster_pop() -> None:
    """`_FeedParserMixin.pop`, called once per element, recompiled from its own source with
    a few lines changed; the original stays reachable as the new function's `__wrapped__`.

    - translate only text that has a C1 control: even with the table, str.translate walks
      non-ASCII text one character at a time through a Python lookup (40 us for 2,000
      characters of French), a fifth of feedparser's time; the search is five times cheaper
      and almost always fails;
    - copy content parameters with `copy_params` instead of copy.deepcopy;
    - in a UTF-8 document, re-decode only text that `may_redecode`: the round trip copied
      every element's text twice, and raised and caught a UnicodeError for most non-ASCII
      text, 2% of the parse;
    - drop the "mode" and "base64" content parameters with dict.pop: they are almost never
      there, and `del` raised a KeyError that the `try` around it caught, twice per element;
    - read "type" and "base64" from the content parameters (a FeedParserDict, a dict) with
      dict.get: FeedParserDict.get, even as _plain_dict_lookups leaves it, is a Python call
      (0.3-0.4 us against 0.05), five times per element.
    """
    mixin = feedparser.mixin
    original = mixin._FeedParserMixin.pop
    if getattr(original, "__wrapped__", None) is not None:
        return
    guarded = f"output = output.translate(_cp1252) if {_HAS_C1}(output) else output"
    redecode = f"{_REDECODE} if {_MAY_REDECODE}(output) else output"
    replacements = {
        _TRANSLATE: (guarded, 1),
        _DEEPCOPY: (f"{_COPY_PARAMS}(self.contentparams)", 3),
        _REDECODE: (redecode, 1),
        _DEL_MODE: ("self.contentparams.pop('mode', None)", 1),
        _DEL_BASE64: ("self.contentparams.pop('base64', None)", 1),
    }
    if _reads_plain_params(original):
        replacements[_GET_PARAM] = (f"{_PARAMS_GET}(self.contentparams, ", 7)
    patched = _recompiled(original, mixin.__dict__, replacements)
    if patched is None:
        return
    mixin.__dict__[_PARAMS_GET] = dict.get
    mixin.__dict__[_HAS_C1] = has_c1_control
    mixin.__dict__[_COPY_PARAMS] = copy_params
    mixin.__dict__[_MAY_REDECODE] = may_redecode
    patched.__wrapped__ = original  # type: ignore[attr-defined]
    mixin._FeedParserMixin.pop = patched


def _reads_plain_params(pop: Callable[..., Any]) -> bool:
    """True when every content parameter `pop` looks up is one of _PLAIN_PARAM_KEYS."""
    try:
        source = inspect.getsource(pop)
    except (OSError, TypeError):
        return False
    keys = _PARAM_KEYS_READ.findall(source)
    return len(keys) == source.count(_GET_PARAM) and set(keys) <= _PLAIN_PARAM_KEYS


def _recompiled(
    original: Callable[..., Any],
    module_globals: dict[str, Any],
    replacements: dict[str, tuple[str, int]],
) -> Callable[..., Any] | None:
    """`original` recompiled with each `old` text replaced by `new`, or None unless `old`
    occurs exactly the expected number of times (another feedparser version: then nothing is
    patched)."""
    try:
        source = textwrap.dedent(inspect.getsource(original))
        filename = inspect.getsourcefile(original) or "<feedparser>"
        first_line = original.__code__.co_firstlineno
    except (OSError, TypeError):
        return None
    if "super(" in source or "__class__" in source:
        return None
    for old, (new, count) in replacements.items():
        if source.count(old) != count:
            return None
        source = source.replace(old, new)
    tree = ast.parse(source)
    ast.increment_lineno(tree, first_line - 1)  # tracebacks point at feedparser's own lines
    namespace: dict[str, Any] = {}
    exec(compile(tree, filename, "exec"), module_globals, namespace)
    function = namespace.get(original.__name__)
    if not callable(function):
        return None
    function.__qualname__ = original.__qualname__
    return function


def _urljoin_skips_empty() -> None:
    """Every start tag joins the parser's base URI with the element's xml:base; with neither
    (feeds are parsed without their URL, see feeds._run_feedparser) that is urljoin("", "")
    after a regex substitution, 2% of the parse, for "". Against an empty base (links, ids),
    urljoin returns the URI as the substitution left it: the substitution (extra slashes after
    "scheme://" dropped) is done from its match, without expanding its template in Python.
    Only mixin's reference changes."""
    mixin = feedparser.mixin
    original = mixin._urljoin
    if getattr(original, "__wrapped__", None) is not None:
        return
    fixer = getattr(feedparser.urls, "_urifixer", None)
    if getattr(fixer, "pattern", None) != _URI_FIXER:
        return

    def urljoin(base: Any, uri: Any) -> Any:
        if type(base) is str and type(uri) is str and not base:
            if not uri:  # every start tag without xml:base: the match would fail
                return uri
            found = fixer.match(uri)
            return uri if found is None else found.group(1) + uri[found.end() :]
        return original(base, uri)

    urljoin.__wrapped__ = original  # type: ignore[attr-defined]
    mixin._urljoin = urljoin


class EncodingDeclaration:
    """feedparser's RE_XML_PI_ENCODING, `^<\\?.*encoding=['"](.*?)['"].*\\?>`, without its
    backtracking: its greedy `.*` runs to the end of the first line, then steps back one byte
    at a time to the last "encoding=" and again to the last "?>". On a feed without a newline
    (minified; the ingestion bench) that line is the whole document: 0.3-0.5 ms for 78 KB, a
    fiftieth of the parse. The same answer from byte searches: the last "encoding=" of the
    first line whose value's closing quote is followed by a "?>" on that line.

    feedparser only reads `groups()[0]` of the match, which is the same here."""

    pattern: Final = rb'^<\?.*encoding=[\'"](.*?)[\'"].*\?>'  # feedparser 6.0's, as is

    def match(self, data: bytes) -> re.Match[bytes] | None:
        if not data.startswith(b"<?"):
            return None
        end = data.find(b"\n")
        end = len(data) if end < 0 else end
        at = data.rfind(_ENCODING, 2, end)
        while at >= 2:
            found = _ENCODING_ATTRIBUTE.match(data, at, end)
            if found is not None:
                if data.find(b"?>", found.end(), end) >= 0:
                    return found
                # No "?>" from here on; an earlier value closes at or before this one's
                # opening quote, so every byte is searched once.
                end = found.end()
            at = data.rfind(_ENCODING, 2, at + len(_ENCODING) - 1)
        return None


def _linear_encoding_declaration() -> None:
    """Swap the encoding declaration regex for EncodingDeclaration, unless feedparser's
    pattern or its use changed."""
    encodings = feedparser.encodings
    original = getattr(encodings, "RE_XML_PI_ENCODING", None)
    if isinstance(original, EncodingDeclaration):
        return
    if getattr(original, "pattern", None) != EncodingDeclaration.pattern:
        return
    try:
        source = inspect.getsource(encodings.convert_to_utf8)
    except (OSError, TypeError):
        return
    if "RE_XML_PI_ENCODING.match(tempdata)" not in source:
        return
    encodings.RE_XML_PI_ENCODING = EncodingDeclaration()


# The keys FeedParserDict.__getitem__ computes instead of looking them up (`key == '...'`).
_COMPUTED_KEYS: Final = frozenset(
    {"category", "enclosures", "license", "updated", "updated_parsed"}
)
_COMPUTED_KEY: Final = re.compile(r"key == '(\w+)'")


def _plain_dict_lookups() -> None:
    """FeedParserDict's `get` and `in` as dict's own for ordinary keys.

    Both go through its __getitem__, which raises KeyError for a missing key, and feedparser's
    pop asks each element's content parameters for keys that are mostly absent ("base64",
    "mode"): several exceptions raised and caught per element, 3-4% of the parse. For a str key
    that is neither an alias (keymap) nor one that __getitem__ computes, __getitem__ is a dict
    lookup, so dict.get and dict.__contains__ answer the same; other keys take the original
    path. Skipped unless __getitem__ computes exactly the keys listed here."""
    cls = feedparser.FeedParserDict
    original_get, original_contains = cls.get, cls.__contains__
    if getattr(original_get, "__wrapped__", None) is not None:
        return
    try:
        source = inspect.getsource(cls.__getitem__)
    except (OSError, TypeError):
        return
    if frozenset(_COMPUTED_KEY.findall(source)) != _COMPUTED_KEYS:
        return

    def get(self: Any, key: Any, default: Any = None) -> Any:
        if type(key) is str and key not in _COMPUTED_KEYS and key not in self.keymap:
            return dict.get(self, key, default)
        return original_get(self, key, default)

    def contains(self: Any, key: Any) -> bool:
        if type(key) is str and key not in _COMPUTED_KEYS and key not in self.keymap:
            return dict.__contains__(self, key)
        return original_contains(self, key)  # type: ignore[no-any-return]

    get.__wrapped__ = original_get  # type: ignore[attr-defined]
    contains.__wrapped__ = original_contains  # type: ignore[attr-defined]
    cls.get = get  # type: ignore[method-assign]
    cls.__contains__ = contains  # type: ignore[method-assign]
