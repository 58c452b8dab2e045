"""A SAX driver for feedparser: the standard expat reader with character-data buffering, and
feedparser's element events delivered without the SAX layers when nothing needs them.

Without buffering, expat reports escaped HTML (`&lt;p&gt;...`) as one callback per entity, and
feedparser's per-callback bookkeeping then dominates parsing time (about half of it on typical
escaped-HTML feeds). Buffering merges adjacent character data; the parsed result is identical.
feedparser finds this module through `xml.sax.make_parser`, which calls `create_parser()`.

Each element then went expat -> ExpatParser.start_element_ns (splits the name, builds an
AttributesNSImpl) -> feedparser's startElementNS (reads the name again, copies the attributes)
-> unknown_starttag, and the same without attributes at its end. The tag feedparser derives
depends on the expat name only (or, for a namespace feedparser does not know, on the
namespaces declared so far), and so do the keys of an attribute: both are read once per name
and parse, and handed to unknown_starttag / unknown_endtag directly; text goes straight to
handle_data. MathML, SVG and names ExpatParser does not split in two or three take the stock
path. Only when the five functions replicated are the ones this was written for (their source
is compared); otherwise the reader is the stock one.
"""

from __future__ import annotations

import hashlib
import inspect
import textwrap
from collections.abc import Callable
from functools import cache
from typing import Any, Final, NamedTuple
from xml.sax.expatreader import ExpatParser

_BUFFER_SIZE = 1 << 16
# SHA-256 (first 16 hex digits) of the dedented source of the functions _direct_handlers
# stands in for, as read from feedparser 6.0.14 and CPython 3.11.
_READ_FOR: Final = {
    "_StrictFeedParser.startElementNS": "74a3aa9b4b32a2a3",
    "_StrictFeedParser.endElementNS": "00c4315a1aa1fb35",
    "_StrictFeedParser.characters": "be87d2ef64d23895",
    "ExpatParser.start_element_ns": "41820a8ec619201a",
    "ExpatParser.end_element_ns": "08883c9528b5a665",
}
_USERLAND: Final = "backend.userland.com/rss"
_USERLAND_RSS: Final = "http://backend.userland.com/rss"


class BufferedExpatParser(ExpatParser):
    """ExpatParser that asks expat to buffer text between markup events."""

    def reset(self) -> None:
        super().reset()
        self._parser.buffer_text = True
        self._parser.buffer_size = _BUFFER_SIZE

    def _reset_cont_handler(self) -> None:
        """Called by reset and when the content handler changes during a parse."""
        super()._reset_cont_handler()
        handlers = _direct_handlers(self, self._cont_handler) if self._namespaces else None
        start, end, text = handlers or (self.start_element_ns, self.end_element_ns, None)
        if self._namespaces:
            self._parser.StartElementHandler = start
            self._parser.EndElementHandler = end
        if text is not None:
            self._parser.CharacterDataHandler = text


def create_parser(*args: object, **kwargs: object) -> BufferedExpatParser:
    return BufferedExpatParser(*args, **kwargs)  # type: ignore[arg-type]


class Tag(NamedTuple):
    """What feedparser's startElementNS or endElementNS makes of an expat name.

    `tag` is the answer, unless `namespace` is set: then the first prefix the feed declared
    for that namespace, if any, goes before `local` (and the result is lower-cased)."""

    tag: str
    local: str
    namespace: str | None


def start_tag(name: str, matched: dict[str, str]) -> Tag | None:
    """feedparser's reading of an element start without attributes (qname is always None with
    expat), or None where it does more than name the tag (MathML, SVG) or the name is not
    one ExpatParser splits in two."""
    split = _split(name)
    if split is None:
        return None
    namespace, local = split
    lowered = str(namespace or "").lower()
    if lowered.find(_USERLAND) != -1:
        namespace = lowered = _USERLAND_RSS
    prefix = matched.get(lowered)
    local = str(local).lower()
    if local in ("math", "svg"):
        return None
    if prefix:
        return Tag((prefix.lower() + ":" + local).lower(), local, None)
    return Tag(local.lower(), local, namespace or None)


def end_tag(name: str, matched: dict[str, str]) -> Tag | None:
    """feedparser's reading of an element end (no namespace substitution there, and the
    prefix is not lower-cased before the whole tag is)."""
    split = _split(name)
    if split is None:
        return None
    namespace, local = split
    prefix = matched.get(str(namespace or "").lower(), "")
    if prefix:
        return Tag(str(prefix + ":" + local).lower(), local, None)
    return Tag(str(local).lower(), local, namespace or None)


