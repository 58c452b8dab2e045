"""Builders of stage records for store tests, shared with the worker processes."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path

from techwatch.types import ParsedItem, Source, SourceOutcome, SourceState

T0 = datetime(2026, 11, 26, 3, 0, tzinfo=UTC)


def item(
    source_id: str,
    identity: str,
    *,
    title: str | None = None,
    text: str = "body",
    canonical_url: str | None = None,
    published: datetime | None = None,
    content_hash: str | None = None,
) -> ParsedItem:
    """An item whose content hash follows its text unless given."""
    return ParsedItem(
        source_id=source_id,
        identity=identity,
        url=f"https://{source_id}.example/{identity}",
        canonical_url=canonical_url,
        title=title if title is not None else f"item {identity}",
        text=text,
        html=f"<p>{text}</p>",
        published=published,
        language="en",
        authors=("Ada",),
        cves=("CVE-2026-0001",),
        content_hash=content_hash if content_hash is not None else f"h:{text}",
    )


def outcome(source_id: str, items: Sequence[ParsedItem] = (), **fields: object) -> SourceOutcome:
    """A successful outcome unless fields say otherwise."""
    defaults: dict[str, object] = {"status": "ok", "started_at": T0, "duration_s": 0.5}
    defaults.update(fields)
    return SourceOutcome(source_id=source_id, items=tuple(items), **defaults)  # type: ignore[arg-type]


def source(source_id: str, **fields: object) -> Source:
    defaults: dict[str, object] = {
        "name": source_id.upper(),
        "kind": "feed",
        "url": f"https://{source_id}.example/feed",
        "category": "vendor",
    }
    defaults.update(fields)
    return Source(id=source_id, **defaults)  # type: ignore[arg-type]


def state(source_id: str, **fields: object) -> SourceState:
    return SourceState(source_id=source_id, **fields)  # type: ignore[arg-type]


def batch(tag: str, n: int, source_id: str = "s1") -> list[SourceOutcome]:
    """One outcome of `n` items whose identities and words carry `tag`."""
    items = [
        item(source_id, f"{tag}-{i}", title=f"{tag} title {i}", text=f"{tag} text {i}")
        for i in range(n)
    ]
    return [outcome(source_id, items, entries=n)]


def real_feed_items(realdata: Path) -> list[ParsedItem]:
    """Every entry of realdata's feeds, parsed as one source's (feeds the parser refuses have
    none): real titles and texts for the search index's tests."""
    # Imported here: the store's worker processes import this module and parse no feed.
    from techwatch.errors import ParseError
    from techwatch.parse.feeds import parse_feed

    found: list[ParsedItem] = []
    for path in sorted((realdata / "feeds").rglob("*")):
        if not path.is_file():
            continue
        try:
            feed = parse_feed("s1", path.read_bytes(), url="https://example.org/", fetched_at=T0)
        except ParseError:
            continue
        found += feed.items
    return found
