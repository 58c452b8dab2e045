"""Identity keys: one stored item per (source, identity), stable across runs; in-feed duplicates."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable

from techwatch.types import ParsedItem


def item_id(source_id: str, identity: str) -> str:
    """Stable primary key of an item: a short hash of its source and identity."""
    digest = hashlib.sha256(f"{source_id}\x00{identity}".encode()).hexdigest()
    return digest[:20]


# Identities longer than this (some feeds put whole URLs with session data, or worse, in <guid>)
# are replaced by their hash, so keys stay small without losing uniqueness.
MAX_IDENTITY_CHARS = 512


def _digest(*parts: str) -> str:
    return hashlib.sha256("\x00".join(parts).encode("utf-8", "surrogatepass")).hexdigest()


def _fold(value: str) -> str:
    """Case and whitespace folded, so cosmetic edits of a title do not create a new identity."""
    return " ".join(value.casefold().split())


def entry_identity(
    entry_id: str | None,
    canonical_link: str | None,
    *,
    title: str,
    published: str,
    text: str,
) -> str:
    """What makes an entry the same entry on the next fetch (one stored item per identity).

    The publisher's id/guid when present, else the canonical link, else a hash of the folded
    title and the publication date as written in the feed (not the parsed date, whose validity
    depends on the clock); the text joins the hash only when there is no title, because a body
    that changes at every fetch must not turn one story into a new one each night.
    """
    candidate = (entry_id or "").strip() or canonical_link
    if candidate:
        if len(candidate) > MAX_IDENTITY_CHARS:
            return "sha256:" + _digest(candidate)
        return candidate
    body = "" if title.strip() else _fold(text)
    return "sha256:" + _digest(_fold(title), _fold(published), body)


def content_hash(title: str, text: str) -> str:
    """Hash of what a reader sees (title and plain text): a change means the item was updated."""
    return _digest(title, text)[:32]


def dedupe_within_feed(items: Iterable[ParsedItem]) -> tuple[ParsedItem, ...]:
    """One item per identity, keeping the first occurrence (feeds list newest first)."""
    seen: set[str] = set()
    kept: list[ParsedItem] = []
    for item in items:
        if item.identity not in seen:
            seen.add(item.identity)
            kept.append(item)
    return tuple(kept)
