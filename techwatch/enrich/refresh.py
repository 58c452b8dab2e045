"""The enrichment step after a run (flow or import): one call, I/O at this edge only.

For the items the run wrote: learn the products their advisories state, recognise vendors
and products in their title and text, then rebuild the CVE rows they touch (the CVEs they
name now or named before they changed). `since=None` does it for every item, after an
upgrade or when the alias table changed.
"""

from __future__ import annotations

import time
from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from concurrent.futures import Future
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Final, Protocol

import pyarrow as pa

from techwatch.enrich.cverows import cve_rows, cves_table, offloaded_cve_rows
from techwatch.enrich.names import canonical_pairs
from techwatch.enrich.products import MAX_TEXT_CHARS, Dictionary, Entry, Mention, learn, merge
from techwatch.ingest import batches
from techwatch.storage import Writer, open_writer
from techwatch.storage import cves as store

#: Items whose texts are in memory at once; CVEs aggregated per read.
ITEM_CHUNK: Final = 2_000
CVE_CHUNK: Final = 20_000
#: Chunks of CVE rows computed at once (in an offload's workers): bounds their inputs in memory.
IN_FLIGHT: Final = 2


@dataclass(frozen=True, slots=True)
class RefreshReport:
    """What a refresh did, with the time of each stage."""

    items: int
    mentions: int
    products_learnt: int
    dictionary_terms: int
    cves: int
    seconds: float
    stage_seconds: dict[str, float] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def refresh(db_path: Path, *, since: datetime | None, now: datetime | None = None) -> RefreshReport:
    """Refresh the dictionary, item mentions and CVE rows for items written since `since`
    (every item when None); `now` stamps the rows (refreshed_at, a product's first_seen)."""
    with open_writer(db_path) as writer:
        return refresh_with(writer, since=since, now=now)


class Offload(Protocol):
    """Where CPU work can run beside the caller: the import's parse pool (ParsePool.call)."""

    def call(self, function: Callable[..., Any], *args: Any) -> Future[Any]: ...


def refresh_with(
    writer: Writer,
    *,
    since: datetime | None,
    now: datetime | None = None,
    offload: Offload | None = None,
) -> RefreshReport:
    """`refresh` through an open writer: an import enriches through the connection that
    stored its batches, so that the file is checkpointed once, when the import closes it.

    With `offload`, the CVE rows are computed there while this process recognises products
    in the items' texts (the two need only the learnt dictionary entries in common).
    """
    now = now or datetime.now(UTC)
    t0 = time.perf_counter()
    stages: dict[str, float] = {}
    data = writer.enrichment()
    item_ids = data.changed_items(since)
    if since is not None and not item_ids:  # an unchanged night: nothing to learn or redo
        return RefreshReport(0, 0, 0, 0, 0, round(time.perf_counter() - t0, 3))
    known = [_entry(row) for row in data.products()]

    t = time.perf_counter()
    statements = data.statements(item_ids)
    entries, learnt = _learn(statements, known)
    cve_ids = data.cves_of(None if since is None else item_ids)
    names = {e.key: (e.vendor, e.product) for e in entries}
    chunks = batches(cve_ids, CVE_CHUNK)
    pending = [_cve_chunk(data, chunk, names, now, offload) for chunk in chunks[:IN_FLIGHT]]
    mentions = _recognise(data, item_ids, entries, statements)
    stages["products"] = time.perf_counter() - t

    t = time.perf_counter()
    tables: list[pa.Table] = []
    for chunk in chunks[IN_FLIGHT:]:  # the next chunk goes out before one is awaited
        pending.append(_cve_chunk(data, chunk, names, now, offload))
        tables.append(pending.pop(0).result())
    tables.extend(future.result() for future in pending)
    cves = pa.concat_tables(tables) if tables else cves_table([], now, store.CVES)
    stages["cves"] = time.perf_counter() - t

    t = time.perf_counter()
    data.save(
        item_ids=item_ids,
        products=_products_table(learnt),
        mentions=_mentions_table(mentions.rows),
        cve_ids=cve_ids,
        cves=cves,
        now=now,
    )
    stages["save"] = time.perf_counter() - t
    return RefreshReport(
        items=len(item_ids),
        mentions=len(mentions.rows),
        products_learnt=len(learnt),
        dictionary_terms=len(mentions.dictionary),
        cves=cves.num_rows,
        seconds=round(time.perf_counter() - t0, 3),
        stage_seconds={k: round(v, 3) for k, v in stages.items()},
    )


