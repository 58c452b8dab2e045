"""techwatch.dedupe: identities stable across fetches, content hashes, in-feed duplicates."""

from __future__ import annotations

from dataclasses import replace

from techwatch.dedupe import (
    MAX_IDENTITY_CHARS,
    content_hash,
    dedupe_within_feed,
    entry_identity,
    item_id,
)
from techwatch.types import ParsedItem


def _item(identity: str, title: str = "t") -> ParsedItem:
    return ParsedItem(
        source_id="src",
        identity=identity,
        url=None,
        canonical_url=None,
        title=title,
        text="",
        html="",
        published=None,
        language=None,
    )


def test_item_id_is_unchanged() -> None:
    """Stored keys depend on it: this value must never change."""
    assert item_id("cert-fr", "CERTFR-2026-AVI-0001") == "07136a970a6ff5e18be7"


def test_identity_prefers_the_publisher_id_then_the_canonical_link() -> None:
    kwargs = {"title": "t", "published": "", "text": ""}
    assert entry_identity(" guid-1 ", "https://x.ch/a", **kwargs) == "guid-1"
    assert entry_identity("", "https://x.ch/a", **kwargs) == "https://x.ch/a"
    assert entry_identity(None, "https://x.ch/a", **kwargs) == "https://x.ch/a"


def test_identity_without_id_and_link_is_stable_and_ignores_the_body() -> None:
    """Case 20 and 22: a re-fetch gives the same identity even when the body changed."""
    day, next_day = "Tue, 24 Nov 2026", "Wed, 25 Nov 2026"
    first = entry_identity(None, None, title="Panne  Mail", published=day, text="a")
    again = entry_identity(None, None, title="panne mail", published=day, text="b")
    other_day = entry_identity(None, None, title="Panne mail", published=next_day, text="a")
    assert first == again
    assert first.startswith("sha256:")
    assert other_day != first


def test_identity_without_title_uses_the_text() -> None:
    one = entry_identity(None, None, title="", published="", text="first body")
    two = entry_identity(None, None, title=" ", published="", text="second body")
    assert one != two


def test_overlong_ids_are_hashed() -> None:
    long_id = "x" * (MAX_IDENTITY_CHARS + 1)
    identity = entry_identity(long_id, None, title="", published="", text="")
    assert identity.startswith("sha256:") and len(identity) < MAX_IDENTITY_CHARS
    assert identity == entry_identity(long_id, None, title="other", published="", text="")


def test_content_hash_changes_with_what_a_reader_sees() -> None:
    assert content_hash("Title", "Body") == content_hash("Title", "Body")
    assert content_hash("Title", "Body") != content_hash("Title", "Body, updated")
    assert content_hash("Title", "Body") != content_hash("Title!", "Body")
    assert content_hash("ab", "c") != content_hash("a", "bc")


def test_dedupe_within_feed_keeps_the_first_of_each_identity() -> None:
    """Case 21: the same id twice in one feed gives one item, the first one."""
    items = [_item("a", "first"), _item("b"), _item("a", "second"), _item("c"), _item("b")]
    kept = dedupe_within_feed(items)
    assert [i.identity for i in kept] == ["a", "b", "c"]
    assert kept[0].title == "first"


def test_dedupe_within_feed_keeps_the_same_identity_from_two_sources() -> None:
    one = _item("shared-guid")
    two = replace(one, source_id="other")
    assert dedupe_within_feed([one]) == (one,)
    assert item_id(one.source_id, one.identity) != item_id(two.source_id, two.identity)
