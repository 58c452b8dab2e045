"""Turn stage records into Arrow tables, so that rows reach DuckDB in bulk.

DuckDB inserts a registered Arrow table at ~500k rows/s against ~1.6k rows/s for executemany.
Everything here is pure: records in, tables out.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping, Sequence

import pyarrow as pa

from techwatch.dedupe import item_id
from techwatch.types import ParsedItem, Source, SourceOutcome, SourceState

TS = pa.timestamp("us", tz="UTC")
STRINGS = pa.list_(pa.string())

ITEMS = pa.schema(
    [
        ("id", pa.string()),
        ("source_id", pa.string()),
        ("identity", pa.string()),
        ("url", pa.string()),
        ("canonical_url", pa.string()),
        ("title", pa.string()),
        ("text", pa.string()),
        ("html", pa.string()),
        ("published", TS),
        ("language", pa.string()),
        ("authors", STRINGS),
        ("cves", STRINGS),
        ("content_hash", pa.string()),
    ]
)

SOURCES = pa.schema(
    [
        ("id", pa.string()),
        ("name", pa.string()),
        ("kind", pa.string()),
        ("url", pa.string()),
        ("category", pa.string()),
        ("language", pa.string()),
        ("vendors", STRINGS),
        ("products", STRINGS),
        ("enabled", pa.bool_()),
        ("poll_interval_s", pa.int32()),
        ("confirmed", pa.bool_()),
    ]
)

STATES = pa.schema(
    [
        ("source_id", pa.string()),
        ("url", pa.string()),
        ("etag", pa.string()),
        ("last_modified", pa.string()),
        ("last_attempt", TS),
        ("last_success", TS),
        ("last_status", pa.string()),
        ("last_error_kind", pa.string()),
        ("last_error", pa.string()),
        ("consecutive_failures", pa.int32()),
        ("next_attempt", TS),
        ("degraded", pa.bool_()),
        ("items_seen", pa.int64()),
        ("cursor", pa.string()),
    ]
)

RUN_SOURCES = pa.schema(
    [
        ("source_id", pa.string()),
        ("status", pa.string()),
        ("http_status", pa.int32()),
        ("error_kind", pa.string()),
        ("error", pa.string()),
        ("transient", pa.bool_()),
        ("duration_s", pa.float64()),
        ("fetch_s", pa.float64()),
        ("parse_s", pa.float64()),
        ("bytes", pa.int64()),
        ("entries", pa.int32()),
        ("warnings", STRINGS),
        ("started_at", TS),
        ("new_items", pa.int32()),
        ("updated_items", pa.int32()),
    ]
)


def use_system_allocator() -> None:
    """Make Arrow allocate with the C library's malloc from now on, for the whole process.

    Why: Arrow's default pool (mimalloc) keeps the pages of freed tables for later ones, so
    what every batch and grouping chunk staged stayed resident for the rest of the night. On
    the ingestion bench (15k items) the stories stage peaked at 659 MiB with it and at 493 MiB
    with malloc, which returns large blocks at once, for the same CPU.
    """
    pa.set_memory_pool(pa.system_memory_pool())


def content_hash(item: ParsedItem) -> str:
    """The parser's hash, or one over the stored content when the parser left it empty.

    Without it, every item would compare equal to its previous version and never be updated.
    """
    if item.content_hash:
        return item.content_hash
    parts = (item.title, item.text, item.html, item.url or "", item.canonical_url or "")
    return hashlib.sha256("\x00".join(parts).encode()).hexdigest()


def unique_items(outcomes: Iterable[SourceOutcome]) -> dict[str, ParsedItem]:
    """The items of the outcomes by item_id; of repeated ids, the first wins.

    A feed may carry the same entry twice (case 21); the primary key must see it once.
    """
    rows: dict[str, ParsedItem] = {}
    for outcome in outcomes:
        for item in outcome.items:
            rows.setdefault(item_id(item.source_id, item.identity), item)
    return rows


def stage_items(rows: Mapping[str, ParsedItem]) -> pa.Table:
    """The unique items in one table keyed by item_id."""
    items = list(rows.values())
    columns = {
        "id": list(rows),
        "source_id": [i.source_id for i in items],
        "identity": [i.identity for i in items],
        "url": [i.url for i in items],
        "canonical_url": [i.canonical_url for i in items],
        "title": [i.title for i in items],
        "text": _utf8([i.text for i in items]),
        "html": _utf8([i.html for i in items]),
        "published": [i.published for i in items],
        "language": [i.language for i in items],
        "authors": [list(i.authors) for i in items],
        "cves": [list(i.cves) for i in items],
        "content_hash": [content_hash(i) for i in items],
    }
    return pa.table(columns, schema=ITEMS)


def _utf8(texts: list[str]) -> pa.Array:
    """Long texts as an Arrow string column, through bytes encoded here.

    Arrow reads a Python str through a UTF-8 copy that CPython then keeps inside the str for
    its lifetime: the items' texts and HTML held ~12 MiB more per 3,000 feed items for as long
    as the items lived (the caller's batch, at least to the commit). A bytes copy dies here.
    """
    return pa.array([text.encode() for text in texts], pa.binary()).view(pa.string())


def stage_sources(sources: Sequence[Source]) -> pa.Table:
    """The configured sources; if an id repeats (config validation forbids it) the last wins."""
    by_id = {s.id: s for s in sources}
    rows = list(by_id.values())
    columns = {
        "id": [s.id for s in rows],
        "name": [s.name for s in rows],
        "kind": [s.kind for s in rows],
        "url": [s.url for s in rows],
        "category": [s.category for s in rows],
        "language": [s.language for s in rows],
        "vendors": [list(s.vendors) for s in rows],
        "products": [list(s.products) for s in rows],
        "enabled": [s.enabled for s in rows],
        "poll_interval_s": [s.poll_interval_s for s in rows],
        "confirmed": [s.confirmed for s in rows],
    }
    return pa.table(columns, schema=SOURCES)


def stage_states(states: Sequence[SourceState]) -> pa.Table:
    """One row per source id, the last state given winning (an upsert cannot see a key twice)."""
    by_id = {s.source_id: s for s in states}
    rows = list(by_id.values())
    columns = {name: [getattr(s, name) for s in rows] for name in STATES.names}
    return pa.table(columns, schema=STATES)


def stage_run_sources(
    outcomes: Sequence[SourceOutcome], counts: Mapping[str, Mapping[str, int]]
) -> pa.Table:
    """One row per outcome, in the given order, with its source's new and updated counts."""
    computed = ("warnings", "new_items", "updated_items")
    columns: dict[str, list[object]] = {
        name: [getattr(o, name) for o in outcomes]
        for name in RUN_SOURCES.names
        if name not in computed
    }
    columns["warnings"] = [list(o.warnings) for o in outcomes]
    columns["new_items"] = [counts["new"].get(o.source_id, 0) for o in outcomes]
    columns["updated_items"] = [counts["updated"].get(o.source_id, 0) for o in outcomes]
    return pa.table(columns, schema=RUN_SOURCES)


#: The changes of a staged item (see writer._classify) that write it: a batch holding neither
#: skips the statements that write (writer, vulns).
WRITTEN = frozenset({"new", "updated"})


def counts_by_source(
    rows: Iterable[tuple[str, str, int]], source_ids: Iterable[str]
) -> Mapping[str, dict[str, int]]:
    """(source_id, change, n) rows -> {change: {source_id: n}}, every source present with 0."""
    counts: dict[str, dict[str, int]] = {
        change: dict.fromkeys(source_ids, 0) for change in ("new", "updated", "unchanged")
    }
    for source_id, change, n in rows:
        counts[change][source_id] = n
    return counts
