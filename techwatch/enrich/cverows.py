"""A chunk's CVE rows from its stored inputs: pure, and light to import.

The import computes them in its parse workers (refresh_with's offload). A worker loads this
module on its first chunk; it imports pyarrow and the aggregation only, not the store (duckdb,
the readers, story grouping): importing `techwatch.enrich.refresh` there cost each worker
~0.6 s of CPU. The table's schema therefore comes from the caller (storage.cves.CVES).
"""

from __future__ import annotations

import gc
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any, Final

import pyarrow as pa

from techwatch.enrich.cves import (
    CveFact,
    CveRecord,
    Display,
    ProductsMemo,
    Sightings,
    aggregate,
    display_from,
)
from techwatch.types import CvssScore, KevEntry


def cve_rows(
    cve_ids: Sequence[str],
    facts: pa.Table,
    lists: pa.Table,
    seen: pa.Table,
    names: Mapping[tuple[str, str], tuple[str, str]],
    now: datetime,
    schema: pa.Schema,
) -> pa.Table:
    """The CVE rows of one chunk from its stored inputs (Enrichment.cve_inputs), as the
    table of `schema` that `save` takes: pure, and small to send back from a worker."""
    facts_list = facts_from_table(facts, lists)
    sightings = sightings_from_table(seen)
    return cves_table(cve_records(cve_ids, facts_list, sightings, display_from(names)), now, schema)


def offloaded_cve_rows(*inputs: Any) -> pa.Table:
    """`cve_rows` in a worker, its cyclic collector paused meanwhile: the rows are built of
    ~100k short-lived objects, and at Python's default pace collections cost a fifth more
    (the importer paces the parent's collector likewise)."""
    gc.disable()
    try:
        return cve_rows(*inputs)
    finally:
        gc.enable()


def cve_records(
    cve_ids: Sequence[str],
    facts: Iterable[CveFact],
    sightings: Mapping[str, Sightings],
    display: Display | None = None,
) -> list[CveRecord]:
    """Aggregate stated facts and sightings into CVE rows (None-rows dropped)."""
    by_cve: dict[str, list[CveFact]] = defaultdict(list)
    for fact in facts:
        by_cve[fact.cve_id].append(fact)
    memo: ProductsMemo = {}
    records = (aggregate(c, by_cve.get(c, []), sightings.get(c), display, memo) for c in cve_ids)
    return [r for r in records if r is not None]


def sightings_from_table(table: pa.Table) -> dict[str, Sightings]:
    """The stored mentions of CVEs (cve_id, item_id, source_id, first_seen as naive UTC: see
    storage.cves.cve_mentions) summed up per CVE.

    Arrow sorts them (CVE, then newest first, then item id descending), so each CVE's rows
    are one run already in order: one object per CVE, not one per mention (59k over the
    real advisories), nor a sort per CVE: ~3x less CPU in the import's workers."""
    first_seen = table.column("first_seen").cast(pa.timestamp("us", tz="UTC"))
    ordered = pa.table(
        {
            "cve_id": table.column("cve_id"),
            "item_id": table.column("item_id"),
            "source_id": table.column("source_id"),
            "first_seen": first_seen,
        }
    ).sort_by([("cve_id", "ascending"), ("first_seen", "descending"), ("item_id", "descending")])
    cves = _pylist(ordered, "cve_id")
    items = _pylist(ordered, "item_id")
    sources = _pylist(ordered, "source_id")
    seen_at = _pylist(ordered, "first_seen")
    found: dict[str, Sightings] = {}
    for start, end in _runs(cves):
        found[cves[start]] = Sightings(
            first_seen=seen_at[end - 1],
            last_seen=seen_at[start],
            item_ids=tuple(dict.fromkeys(items[start:end])),
            sources=tuple(sorted(set(sources[start:end]))),
        )
    return found


def _runs(values: Sequence[str]) -> list[tuple[int, int]]:
    """(start, end) of each run of equal consecutive values."""
    cuts = [i for i in range(1, len(values)) if values[i] != values[i - 1]]
    starts = [0, *cuts]
    return list(zip(starts, [*cuts, len(values)], strict=True)) if values else []


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


def cves_table(records: Sequence[CveRecord], now: datetime, schema: pa.Schema) -> pa.Table:
    """The CVE rows as a table of `schema` (storage.cves.CVES), built column by column: a
    list of row dicts costs twice as much at 20k CVEs (a bulk import's enrichment)."""
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
        "products": _pairs_column([r.products for r in records], schema.field("products").type),
        "first_seen": [r.first_seen for r in records],
        "last_seen": [r.last_seen for r in records],
        "item_ids": [list(r.item_ids) for r in records],
        "items": [len(r.item_ids) for r in records],
        "sources": [list(r.sources) for r in records],
        "refreshed_at": [now] * len(records),
    }
    return pa.Table.from_pydict(columns, schema=schema)


def _pairs_column(rows: Sequence[tuple[tuple[str, str], ...]], kind: pa.ListType) -> pa.ListArray:
    """Lists of (vendor, product) as an Arrow list of structs (`kind`), from flat columns
    (row dicts cost ~4x more at a bulk import's 20k CVEs)."""
    offsets = [0]
    for pairs in rows:
        offsets.append(offsets[-1] + len(pairs))
    flat = [pair for pairs in rows for pair in pairs]
    values = pa.StructArray.from_arrays(
        [pa.array([v for v, _ in flat], pa.string()), pa.array([p for _, p in flat], pa.string())],
        fields=list(kind.value_type),
    )
    return pa.ListArray.from_arrays(pa.array(offsets, pa.int32()), values)