def _cve_chunk(
    data: store.Enrichment,
    chunk: Sequence[str],
    names: Mapping[tuple[str, str], tuple[str, str]],
    now: datetime,
    offload: Offload | None,
) -> Future[pa.Table]:
    """One chunk's CVE rows: computed in `offload` when given (enrich.cverows, which a worker
    imports without the store), else here (a done future)."""
    inputs = (chunk, *data.cve_inputs(chunk), names, now, store.CVES)
    if offload is not None:
        return offload.call(offloaded_cve_rows, *inputs)
    done: Future[pa.Table] = Future()
    done.set_result(cve_rows(*inputs))
    return done


@dataclass
class _Recognised:
    dictionary: Dictionary
    rows: list[tuple[str, Mention]]


def _learn(
    statements: Sequence[tuple[str, str, str, bool]], known: list[Entry]
) -> tuple[list[Entry], list[Entry]]:
    """Learn from the items' advisories (so an item's own products are known): all entries,
    and the new or changed ones."""
    by_key = {e.key: e for e in known}
    changed: list[Entry] = []
    for entry in learn((v, p, package) for _, v, p, package in statements):
        merged = merge(by_key.get(entry.key), entry)
        if merged != by_key.get(entry.key):
            by_key[entry.key] = merged
            changed.append(merged)
    return list(by_key.values()), changed


def _recognise(
    data: store.Enrichment,
    item_ids: Sequence[str],
    entries: list[Entry],
    statements: Iterable[tuple[str, str, str, bool]],
) -> _Recognised:
    """Recognise the dictionary's products in the items' texts, chunk by chunk, with what
    their advisories state."""
    dictionary = Dictionary(entries)
    stated = stated_mentions(statements)
    rows: list[tuple[str, Mention]] = []
    for texts in data.texts(item_ids, MAX_TEXT_CHARS, ITEM_CHUNK):
        rows.extend(item_mentions(dictionary, texts, stated))
    return _Recognised(dictionary, rows)


def stated_mentions(
    statements: Iterable[tuple[str, str, str, bool]],
) -> dict[str, list[Mention]]:
    """Mentions (field "affected") of what each item's advisories state as affected."""
    stated: dict[str, dict[tuple[str, str], Mention]] = defaultdict(dict)
    for item_id, vendor, product, package in statements:
        for name in canonical_pairs(vendor, product, package=package):
            stated[item_id].setdefault(name, Mention(name[0], name[1], product, "affected"))
    return {item_id: list(found.values()) for item_id, found in stated.items()}


def item_mentions(
    dictionary: Dictionary,
    texts: Iterable[tuple[str, str, str]],
    stated: dict[str, list[Mention]],
) -> list[tuple[str, Mention]]:
    """(item id, mention) for what each item names in its text and states as affected."""
    rows: list[tuple[str, Mention]] = []
    for item_id, title, text in texts:
        found = dictionary.recognise([("title", title), ("text", text)])
        rows.extend((item_id, m) for m in found)
        rows.extend((item_id, m) for m in stated.get(item_id, ()))
    return rows


def _entry(row: dict[str, Any]) -> Entry:
    return Entry(row["vendor"], row["product"], tuple(row["names"] or ()), bool(row["package"]))


def _products_table(entries: Sequence[Entry]) -> pa.Table:
    rows = [
        {
            "vendor_key": e.key[0],
            "product_key": e.key[1],
            "vendor": e.vendor,
            "product": e.product,
            "names": list(e.names),
            "package": e.package,
        }
        for e in entries
    ]
    return pa.Table.from_pylist(rows, schema=store.PRODUCTS)


def _mentions_table(rows: Sequence[tuple[str, Mention]]) -> pa.Table:
    columns: dict[str, list[str]] = {name: [] for name in store.MENTIONS.names}
    for item_id, m in rows:
        columns["item_id"].append(item_id)
        columns["vendor"].append(m.vendor)
        columns["product"].append(m.product)
        columns["term"].append(m.term)
        columns["field"].append(m.field)
    return pa.table(columns, schema=store.MENTIONS)
