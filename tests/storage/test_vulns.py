"""stage_facts builds its tables column by column, each distinct product list and the distinct
links of an item once: the facts with their lists and links put back must be the table a
row-by-row conversion gives (reference below), on real and edge cases."""

from __future__ import annotations

from dataclasses import asdict, replace
from datetime import UTC, date, datetime
from pathlib import Path

import pyarrow as pa
import pytest

from techwatch.parse.registry import parse_document
from techwatch.storage.staging import unique_items
from techwatch.storage.vulns import AFFECTED, FACTS, STRINGS, stage_facts
from techwatch.types import (
    Affected,
    CvssScore,
    KevEntry,
    ParsedItem,
    SharedFacts,
    SourceOutcome,
    VulnFacts,
)

WHEN = datetime(2026, 11, 28, 3, 0, tzinfo=UTC)
#: A fact with its product list and links, as item_vulns stored it before migration 0014.
OLD_FIELDS = {
    "affected_no": pa.field("affected", pa.list_(AFFECTED)),
    "ref_nos": pa.field("refs", STRINGS),
}
WITH_LISTS = pa.schema(OLD_FIELDS.get(f.name, f) for f in FACTS)


def reference(rows: dict[str, ParsedItem]) -> pa.Table:
    """Row dicts, one per (item, vulnerability), first of a repeated id kept."""
    records = []
    for key, item in rows.items():
        seen: set[str] = set()
        for fact in item.facts:
            if fact.vuln_id in seen:
                continue
            seen.add(fact.vuln_id)
            kev = fact.kev
            records.append(
                {
                    "item_id": key,
                    "vuln_id": fact.vuln_id,
                    "aliases": list(fact.aliases),
                    "title": fact.title,
                    "description": fact.description,
                    "published": fact.published,
                    "modified": fact.modified,
                    "cvss": [asdict(score) for score in fact.cvss],
                    "cwes": list(fact.cwes),
                    "affected": [asdict(p) for p in fact.affected],
                    "kev_date_added": kev.date_added if kev else None,
                    "kev_due_date": kev.due_date if kev else None,
                    "kev_required_action": kev.required_action if kev else None,
                    "kev_ransomware": kev.ransomware if kev else None,
                    "kev_vendor": kev.vendor if kev else None,
                    "kev_product": kev.product if kev else None,
                    "kev_name": kev.name if kev else None,
                    "kev_notes": kev.notes if kev else None,
                    "ssvc": [{"point": p, "value": v} for p, v in fact.ssvc],
                    "refs": list(fact.references),
                }
            )
    return pa.Table.from_pylist(records, schema=WITH_LISTS)


def joined(rows: dict[str, ParsedItem]) -> pa.Table:
    """The staged facts with their product lists and links put back; an item's lists, and
    its links, are distinct."""
    facts, lists, links = stage_facts(rows)
    linked = dict(zip(links["item_id"].to_pylist(), links["refs"].to_pylist(), strict=True))
    assert len(linked) == links.num_rows
    assert all(len(set(refs)) == len(refs) for refs in linked.values())
    keys = list(zip(lists["item_id"].to_pylist(), lists["list_no"].to_pylist(), strict=True))
    assert len(set(keys)) == len(keys)
    by_key = dict(zip(keys, lists["affected"].to_pylist(), strict=True))
    records = facts.to_pylist()
    named = {(r["item_id"], r["affected_no"]) for r in records}
    assert named == set(keys), "a product list no fact names, or a fact naming none"
    for record in records:
        record["affected"] = by_key[record["item_id"], record.pop("affected_no")]
        own = linked.get(record["item_id"], [])
        record["refs"] = [own[n - 1] for n in record.pop("ref_nos")]
    for item in {item for item, _ in keys}:
        own = [repr(by_key[key]) for key in keys if key[0] == item]
        assert len(set(own)) == len(own), f"{item}: a product list staged twice"
    return pa.Table.from_pylist(records, schema=WITH_LISTS)


def _item(identity: str, facts: tuple[VulnFacts, ...] | SharedFacts) -> ParsedItem:
    return ParsedItem(
        source_id="s",
        identity=identity,
        url=None,
        canonical_url=None,
        title=identity,
        text="",
        html="",
        published=None,
        language=None,
        facts=facts,
    )


