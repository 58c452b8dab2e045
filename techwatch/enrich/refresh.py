"""The enrichment step after a run (flow or import): one call, I/O at this edge only.

For the items the run wrote: learn the products their advisories state, recognise vendors
and products in their title and text, then rebuild the CVE rows they touch (the CVEs they
name now or named before they changed). `since=None` does it for every item, after an
upgrade or when the alias table changed.
"""

from __future__ import annotations

import gc
import time
from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from concurrent.futures import Future
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Final, Protocol

import pyarrow as pa

from techwatch.enrich.cves import (
    CveFact,
    CveMention,
    CveRecord,
    Display,
    ProductsMemo,
    aggregate,
    display_from,
)
from techwatch.enrich.names import canonical_pairs
from techwatch.enrich.products import MAX_TEXT_CHARS, Dictionary, Entry, Mention, learn, merge
from techwatch.ingest import batches
from techwatch.storage import Writer, open_writer
from techwatch.storage import cves as store
from techwatch.types import CvssScore, KevEntry

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
    cves = pa.concat_tables(tables) if tables else cves_table([], now)
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


def cve_rows(
    cve_ids: Sequence[str],
    facts: pa.Table,
    lists: pa.Table,
    seen: Iterable[tuple[str, str, str, datetime]],
    names: Mapping[tuple[str, str], tuple[str, str]],
    now: datetime,
) -> pa.Table:
    """The CVE rows of one chunk from its stored inputs (Enrichment.cve_inputs), as the
    table `save` takes: pure, and small to send back from a worker."""
    facts_list = facts_from_table(facts, lists)
    return cves_table(cve_records(cve_ids, facts_list, seen, display_from(names)), now)


def _offloaded_cve_rows(*inputs: Any) -> pa.Table:
    """`cve_rows` in a worker, its cyclic collector paused meanwhile: the rows are built of
    ~100k short-lived objects, and at Python's default pace collections cost a fifth more
    (the importer paces the parent's collector likewise)."""
    gc.disable()
    try:
        return cve_rows(*inputs)
    finally:
        gc.enable()


def _cve_chunk(
    data: store.Enrichment,
    chunk: Sequence[str],
    names: Mapping[tuple[str, str], tuple[str, str]],
    now: datetime,
    offload: Offload | None,
) -> Future[pa.Table]:
    """One chunk's CVE rows: computed in `offload` when given, else here (a done future)."""
    inputs = (chunk, *data.cve_inputs(chunk), names, now)
    if offload is not None:
        return offload.call(_offloaded_cve_rows, *inputs)
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


def cve_records(
    cve_ids: Sequence[str],
    facts: Iterable[CveFact],
    mentions: Iterable[tuple[str, str, str, datetime]],
    display: Display | None = None,
) -> list[CveRecord]:
    """Aggregate stated facts and mentions into CVE rows (None-rows dropped)."""
    by_cve: dict[str, list[CveFact]] = defaultdict(list)
    for fact in facts:
        by_cve[fact.cve_id].append(fact)
    seen: dict[str, list[CveMention]] = defaultdict(list)
    for cve_id, item_id, source_id, first_seen in mentions:
        seen[cve_id].append(CveMention(cve_id, item_id, source_id, first_seen))
    memo: ProductsMemo = {}
    records = (aggregate(c, by_cve.get(c, []), seen.get(c, []), display, memo) for c in cve_ids)
    return [r for r in records if r is not None]


def facts_from_table(table: pa.Table, lists: pa.Table) -> list[CveFact]:
    """The stored fact rows and their product lists (see storage.cves.cve_facts) as
    CveFacts, built column by column.

    Each list becomes one tuple, shared by the facts that name it and by equal lists, so
    that the cached canonicalisation (enrich.cves.affected_products) meets it again.
    """
    column = {name: _pylist(table, name) for name in table.column_names}
    by_number = dict(
        zip(
            zip(_pylist(lists, "item_id"), _pylist(lists, "list_no"), strict=True),
            _pairs(lists.column("products")),
            strict=True,
        )
    )
    products = [
        by_number.get((item_id, number), ())
        for item_id, number in zip(column["item_id"], column["affected_no"], strict=True)
    ]
    kevs = [
        None
        if added is None
        else KevEntry(
            date_added=added,
            due_date=due,
            required_action=action or "",
            ransomware=ransomware,
            vendor=vendor or "",
            product=product or "",
            name=name or "",
            notes=notes or "",
        )
        for added, due, action, ransomware, vendor, product, name, notes in zip(
            *(column[f"kev_{n}"] for n in KEV_FIELDS), strict=True
        )
    ]
    return [
        CveFact(
            cve_id=cve_id,
            item_id=item_id,
            source_id=source_id,
            kind=kind,
            title=title,
            description=description,
            published=published,
            modified=modified,
            cvss=tuple(CvssScore(**score) for score in cvss) if cvss else (),
            cwes=tuple(cwes) if cwes else (),
            products=pairs,
            kev=kev,
            exploitation=exploitation,
        )
        for (
            cve_id,
            item_id,
            source_id,
            kind,
            title,
            description,
            published,
            modified,
            cvss,
            cwes,
            pairs,
            kev,
            exploitation,
        ) in zip(
            *(column[n] for n in FACT_COLUMNS[:10]),
            products,
            kevs,
            column["exploitation"],
            strict=True,
        )
    ]


