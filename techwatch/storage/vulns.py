"""What advisory items state per vulnerability: `item_vulns`, with `item_affected` for the
product lists and `item_refs` for the reference links, staged from parsed items and written by
the single writer.

An advisory often states one long product list for each of its CVEs (a CERT-FR avis lists
every system for every CVE: 61 copies on average over the real advisories). Each distinct list
of an item is therefore stored once, in `item_affected` (numbered per item by `list_no`), and a
fact names its list by number (`affected_no`). Links likewise (migration 0016): an avis repeats
its vendor links for each CVE (905k links, 64 MB, on the real advisories: ~0.8 s of a bulk import's
CPU to stage, store and checkpoint); each item's distinct links are stored once, in
`item_refs`, and a fact names its own by position (`ref_nos`, 1-based, in order). `facts_sql`
gives readers the facts in their first shape, one row per (item, vulnerability) with its
`affected` list and `refs`, so what they return did not change. Uniqueness of (item_id,
vuln_id) is the writer's: staging keeps one fact per vulnerability and item, and an item's old
facts go before its new ones come (no index: DuckDB vacuums no deleted rows of an indexed
table, and each index insert costs).
"""

from __future__ import annotations

from collections.abc import Mapping, Set
from operator import attrgetter
from typing import Final

import numpy as np
import pyarrow as pa

from techwatch.storage.connection import Conn
from techwatch.storage.staging import STRINGS, TS, WRITTEN
from techwatch.types import Affected, CvssScore, ParsedItem, SharedFacts, VulnFacts, own_link

CVSS: Final = pa.struct(
    [
        ("version", pa.string()),
        ("vector", pa.string()),
        ("base_score", pa.float64()),
        ("severity", pa.string()),
        ("source", pa.string()),
        ("problem", pa.string()),
    ]
)
AFFECTED: Final = pa.struct(
    [
        ("vendor", pa.string()),
        ("product", pa.string()),
        ("versions", STRINGS),
        ("fixed", STRINGS),
        ("cpes", STRINGS),
        ("purl", pa.string()),
    ]
)
SSVC: Final = pa.struct([("point", pa.string()), ("value", pa.string())])
#: `item_vulns` as written (the product list by its number).
FACTS: Final = pa.schema(
    [
        ("item_id", pa.string()),
        ("vuln_id", pa.string()),
        ("aliases", STRINGS),
        ("title", pa.string()),
        ("description", pa.string()),
        ("published", TS),
        ("modified", TS),
        ("cvss", pa.list_(CVSS)),
        ("cwes", STRINGS),
        ("affected_no", pa.int32()),
        ("kev_date_added", pa.date32()),
        ("kev_due_date", pa.date32()),
        ("kev_required_action", pa.string()),
        ("kev_ransomware", pa.bool_()),
        ("kev_vendor", pa.string()),
        ("kev_product", pa.string()),
        ("kev_name", pa.string()),
        ("kev_notes", pa.string()),
        ("ssvc", pa.list_(SSVC)),
        ("ref_nos", pa.list_(pa.int32())),
    ]
)
#: `item_affected`: each distinct product list of an item, once.
LISTS: Final = pa.schema(
    [("item_id", pa.string()), ("list_no", pa.int32()), ("affected", pa.list_(AFFECTED))]
)

#: `item_refs`: each item's distinct reference links, in order of first statement.
REFS: Final = pa.schema([("item_id", pa.string()), ("refs", STRINGS)])

#: The columns of a fact as readers see them: `affected_no` and `ref_nos` replaced by lists.
_READ_AS: Final = {"affected_no": "affected", "ref_nos": "refs"}
COLUMNS: Final = tuple(_READ_AS.get(name, name) for name in FACTS.names)
_SELECTED: Final = {
    "affected": "a.affected",
    "refs": "list_transform(v.ref_nos, lambda n: r.refs[n]) AS refs",
}


def facts_sql(
    facts_where: str = "true", lists_where: str = "true", refs_where: str = "true"
) -> str:
    """A subquery of facts in their first shape (COLUMNS), each with its product list and
    its links.

    The conditions filter each table (e.g. a rowid range) before the joins."""
    columns = ", ".join(_SELECTED.get(c, f"v.{c}") for c in COLUMNS)
    return f"""(
        SELECT {columns}
        FROM (SELECT * FROM item_vulns WHERE {facts_where}) v
        LEFT JOIN (SELECT item_id, list_no, affected FROM item_affected WHERE {lists_where}) a
          ON a.item_id = v.item_id AND a.list_no = v.affected_no
        LEFT JOIN (SELECT item_id, refs FROM item_refs WHERE {refs_where}) r
          ON r.item_id = v.item_id
    )"""


