"""parse_osv: golden records field by field, every real OSV record, hostile inputs."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from techwatch.errors import ParseError
from techwatch.parse.osv import parse_osv, range_texts
from techwatch.types import Affected, CvssScore, ParsedFeed

DATA = Path(__file__).resolve().parents[1] / "data" / "advisories"
FETCHED = datetime(2026, 11, 28, 3, 0, tzinfo=UTC)
URL = "https://osv.example.org/records"


def _parse(body: bytes) -> ParsedFeed:
    return parse_osv("osv", body, url=URL, fetched_at=FETCHED)


def _records() -> list[dict[str, Any]]:
    loaded: list[dict[str, Any]] = json.loads((DATA / "cve_osv_records.json").read_bytes())
    return loaded


def test_records_give_items_and_withdrawn_ones_a_warning() -> None:
    feed = _parse((DATA / "cve_osv_records.json").read_bytes())
    assert feed.entries_total == 4
    assert [i.identity for i in feed.items] == [
        "osv:GHSA-xxxx-yyyy-zzzz",
        "osv:GO-2025-9999",
        "osv:UBUNTU-CVE-2025-99023",
    ]
    assert feed.warnings == ("GO-2025-9998: withdrawn, skipped",)


def test_a_record_id_seen_twice_keeps_its_first_record_and_warns() -> None:
    records = _records()
    twin = {**records[0], "summary": "A later record with the same id"}
    feed = _parse(json.dumps([*records, twin]).encode())

    assert feed.entries_total == 5
    assert [i.identity for i in feed.items] == [
        "osv:GHSA-xxxx-yyyy-zzzz",
        "osv:GO-2025-9999",
        "osv:UBUNTU-CVE-2025-99023",
    ]
    assert "A later record" not in feed.items[0].title
    assert feed.warnings == (
        "GO-2025-9998: withdrawn, skipped",
        "GHSA-xxxx-yyyy-zzzz: duplicate record, first kept",
    )


def test_record_with_one_cve_alias_is_about_that_cve() -> None:
    item = _parse((DATA / "cve_osv_records.json").read_bytes()).items[0]

    assert (
        item.title
        == "Example-lib deserialises untrusted YAML (GHSA-xxxx-yyyy-zzzz, CVE-2025-99020)"
    )
    assert item.url == "https://osv.dev/vulnerability/GHSA-xxxx-yyyy-zzzz"
    assert item.published == datetime(2025, 2, 1, 9, 30, tzinfo=UTC)
    assert item.cves == ("CVE-2025-99020",)
    [facts] = item.facts
    assert facts.vuln_id == "CVE-2025-99020"  # upper-cased from "cve-2025-99020"
    assert facts.aliases == ("GHSA-xxxx-yyyy-zzzz", "PYSEC-2025-1")
    assert facts.title == "Example-lib deserialises untrusted YAML"
    assert facts.modified == datetime(2025, 2, 3, 10, 0, tzinfo=UTC)
    assert facts.cvss[0] == CvssScore(
        "3.1", "CVSS:3.1/AV:N/AC:L/PR:N/UI:R/S:U/C:H/I:H/A:H", 8.8, "HIGH", None
    )
    assert (facts.cvss[1].version, facts.cvss[1].base_score) == ("4.0", None)
    assert facts.cvss[1].problem
    assert facts.cwes == ("CWE-502",)
    assert facts.affected == (
        Affected(
            vendor="PyPI",
            product="example-lib",
            versions=("< 1.2.3", ">= 2.0, <= 2.1", "git < 0123456789ab", "1.0", "1.2.2"),
            fixed=("1.2.3", "git 0123456789ab"),
            purl="pkg:pypi/example-lib",
        ),
    )
    assert facts.references == ("https://github.com/advisories/GHSA-xxxx-yyyy-zzzz",)
    assert "What to do: upgrade to a fixed version: example-lib 1.2.3." in item.text
    assert "Database severity: HIGH" in item.text


def test_record_with_several_cves_keeps_its_own_id_and_drops_placeholder_dates() -> None:
    item = _parse((DATA / "cve_osv_records.json").read_bytes()).items[1]

    assert item.url == "https://pkg.go.dev/vuln/GO-2025-9999"
    assert item.published is None  # 0001-01-01 placeholder
    assert item.cves == ("CVE-2025-99021", "CVE-2025-99022")
    [facts] = item.facts
    assert facts.vuln_id == "GO-2025-9999"
    assert facts.aliases == ("CVE-2025-99021", "CVE-2025-99022", "GHSA-aaaa-bbbb-cccc")
    assert (facts.published, facts.modified) == (None, None)
    assert facts.affected == (Affected("Go", "example.com/mod", versions=(">= 1.1.0",)),)


def test_ubuntu_record_is_about_its_upstream_cve() -> None:
    item = _parse((DATA / "cve_osv_records.json").read_bytes()).items[2]
    assert item.facts[0].vuln_id == "CVE-2025-99023"
    assert item.facts[0].aliases == ("UBUNTU-CVE-2025-99023",)
    assert item.facts[0].cvss == ()
    assert "Ubuntu severity: medium" in item.text


@pytest.mark.parametrize(
    ("events", "ranges", "fixed"),
    [
        ([{"introduced": "0"}, {"fixed": "1.0"}], ["< 1.0"], ["1.0"]),
        ([{"introduced": "1.0"}, {"limit": "2.0"}], [">= 1.0, < 2.0"], []),
        ([{"introduced": "1.0"}, {"introduced": "3.0"}], [">= 1.0", ">= 3.0"], []),
        ([{"fixed": "1.0"}], ["< 1.0"], ["1.0"]),
        ([{"introduced": 5}, "junk", {"fixed": None}], [">= 5"], []),
    ],
)
def test_range_events_read_as_ranges(
    events: list[Any], ranges: list[str], fixed: list[str]
) -> None:
    assert range_texts({"type": "SEMVER", "events": events}) == (ranges, fixed)


def test_osv_api_answer_is_accepted() -> None:
    feed = _parse(json.dumps({"vulns": _records()[:2]}).encode())
    assert len(feed.items) == 2


# --- every real OSV record ----------------------------------------------------------------------


@pytest.mark.realdata
def test_every_real_osv_record_parses(realdata: Path) -> None:
    files = sorted((realdata / "advisories").glob("osv-*/*.json"))
    assert len(files) == 275
    withdrawn = 0
    for path in files:
        record = json.loads(path.read_bytes())
        feed = _parse(path.read_bytes())
        assert feed.entries_total == 1
        if "withdrawn" in record:
            withdrawn += 1
            assert feed.warnings == (f"{record['id']}: withdrawn, skipped",)
            continue
        [item] = feed.items
        assert item.identity == f"osv:{record['id']}"
        facts = item.facts[0]
        cves = {a for a in [record["id"], *record.get("aliases", [])] if a.startswith("CVE-")}
        if len(cves) == 1:
            assert facts.vuln_id == cves.pop(), path.name
        elif cves:
            assert facts.vuln_id == record["id"]
            assert cves <= set(facts.aliases)
        if record.get("published", "").startswith("0001"):
            assert facts.published is None, path.name
        if record.get("modified", "").startswith("0001"):
            assert facts.modified is None, path.name
        assert len(facts.affected) == len(record.get("affected", [])), path.name
        for score in facts.cvss:
            assert score.base_score is not None, (path.name, score)
    assert withdrawn == 1


# --- hostile inputs ----------------------------------------------------------------------------


def _paths(value: Any, path: tuple[Any, ...] = ()) -> Iterator[tuple[Any, ...]]:
    if isinstance(value, dict | list):
        children = value.items() if isinstance(value, dict) else enumerate(value)
        for key, child in children:
            yield (*path, key)
            yield from _paths(child, (*path, key))


def _replaced(document: Any, path: tuple[Any, ...], new: object) -> Any:
    copy = json.loads(json.dumps(document))
    target = copy
    for step in path[:-1]:
        target = target[step]
    target[path[-1]] = new
    return copy


def test_any_field_of_any_wrong_type_never_crashes() -> None:
    records = _records()
    for path in _paths(records):
        for wrong in (None, 7, "x", [], {}, True):
            feed = _parse(json.dumps(_replaced(records, path, wrong)).encode())
            assert len(feed.items) + len(feed.warnings) == feed.entries_total, (path, wrong)


def test_huge_version_lists_are_capped() -> None:
    record = _records()[0]
    record["affected"][0]["versions"] = [f"1.{i}" for i in range(100_000)]
    [item] = _parse(json.dumps(record).encode()).items
    assert len(item.facts[0].affected[0].versions) == 500


@pytest.mark.parametrize(
    "body", [b'{"vulns": "x"}', b'{"summary": "no id"}', b'["a", 1]', b"{", b"[" * 100 + b"]" * 100]
)
def test_foreign_or_broken_documents_are_malformed_advisories(body: bytes) -> None:
    with pytest.raises(ParseError) as caught:
        _parse(body)
    assert caught.value.kind == "malformed_advisory"
