"""A chunk's CVE rows from its stored inputs: pure, and light to import.

The import computes them in its parse workers (refresh_with's offload). A worker loads this
module on its first chunk; it imports pyarrow and the aggregation only, not the store (duckdb,
the readers, story grouping): importing `techwatch.enrich.refresh` there cost each worker
~0.6 s of CPU. The table's schema therefore comes from the caller (storage.cves.CVES).
"""

from __future__ import annotations

import pickle
from collections import defaultdict
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any, Final

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from techwatch import gcpacing
from techwatch.enrich.cves import CveFact, ProductsMemo, Stated, display_from, stated
from techwatch.enrich.names import adopt
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
    table of `schema` that `save` takes: pure, and small to send back from a worker.

    A row is what its CVE's facts state (enrich.cves.stated) beside its sightings; a CVE
    no item mentions any more has none. CVEs stated by the same facts (a CERT-FR bulletin's)
    share what they state: computed once per distinct list of facts (4.3k and 3.2k for the
    ~10.6k CVEs of each of the real advisories' chunks), its columns taken per CVE."""
    sightings, seen_rows = sightings_table(seen, schema)
    kept = [c for c in cve_ids if c in sightings]
    bodies, by_cve = fact_bodies(facts, lists)
    combos: dict[tuple[int, ...], int] = {}
    picks = [combos.setdefault(by_cve.get(c, ()), len(combos)) for c in kept]
    display = display_from(names)
    memo: ProductsMemo = {}
    statements = [stated([bodies[i] for i in combo], display, memo) for combo in combos]
    seen_picks = [sightings[c] for c in kept]
    return cves_table(
        kept, statements, picks, seen_rows.take(pa.array(seen_picks, pa.int64())), now, schema
    )


def offloaded_cve_rows(pairs: bytes, *inputs: Any) -> pa.Table:
    """`cve_rows` in a worker, given the canonical `pairs` of the statements that the
    dictionary's worker learnt (products.offloaded_relearn), its collector paused: the rows
    are built of ~100k short-lived objects (the importer paces the parent's collector too)."""
    adopt(pickle.loads(pairs))
    with gcpacing.paused():
        return cve_rows(*inputs)


def fact_bodies(
    facts: pa.Table, lists: pa.Table
) -> tuple[list[CveFact], dict[str, tuple[int, ...]]]:
    """The distinct facts of a table of them (see `facts_from_table`), rows equal but for
    their CVE id being one, and by CVE the indexes of its facts, in the table's order.

    A CERT-FR avis states the same for each of its CVEs: over the real advisories' chunks,
    22k and 37k rows are 3.7k and 1.6k distinct facts. Rows are told apart by codes of
    their values (Arrow's dictionary encoding, one numpy sort), and only the distinct ones
    become Python objects."""
    if facts.num_rows == 0:
        return [], {}
    codes = np.column_stack([_codes(facts.column(n)) for n in facts.column_names if n != "cve_id"])
    _, first, inverse = np.unique(codes, axis=0, return_index=True, return_inverse=True)
    bodies = facts_from_table(facts.take(pa.array(first)), lists)
    by_cve: dict[str, list[int]] = defaultdict(list)
    for cve_id, body in zip(_pylist(facts, "cve_id"), inverse.reshape(-1).tolist(), strict=True):
        by_cve[cve_id].append(body)
    return bodies, {cve_id: tuple(found) for cve_id, found in by_cve.items()}


def _codes(column: pa.ChunkedArray | pa.Array) -> np.ndarray:
    """One integer per value, equal for equal values (null: -1), of a column of scalars,
    structs or lists of them."""
    array = column.combine_chunks() if isinstance(column, pa.ChunkedArray) else column
    if pa.types.is_list(array.type) or pa.types.is_large_list(array.type):
        return _list_codes(array)
    if pa.types.is_struct(array.type):
        fields = [_codes(field) for field in array.flatten()]
        valid = array.is_valid().to_numpy(zero_copy_only=False).astype(np.int64)
        return _row_codes(np.column_stack([valid, *fields]))
    indices = array.dictionary_encode().indices.fill_null(-1)
    return indices.to_numpy(zero_copy_only=False).astype(np.int64)


def _list_codes(array: pa.ListArray | pa.LargeListArray) -> np.ndarray:
    """`_codes` of lists: an empty list 0, a null one -1, the others by their elements'."""
    elements = _codes(array.values).tolist()
    starts = array.offsets.to_numpy(zero_copy_only=False).tolist()
    nulls = array.is_null().to_numpy(zero_copy_only=False)
    found: dict[tuple[int, ...], int] = {(): 0}
    codes = np.zeros(len(array), dtype=np.int64)
    for row in np.flatnonzero(np.diff(starts)).tolist():
        values = tuple(elements[starts[row] : starts[row + 1]])
        codes[row] = found.setdefault(values, len(found))
    codes[nulls] = -1
    return codes


def _row_codes(matrix: np.ndarray) -> np.ndarray:
    """One code per row of an integer matrix, equal for equal rows."""
    if len(matrix) == 0:
        return np.zeros(0, dtype=np.int64)
    inverse = np.unique(matrix, axis=0, return_inverse=True)[1]
    return inverse.reshape(-1).astype(np.int64)


#: The columns of the CVE table that a CVE's sightings fill (see `sightings_table`).
SIGHTING_COLUMNS: Final = ("first_seen", "last_seen", "item_ids", "items", "sources")


def sightings_table(table: pa.Table, schema: pa.Schema) -> tuple[dict[str, int], pa.Table]:
    """The stored mentions of CVEs (cve_id, item_id, source_id, first_seen as naive UTC: see
    storage.cves.cve_mentions) summed up per CVE: its row in a table of SIGHTING_COLUMNS (of
    `schema`), by CVE id. A CVE was first and last seen when its first and latest items
    were; its items come newest first, ties by item id, descending, each once; its sources
    sorted, each once.

    Built with Arrow sorts and numpy, Python values only for the CVE ids: one Sightings
    object per CVE (a tuple of items, a sorted set of sources) cost 0.04-0.09 s for each
    chunk of the real advisories (10.6k CVEs, 22k-37k mentions), this 0.015-0.034 s."""
    first_seen = table.column("first_seen").cast(pa.timestamp("us", tz="UTC"))
    ordered = pa.table(
        {
            "cve_id": table.column("cve_id"),
            "item_id": table.column("item_id"),
            "source_id": table.column("source_id"),
            "first_seen": first_seen,
        }
    ).sort_by([("cve_id", "ascending"), ("first_seen", "descending"), ("item_id", "descending")])
    starts = _run_starts(_codes(ordered.column("cve_id")))
    ends = np.append(starts[1:], ordered.num_rows)[: len(starts)] - 1
    seen_at = ordered.column("first_seen")
    items = _first_of_each(ordered, "item_id")
    by_source = ordered.sort_by([("cve_id", "ascending"), ("source_id", "ascending")])
    columns = {
        "first_seen": seen_at.take(pa.array(ends)),
        "last_seen": seen_at.take(pa.array(starts)),
        "item_ids": items,
        "items": pc.list_value_length(items),
        "sources": _first_of_each(by_source, "source_id"),
    }
    found = pa.Table.from_arrays(
        [columns[n].cast(schema.field(n).type) for n in SIGHTING_COLUMNS],
        schema=pa.schema([schema.field(n) for n in SIGHTING_COLUMNS]),
    )
    ids = ordered.column("cve_id").take(pa.array(starts)).to_pylist()
    return {cve_id: row for row, cve_id in enumerate(ids)}, found


def _run_starts(codes: np.ndarray) -> np.ndarray:
    """Where each run of equal consecutive codes starts."""
    return np.flatnonzero(np.concatenate((codes[:1] == codes[:1], codes[1:] != codes[:-1])))


def _first_of_each(ordered: pa.Table, name: str) -> pa.ListArray:
    """Per CVE (a run of `ordered`, sorted by CVE id), the values of column `name` in their
    order, each at its first place only."""
    cves, values = _codes(ordered.column("cve_id")), _codes(ordered.column(name))
    pairs = cves * (int(values.max(initial=0)) + 2) + values + 1
    first = np.sort(np.unique(pairs, return_index=True)[1])
    kept = ordered.column(name).take(pa.array(first))
    offsets = np.append(_run_starts(cves[first]), len(first)).astype(np.int32)
    return pa.ListArray.from_arrays(pa.array(offsets), kept.combine_chunks())


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


def cves_table(
    cve_ids: Sequence[str],
    statements: Sequence[Stated],
    picks: Sequence[int],
    sightings: pa.Table,
    now: datetime,
    schema: pa.Schema,
) -> pa.Table:
    """The CVE rows as a table of `schema` (storage.cves.CVES): each CVE's id, what
    `statements[pick]` says (its columns built once per statement and taken per CVE, with
    Arrow) and its row of `sightings` (SIGHTING_COLUMNS), column by column: a list of row
    dicts cost twice as much at 20k CVEs (a bulk import's enrichment)."""
    taken = _stated_columns(statements, schema).take(pa.array(picks, pa.int64()))
    own = {
        "cve_id": pa.array(cve_ids, schema.field("cve_id").type),
        "refreshed_at": pa.array([now] * len(cve_ids), schema.field("refreshed_at").type),
    }
    return pa.Table.from_arrays(
        [
            own[n] if n in own else (sightings if n in SIGHTING_COLUMNS else taken).column(n)
            for n in schema.names
        ],
        schema=schema,
    )


def _stated_columns(statements: Sequence[Stated], schema: pa.Schema) -> pa.Table:
    """The columns of `schema` that Stated fills, one row per statement."""
    cvss = [r.cvss for r in statements]
    kev = [r.kev for r in statements]
    columns: dict[str, list[Any] | pa.Array] = {
        "title": [r.title for r in statements],
        "description": [r.description for r in statements],
        "description_from": [r.description_from for r in statements],
        "published": [r.published for r in statements],
        "modified": [r.modified for r in statements],
        "cvss_version": [c.version if c else None for c in cvss],
        "cvss_vector": [c.vector if c else None for c in cvss],
        "cvss_score": [c.base_score if c else None for c in cvss],
        "cvss_severity": [c.severity if c else None for c in cvss],
        "cvss_source": [c.source if c else None for c in cvss],
        "cwes": [list(r.cwes) for r in statements],
        "kev": [k is not None for k in kev],
        "kev_date_added": [k.date_added if k else None for k in kev],
        "kev_due_date": [k.due_date if k else None for k in kev],
        "kev_required_action": [(k.required_action or None) if k else None for k in kev],
        "kev_ransomware": [k.ransomware if k else None for k in kev],
        "exploitation": [r.exploitation for r in statements],
        "vendors": [list(r.vendors) for r in statements],
        "products": _pairs_column([r.products for r in statements], schema.field("products").type),
    }
    return pa.Table.from_pydict(columns, schema=pa.schema([schema.field(n) for n in columns]))


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