def stage_facts(rows: Mapping[str, ParsedItem]) -> tuple[pa.Table, pa.Table, pa.Table]:
    """(facts, product lists, links) of the unique items: one fact per (item, vulnerability),
    a repeated id keeping the first; one list row per distinct product list of an item; one
    row of distinct links per item that states any.

    Built column by column (not from row dicts: ~5x cheaper on a bulk import's 60k facts),
    tuples taken as they are for list columns; an item's SharedFacts (a CERT-FR avis, ~40
    CVEs on average) as repeats of their template's values, without building their facts.
    """
    columns = _Columns()
    lists = _Lists()
    links = _Links()
    for key, item in rows.items():
        lists.next_item(key)
        facts = item.facts
        if isinstance(facts, SharedFacts) and 0 < len(facts) == len(set(facts.vuln_ids)):
            columns.add_shared(key, facts, lists.number(facts.template.affected))
            links.add_shared(facts)
        else:
            seen: set[str] = set()
            for fact in facts:
                if fact.vuln_id not in seen:
                    seen.add(fact.vuln_id)
                    columns.add(key, fact, lists.number(fact.affected))
                    links.add(fact.references)
        links.end_item(key)
    return columns.table(links.positions()), lists.table(), links.table()


#: The columns a fact shares with the other CVEs of its SharedFacts: all but its id and links.
_GROUPED: Final = tuple(n for n in FACTS.names if n not in ("vuln_id", "ref_nos"))


class _Columns:
    """The columns of `item_vulns` but `ref_nos`, fact after fact (see stage_facts).

    A SharedFacts' template is converted to Arrow once and repeated by `take`: its values
    are the same for each of its CVEs but the id: staging the real advisories' 59k facts
    went from ~0.5 to ~0.35 s of CPU, most of it the conversion of repeated lists and dicts."""

    def __init__(self) -> None:
        self.vuln_ids: list[str] = []
        self.values: dict[str, list[object]] = {n: [] for n in _GROUPED}
        self.repeats: list[int] = []

    def add(self, item_id: str, fact: VulnFacts, affected_no: int) -> None:
        self.vuln_ids.append(fact.vuln_id)
        self._add_group(_row(item_id, fact, affected_no), 1)

    def add_shared(self, item_id: str, facts: SharedFacts, affected_no: int) -> None:
        self.vuln_ids.extend(facts.vuln_ids)
        self._add_group(_row(item_id, facts.template, affected_no), len(facts))

    def _add_group(self, row: tuple[object, ...], count: int) -> None:
        for values, value in zip(self.values.values(), row, strict=True):
            values.append(value)
        self.repeats.append(count)

    def table(self, ref_nos: pa.ListArray) -> pa.Table:
        grouped = {n: pa.array(v, FACTS.field(n).type) for n, v in self.values.items()}
        if len(self.vuln_ids) != len(self.repeats):
            rows = pa.array(np.repeat(np.arange(len(self.repeats)), self.repeats))
            grouped = {n: column.take(rows) for n, column in grouped.items()}
        columns = {**grouped, "vuln_id": pa.array(self.vuln_ids, pa.string()), "ref_nos": ref_nos}
        return pa.table([columns[n] for n in FACTS.names], schema=FACTS)


def _row(item_id: str, fact: VulnFacts, affected_no: int) -> tuple[object, ...]:
    """A fact's values in the order of FACTS, but `vuln_id` and `ref_nos` (see _GROUPED)."""
    kev = fact.kev
    return (
        item_id,
        fact.aliases,
        fact.title,
        fact.description,
        fact.published,
        fact.modified,
        [_cvss_row(score) for score in fact.cvss],
        fact.cwes,
        affected_no,
        kev.date_added if kev else None,
        kev.due_date if kev else None,
        kev.required_action if kev else None,
        kev.ransomware if kev else None,
        kev.vendor if kev else None,
        kev.product if kev else None,
        kev.name if kev else None,
        kev.notes if kev else None,
        [{"point": p, "value": v} for p, v in fact.ssvc],
    )


