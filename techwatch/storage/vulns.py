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

from collections.abc import Mapping
from typing import Final

import duckdb
import pyarrow as pa

from techwatch.storage.staging import STRINGS, TS
from techwatch.types import Affected, CvssScore, ParsedItem, VulnFacts

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
    tuples taken as they are for list columns.
    """
    keys: list[str] = []
    facts: list[VulnFacts] = []
    numbers: list[int] = []
    lists = _Lists()
    links = _Links()
    for key, item in rows.items():
        seen: set[str] = set()
        lists.next_item(key)
        for fact in item.facts:
            if fact.vuln_id not in seen:
                seen.add(fact.vuln_id)
                keys.append(key)
                facts.append(fact)
                numbers.append(lists.number(fact.affected))
                links.add(fact.references)
        links.end_item(key)
    kevs = [f.kev for f in facts]
    columns = {
        "item_id": keys,
        "vuln_id": [f.vuln_id for f in facts],
        "aliases": [f.aliases for f in facts],
        "title": [f.title for f in facts],
        "description": [f.description for f in facts],
        "published": [f.published for f in facts],
        "modified": [f.modified for f in facts],
        "cvss": [[_cvss_row(score) for score in f.cvss] for f in facts],
        "cwes": [f.cwes for f in facts],
        "affected_no": numbers,
        "kev_date_added": [k.date_added if k else None for k in kevs],
        "kev_due_date": [k.due_date if k else None for k in kevs],
        "kev_required_action": [k.required_action if k else None for k in kevs],
        "kev_ransomware": [k.ransomware if k else None for k in kevs],
        "kev_vendor": [k.vendor if k else None for k in kevs],
        "kev_product": [k.product if k else None for k in kevs],
        "kev_name": [k.name if k else None for k in kevs],
        "kev_notes": [k.notes if k else None for k in kevs],
        "ssvc": [[{"point": p, "value": v} for p, v in f.ssvc] for f in facts],
        "ref_nos": links.positions(),
    }
    return pa.table(columns, schema=FACTS), lists.table(), links.table()


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
        item = self._item
        self._flat.extend([item.get(r) or item.setdefault(r, len(item) + 1) for r in references])
        self._offsets.append(len(self._flat))

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
        values = pa.array([_affected_row(p) for ps in self.lists for p in ps], AFFECTED)
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


def replace_facts(conn: duckdb.DuckDBPyConnection) -> None:
    """New and changed items of the `batch` table bring their staged facts, lists and links
    (`staged_facts`, `staged_affected`, `staged_refs`); a changed item's old ones go first."""
    changed = "IN (SELECT id FROM batch WHERE change = 'updated')"
    conn.execute(f"DELETE FROM item_vulns WHERE item_id {changed}")
    conn.execute(f"DELETE FROM item_affected WHERE item_id {changed}")
    conn.execute(f"DELETE FROM item_refs WHERE item_id {changed}")
    written = "JOIN batch b ON b.id = f.item_id WHERE b.change IN ('new', 'updated')"
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


def _affected_row(product: Affected) -> dict[str, object]:
    return {
        "vendor": product.vendor,
        "product": product.product,
        "versions": list(product.versions),
        "fixed": list(product.fixed),
        "cpes": list(product.cpes),
        "purl": product.purl,
    }