SHARED = (
    Affected("Fortinet", "FortiOS", ("7.2.0 - 7.2.8",), ("7.2.9",), ("cpe:2.3:o:f:*",)),
    Affected("Ivanti", "Connect Secure", purl="pkg:generic/ivanti"),
)
FULL = VulnFacts(
    "CVE-2026-0001",
    aliases=("GHSA-1",),
    title="t",
    description="d",
    published=WHEN,
    modified=WHEN,
    cvss=(CvssScore("3.1", "CVSS:3.1/AV:N", 9.8, "CRITICAL", "NVD", None),),
    cwes=("CWE-79",),
    affected=SHARED,
    kev=KevEntry(date(2026, 1, 1), None, "Patch", None, "Fortinet", "FortiOS", "n"),
    ssvc=(("Exploitation", "active"),),
    references=("https://a.example/",),
)
CASES = {
    "none": {},
    "no facts": {"a": _item("a", ())},
    "bare fact": {"a": _item("a", (VulnFacts("CVE-2026-0002"),))},
    "shared and repeated": {
        "a": _item(
            "a",
            (
                FULL,
                replace(FULL, vuln_id="CVE-2026-0003", kev=None),
                replace(FULL, vuln_id="CVE-2026-0001", title="repeated id: dropped"),
                replace(FULL, vuln_id="CVE-2026-0004", affected=()),
            ),
        ),
        "b": _item("b", (replace(FULL, affected=SHARED[1:]), replace(FULL, vuln_id="X-1"))),
    },
    "links shared, repeated, own, none": {
        "a": _item(
            "a",
            (
                replace(FULL, references=("https://c/", "https://a/", "https://b/")),
                replace(FULL, vuln_id="V-2", references=("https://own/", "https://a/")),
                replace(FULL, vuln_id="V-3", references=("https://b/", "https://b/")),
                replace(FULL, vuln_id="V-4", references=()),
                replace(FULL, vuln_id="V-2", references=("https://dropped/",)),
            ),
        ),
        "b": _item("b", (replace(FULL, references=()),)),
        "c": _item("c", (replace(FULL, references=("https://a/",)),)),
    },
}
#: Bulletins in their shared form (staged without building their facts) beside other items:
#: each kind of CVE link, shared links of every length, a repeated id (staged fact by fact).
OWN = (None, "https://own/1", "", "https://a/", "https://own/1", "https://own/2")
CASES["bulletins"] = {
    f"b{n}": _item(
        f"b{n}",
        SharedFacts(
            replace(FULL, vuln_id="", references=("https://a/", "https://b/")[:n]),
            tuple(f"CVE-2026-{k:04d}" for k in range(len(OWN))),
            OWN,
        ),
    )
    for n in range(3)
}
CASES["bulletins"]["plain"] = _item("plain", (FULL,))
CASES["bulletins"]["empty"] = _item("empty", SharedFacts(FULL, (), ()))
CASES["bulletins"]["repeated"] = _item(
    "repeated", SharedFacts(FULL, ("CVE-1", "CVE-2", "CVE-1"), (None, "https://x/", "https://y/"))
)


def test_each_link_of_an_item_is_staged_once_and_named_by_position() -> None:
    _, _, links = stage_facts(CASES["links shared, repeated, own, none"])
    assert links.to_pylist() == [
        {"item_id": "a", "refs": ["https://c/", "https://a/", "https://b/", "https://own/"]},
        {"item_id": "c", "refs": ["https://a/"]},
    ]


@pytest.mark.parametrize("rows", CASES.values(), ids=CASES.keys())
def test_the_tables_are_the_row_by_row_one(rows: dict[str, ParsedItem]) -> None:
    assert joined(rows).equals(reference(rows))


def test_each_product_list_of_an_item_is_staged_once() -> None:
    """Equal lists (shared or not) get one number per item; another item has its own."""
    copy = tuple(replace(p) for p in SHARED)
    item = _item(
        "a",
        (
            FULL,
            replace(FULL, vuln_id="V-2", affected=copy),
            replace(FULL, vuln_id="V-3", affected=()),
        ),
    )
    facts, lists, _ = stage_facts({"a": item, "b": _item("b", (FULL,))})
    assert facts["affected_no"].to_pylist() == [0, 0, 1, 0]
    assert lists.select(["item_id", "list_no"]).to_pylist() == [
        {"item_id": "a", "list_no": 0},
        {"item_id": "a", "list_no": 1},
        {"item_id": "b", "list_no": 0},
    ]
    assert [len(x) for x in lists["affected"].to_pylist()] == [2, 0, 2]


def test_real_advisories_stage_the_row_by_row_table(realdata: Path) -> None:
    kinds = (
        ("cert-fr-avis/*/*.json", "certfr-json", 40),
        ("csaf-cisa/*-2024/*.json", "csaf", 15),
        ("cve-json5-vulnrichment/*/*.json", "cve-json5", 15),
        ("osv-golang-vulndb/*.json", "osv", 15),
        ("cisa-kev/known_exploited_vulnerabilities.json", "cisa-kev", 1),
    )
    outcomes = [
        SourceOutcome(
            kind,
            "ok",
            WHEN,
            0.0,
            items=parse_document(
                kind, kind, path.read_bytes(), url=path.as_uri(), fetched_at=WHEN
            ).items,
        )
        for pattern, kind, count in kinds
        for path in sorted((realdata / "advisories").glob(pattern))[:count]
    ]
    rows = unique_items(outcomes)
    facts, lists, links = stage_facts(rows)
    assert facts.num_rows > 2000 and lists.num_rows < facts.num_rows / 2
    stated = sum(len(f.references) for item in rows.values() for f in item.facts)
    assert sum(len(refs) for refs in links["refs"].to_pylist()) < stated / 5
    assert joined(rows).equals(reference(rows))