class _Links:
    """Numbers each item's distinct links (1, 2, ... in order of first statement) and keeps
    every fact's links as their positions, flat with offsets, as Arrow takes them."""

    def __init__(self) -> None:
        self.item_ids: list[str] = []
        self.links: list[list[str]] = []
        self._offsets: list[int] = [0]
        self._flat: list[int] = []
        self._item: dict[str, int] = {}

    def add(self, references: tuple[str, ...]) -> None:
        self._flat.extend(map(self._number, references))
        self._offsets.append(len(self._flat))

    def add_shared(self, facts: SharedFacts) -> None:
        """`add` for each fact of `facts`, the shared links numbered once.

        A CVE's links as SharedFacts.references_of gives them, without building them: its
        own link (`own_link`, looked up in a set of the shared ones) then the shared ones.
        Building each CVE's tuple and scanning the shared ones was most of this loop's cost."""
        flat, offsets = self._flat, self._offsets
        shared = facts.template.references
        known = set(shared)
        number = self._number
        numbers: list[int] | None = None  # the shared links' numbers, once they have some
        for link in facts.links:
            own = own_link(link, known)
            if own is not None:
                flat.append(number(own))
            if numbers is None:
                numbers = list(map(number, shared))
            flat.extend(numbers)
            offsets.append(len(flat))

    def _number(self, link: str) -> int:
        """The link's number in this item: the next one at its first statement."""
        item = self._item
        return item.get(link) or item.setdefault(link, len(item) + 1)

    def end_item(self, item_id: str) -> None:
        if self._item:
            self.item_ids.append(item_id)
            self.links.append(list(self._item))
            self._item = {}

    def positions(self) -> pa.ListArray:
        return pa.ListArray.from_arrays(
            pa.array(self._offsets, pa.int32()),
            pa.array(self._flat, pa.int32()),
            type=FACTS.field("ref_nos").type,
        )

    def table(self) -> pa.Table:
        return pa.table({"item_id": self.item_ids, "refs": self.links}, schema=REFS)


class _Lists:
    """Numbers each item's distinct product lists (0, 1, ... in order of first statement).

    A parser shares one tuple between the facts of a document, so a list is first looked up
    by identity; only a tuple not seen before is compared by value (hashing every fact's
    list would cost as much as the copies it saves)."""

    def __init__(self) -> None:
        self.item_ids: list[str] = []
        self.numbers: list[int] = []
        self.lists: list[tuple[Affected, ...]] = []
        self._item = ""
        self._by_id: dict[int, int] = {}
        self._by_value: dict[tuple[Affected, ...], int] = {}

    def next_item(self, item_id: str) -> None:
        self._item = item_id
        self._by_id = {}
        self._by_value = {}

    def number(self, affected: tuple[Affected, ...]) -> int:
        found = self._by_id.get(id(affected))
        if found is not None:
            return found
        found = self._by_value.get(affected)
        if found is None:
            found = self._by_value[affected] = len(self._by_value)
            self.item_ids.append(self._item)
            self.numbers.append(found)
            self.lists.append(affected)
        self._by_id[id(affected)] = found
        return found

    def table(self) -> pa.Table:
        offsets = [0]
        for products in self.lists:
            offsets.append(offsets[-1] + len(products))
        values = _affected_values([p for ps in self.lists for p in ps])
        affected = pa.ListArray.from_arrays(
            pa.array(offsets, pa.int32()), values, type=pa.list_(AFFECTED)
        )
        return pa.table(
            {
                "item_id": pa.array(self.item_ids, pa.string()),
                "list_no": pa.array(self.numbers, pa.int32()),
                "affected": affected,
            },
            schema=LISTS,
        )


def replace_facts(conn: Conn, kinds: Set[str]) -> None:
    """New and changed items of the `batch` table bring their staged facts, lists and links
    (`staged_facts`, `staged_affected`, `staged_refs`); a changed item's old ones go first.

    `kinds` are the changes the batch holds: without unchanged items, every staged row is
    written, without a join."""
    changed = "IN (SELECT id FROM batch WHERE change = 'updated')"
    if "updated" in kinds:
        conn.execute(f"DELETE FROM item_vulns WHERE item_id {changed}")
        conn.execute(f"DELETE FROM item_affected WHERE item_id {changed}")
        conn.execute(f"DELETE FROM item_refs WHERE item_id {changed}")
    if not kinds & WRITTEN:
        return
    written = (
        "JOIN batch b ON b.id = f.item_id WHERE b.change IN ('new', 'updated')"
        if "unchanged" in kinds
        else ""
    )
    conn.execute(f"INSERT INTO item_vulns SELECT f.* FROM staged_facts f {written}")
    conn.execute(f"INSERT INTO item_affected SELECT f.* FROM staged_affected f {written}")
    conn.execute(f"INSERT INTO item_refs SELECT f.* FROM staged_refs f {written}")


def _cvss_row(score: CvssScore) -> dict[str, object]:
    return {
        "version": score.version,
        "vector": score.vector,
        "base_score": score.base_score,
        "severity": score.severity,
        "source": score.source,
        "problem": score.problem,
    }


def _affected_values(products: list[Affected]) -> pa.StructArray:
    """The products as AFFECTED structs, built field by field from the attributes of the same
    names (tuples taken as they are) rather than from a dict per product (the real
    advisories' 18.6k distinct products)."""
    fields = list(AFFECTED)
    return pa.StructArray.from_arrays(
        [pa.array(list(map(attrgetter(f.name), products)), f.type) for f in fields],
        fields=fields,
    )