FACT_COLUMNS: Final = (
    "cve_id",
    "item_id",
    "source_id",
    "kind",
    "title",
    "description",
    "published",
    "modified",
    "cvss",
    "cwes",
)
KEV_FIELDS: Final = (
    "date_added",
    "due_date",
    "required_action",
    "ransomware",
    "vendor",
    "product",
    "name",
    "notes",
)


def _pylist(table: pa.Table, name: str) -> list[Any]:
    """One column as Python values; timestamps as UTC datetimes, each distinct one converted
    once and naive (pyarrow's time-zone-aware conversion costs ~5x more; an advisory dates
    all its CVEs alike)."""
    values = table.column(name)
    if not (pa.types.is_timestamp(values.type) and values.type.tz is not None):
        return values.to_pylist()
    naive = values.cast(pa.timestamp(values.type.unit)).combine_chunks().dictionary_encode()
    distinct = [v.replace(tzinfo=UTC) for v in naive.dictionary.to_pylist()]
    return [None if i is None else distinct[i] for i in naive.indices.to_pylist()]


def _pairs(column: pa.ChunkedArray) -> list[tuple[tuple[str, str], ...]]:
    """Each row's list of {vendor, product} as (vendor, product) pairs, "" for a null name;
    equal lists share one tuple."""
    array = column.combine_chunks() if column.num_chunks != 1 else column.chunk(0)
    if len(array) == 0:
        return []
    starts = array.offsets.to_pylist()
    nulls = array.is_null().to_pylist()
    flat = array.values
    vendors = [v or "" for v in flat.field("vendor").to_pylist()]
    names = [p or "" for p in flat.field("product").to_pylist()]
    shared: dict[tuple[tuple[str, str], ...], tuple[tuple[str, str], ...]] = {}
    rows: list[tuple[tuple[str, str], ...]] = []
    for row, null in enumerate(nulls):
        if null:
            rows.append(())
            continue
        lo, hi = starts[row], starts[row + 1]
        pairs = tuple(zip(vendors[lo:hi], names[lo:hi], strict=True))
        rows.append(shared.setdefault(pairs, pairs))
    return rows


def cves_table(records: Sequence[CveRecord], now: datetime) -> pa.Table:
    """The CVE rows, built column by column: a list of row dicts costs twice as much at
    20k CVEs (a bulk import's enrichment)."""
    cvss = [r.cvss for r in records]
    kev = [r.kev for r in records]
    columns: dict[str, list[Any]] = {
        "cve_id": [r.cve_id for r in records],
        "title": [r.title for r in records],
        "description": [r.description for r in records],
        "description_from": [r.description_from for r in records],
        "published": [r.published for r in records],
        "modified": [r.modified for r in records],
        "cvss_version": [c.version if c else None for c in cvss],
        "cvss_vector": [c.vector if c else None for c in cvss],
        "cvss_score": [c.base_score if c else None for c in cvss],
        "cvss_severity": [c.severity if c else None for c in cvss],
        "cvss_source": [c.source if c else None for c in cvss],
        "cwes": [list(r.cwes) for r in records],
        "kev": [k is not None for k in kev],
        "kev_date_added": [k.date_added if k else None for k in kev],
        "kev_due_date": [k.due_date if k else None for k in kev],
        "kev_required_action": [(k.required_action or None) if k else None for k in kev],
        "kev_ransomware": [k.ransomware if k else None for k in kev],
        "exploitation": [r.exploitation for r in records],
        "vendors": [list(r.vendors) for r in records],
        "products": _pairs_column([r.products for r in records]),
        "first_seen": [r.first_seen for r in records],
        "last_seen": [r.last_seen for r in records],
        "item_ids": [list(r.item_ids) for r in records],
        "items": [len(r.item_ids) for r in records],
        "sources": [list(r.sources) for r in records],
        "refreshed_at": [now] * len(records),
    }
    return pa.Table.from_pydict(columns, schema=store.CVES)


def _pairs_column(rows: Sequence[tuple[tuple[str, str], ...]]) -> pa.ListArray:
    """Lists of (vendor, product) as an Arrow list of structs, from flat columns (row dicts
    cost ~4x more at a bulk import's 20k CVEs)."""
    offsets = [0]
    for pairs in rows:
        offsets.append(offsets[-1] + len(pairs))
    flat = [pair for pairs in rows for pair in pairs]
    values = pa.StructArray.from_arrays(
        [pa.array([v for v, _ in flat], pa.string()), pa.array([p for _, p in flat], pa.string())],
        fields=list(store.PAIR),
    )
    return pa.ListArray.from_arrays(pa.array(offsets, pa.int32()), values)


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
