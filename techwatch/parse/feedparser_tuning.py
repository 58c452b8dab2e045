"""Speed-ups of feedparser 6 internals that leave its output unchanged; installed by feeds.py.

feedparser spends most of its time in per-element Python code. Its hot spots are fixed here
without forking it: the SAX driver (text buffering, see buffered_sax.py), its cp1252 table and
the str.translate that applies it to every element's text, the deep copy of an element's
content parameters, a URL join run at every start tag, and the regex that reads the encoding
from the XML declaration. Each patch checks that feedparser still has the shape it was written
for and otherwise leaves feedparser as it is; tests/parse/test_feedparser_tuning.py fails when
a patch no longer applies.
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
# Names of ours in feedparser.mixin's globals, where the rewritten pop looks them up.
_HAS_C1: Final = "_techwatch_has_c1_control"
_COPY_PARAMS: Final = "_techwatch_copy_params"
# The encoding attribute of an XML declaration; its value ends at the first quote that follows.
_ENCODING_ATTRIBUTE: Final = re.compile(rb"encoding=['\"](.*?)['\"]")
_ENCODING: Final = b"encoding="
# Values that copy.deepcopy returns as they are.
_ATOMIC: Final = (str, int, float, bool, type(None), bytes)


def install() -> None:
    """Apply every patch once per process (idempotent)."""
    _prefer_buffered_sax()
    _cp1252_as_table()
    _faster_pop()
    _urljoin_skips_empty()
    _linear_encoding_declaration()


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
    """True when `text` holds a character that the cp1252 table would change."""
    return not text.isascii() and _C1_CONTROL.search(text) is not None


def copy_params(params: Any) -> Any:
    """copy.deepcopy of an element's content parameters, without its generic machinery.

    They are a FeedParserDict of a few strings (type, language, base): deepcopy rebuilds it
    through __reduce_ex__ at 10 us a time, three copies per entry. Anything else, or any value
    that is not atomic, goes to deepcopy itself.
    """
    if (
        type(params) is feedparser.FeedParserDict
        and not params.__dict__
        and all(type(k) is str and type(v) in _ATOMIC for k, v in params.items())
    ):
        copied = feedparser.FeedParserDict()
        for key, value in params.items():
            copied[key] = value  # through __setitem__, as deepcopy's reconstruction does
        return copied
    return copy.deepcopy(params)


def _faster_pop() -> None:
    """`_FeedParserMixin.pop`, called once per element, recompiled from its own source with
    two lines changed; the original stays reachable as the new function's `__wrapped__`.

    - translate only text that has a C1 control: even with the table, str.translate walks
      non-ASCII text one character at a time through a Python lookup (40 us for 2,000
      characters of French), a fifth of feedparser's time; the search is five times cheaper
      and almost always fails;
    - copy content parameters with `copy_params` instead of copy.deepcopy.
    """
    mixin = feedparser.mixin
    original = mixin._FeedParserMixin.pop
    if getattr(original, "__wrapped__", None) is not None:
        return
    guarded = f"output = output.translate(_cp1252) if {_HAS_C1}(output) else output"
    patched = _recompiled(
        original,
        mixin.__dict__,
        {_TRANSLATE: (guarded, 1), _DEEPCOPY: (f"{_COPY_PARAMS}(self.contentparams)", 3)},
    )
    if patched is None:
        return
    mixin.__dict__[_HAS_C1] = has_c1_control
    mixin.__dict__[_COPY_PARAMS] = copy_params
    patched.__wrapped__ = original  # type: ignore[attr-defined]
    mixin._FeedParserMixin.pop = patched


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
    after a regex substitution, 2% of the parse, for "". Only mixin's reference changes."""
    mixin = feedparser.mixin
    original = mixin._urljoin
    if getattr(original, "__wrapped__", None) is not None:
        return

    def urljoin(base: Any, uri: Any) -> Any:
        if type(base) is str and type(uri) is str and not base and not uri:
            return ""
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