def attribute_keys(name: str, matched: dict[str, str]) -> tuple[str, str] | None:
    """The two keys feedparser's startElementNS stores an attribute under (its namespace's
    known prefix or none, then its qualified name; often the same), or None for a name that
    is not plain or prefixed (the stock path then reads it)."""
    parts = name.split()
    if len(parts) == 1 and ":" not in name:
        namespace, local, qualified = None, name, name
    elif len(parts) == 3:
        namespace, local, qualified = parts[0], parts[1], f"{parts[2]}:{parts[1]}"
    else:
        return None
    prefix = matched.get((namespace or "").lower(), "")
    if prefix:
        local = prefix + ":" + local
    return str(local).lower(), str(qualified).lower()


def _attributes(
    attributes: dict[str, str],
    declared: dict[str, str],
    keys: dict[str, tuple[str, str] | None],
    matched: dict[str, str],
) -> list[tuple[str, str]] | None:
    """What feedparser's startElementNS hands unknown_starttag for these attributes and the
    declarations it kept for this element, or None when a name needs the stock path."""
    named = []
    for name, value in attributes.items():
        read = keys.get(name, False)
        if read is False:
            read = keys[name] = attribute_keys(name, matched)
        if read is None:
            return None
        named.append((read, value))
    merged = dict(declared)
    for (by_namespace, _), value in named:
        merged[by_namespace] = value
    for (_, by_qualified_name), value in named:
        merged[by_qualified_name] = value
    return list(merged.items())


def _split(name: str) -> tuple[str | None, str] | None:
    """ExpatParser's (namespace, local name) of an expat name, or None for a shape it does not
    make a pair of."""
    parts = name.split()
    if len(parts) == 1:
        return None, name
    if len(parts) in (2, 3):
        return parts[0], parts[1]
    return None


def _resolved(read: Tag, declared: dict[str | None, str]) -> str:
    """The tag, with the prefix of the first declaration of its unmatched namespace."""
    if read.namespace is None:
        return read.tag
    for prefix, uri in declared.items():
        if prefix and uri == read.namespace:
            return str(prefix + ":" + read.local).lower()
    return read.tag


def _direct_handlers(
    reader: ExpatParser, handler: Any
) -> tuple[Callable[..., None], Callable[[str], None], Callable[[str], None]] | None:
    """Expat handlers for element start, element end and text that call feedparser's own
    unknown_starttag, unknown_endtag and handle_data; None unless `handler` is feedparser's
    strict parser as read for _READ_FOR."""
    if not _feedparser_as_read(type(handler)):
        return None
    matched = handler._matchnamespaces
    starts: dict[str, Tag | None] = {}
    ends: dict[str, Tag | None] = {}
    keys: dict[str, tuple[str, str] | None] = {}
    stock_start, stock_end = reader.start_element_ns, reader.end_element_ns
    unknown_starttag, unknown_endtag = handler.unknown_starttag, handler.unknown_endtag

    def start(name: str, attributes: dict[str, str]) -> None:
        read = starts.get(name, False)
        if read is False:
            read = starts[name] = start_tag(name, matched)
        if attributes:
            items = _attributes(attributes, handler.decls, keys, matched)
        else:
            items = list(handler.decls.items())
        if read is None or items is None:
            stock_start(name, attributes)
            return
        handler.decls = {}
        # Calls spared for the common case (plain RSS): no namespace left to resolve.
        tag = read.tag if read.namespace is None else _resolved(read, handler.namespaces_in_use)
        unknown_starttag(tag, items)

    def end(name: str) -> None:
        read = ends.get(name, False)
        if read is False:
            read = ends[name] = end_tag(name, matched)
        if read is None:
            stock_end(name)
        elif read.namespace is None:
            unknown_endtag(read.tag)
        else:
            unknown_endtag(_resolved(read, handler.namespaces_in_use))

    return start, end, handler.handle_data


@cache
def _feedparser_as_read(cls: type) -> bool:
    """True when `cls` is feedparser's strict parser and its SAX methods and ExpatParser's
    are the ones the direct handlers replicate."""
    from feedparser.parsers.strict import _StrictFeedParser

    if not issubclass(cls, _StrictFeedParser):
        return False
    functions = {
        "_StrictFeedParser.startElementNS": cls.startElementNS,
        "_StrictFeedParser.endElementNS": cls.endElementNS,
        "_StrictFeedParser.characters": cls.characters,
        "ExpatParser.start_element_ns": ExpatParser.start_element_ns,
        "ExpatParser.end_element_ns": ExpatParser.end_element_ns,
    }
    return all(
        function.__qualname__ == qualname and _source_digest(function) == _READ_FOR[qualname]
        for qualname, function in functions.items()
    )


def _source_digest(function: Callable[..., Any]) -> str | None:
    try:
        source = textwrap.dedent(inspect.getsource(function))
    except (OSError, TypeError):
        return None
    return hashlib.sha256(source.encode()).hexdigest()[:16]
