"""CERT-FR avis and alertes (JSON form): golden samples, every real file, hostile documents."""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from techwatch.errors import ParseError
from techwatch.parse.certfr import (
    EXPLOITED,
    MAX_FACTS,
    _checked_cves,
    _listed_cves,
    _plain_cves,
    page_url,
    parse_certfr,
    parse_certfr_alertes_index,
)
from techwatch.parse.cve_ids import all_cve_ids
from techwatch.types import Affected, ParsedFeed

DATA = Path(__file__).resolve().parents[1] / "data" / "advisories"
NOW = datetime(2026, 11, 28, 3, 0, tzinfo=UTC)
URL = "https://www.cert.ssi.gouv.fr/avis/CERTFR-2026-AVI-0042/json/"


def _parse(body: bytes) -> ParsedFeed:
    return parse_certfr("certfr-avis", body, url=URL, fetched_at=NOW)


def _alertes(body: bytes) -> ParsedFeed:
    return parse_certfr_alertes_index("certfr-ale", body, url=URL, fetched_at=NOW)


def _avis(**overrides: Any) -> bytes:
    document: dict[str, Any] = {
        "reference": "CERTFR-2026-AVI-0001",
        "title": "Vulnérabilité dans Widget",
        "cves": [
            {"name": "CVE-2026-0001", "url": "https://www.cve.org/CVERecord?id=CVE-2026-0001"}
        ],
    }
    document.update(overrides)
    return json.dumps(document).encode()


# --- golden samples ----------------------------------------------------------------------------


def test_avis_item() -> None:
    feed = _parse((DATA / "certfr_avis.json").read_bytes())
    assert (feed.entries_total, feed.warnings, feed.language) == (1, (), "fr")
    assert feed.title == "Multiples vulnérabilités dans Acme Firewall"
    (item,) = feed.items
    assert item.identity == "certfr:CERTFR-2026-AVI-0042"
    assert (
        item.title
        == "CERT-FR avis : Multiples vulnérabilités dans Acme Firewall (CERTFR-2026-AVI-0042)"
    )
    assert item.url == "https://www.cert.ssi.gouv.fr/avis/CERTFR-2026-AVI-0042/"
    assert item.published == datetime(2026, 2, 10, tzinfo=UTC), (
        "the first revision, not the list order"
    )
    assert item.language == "fr"
    assert item.cves == ("CVE-2026-1001", "CVE-2026-1003")
    lines = item.text.splitlines()
    assert lines[0].startswith(
        "De multiples vulnérabilités ont été découvertes dans Acme Firewall."
    )
    assert "- Exécution de code arbitraire à distance" in lines
    assert "- Acme : Acme Firewall versions antérieures à 7.2.5" in lines
    assert "- Acme Controls : PLC-5000 sans les derniers correctifs de sécurité" in lines
    assert "L'éditeur indique que la vulnérabilité CVE-2026-1001 est activement exploitée." in lines
    assert "Systèmes industriels (SCADA) : Acme Controls" in lines
    assert "Solutions" in lines and "## Solutions" not in item.text
    assert (
        "- Bulletin de sécurité Acme ACME-SA-2026-01 (2026-02-09) : https://acme.example/sa/2026-01"
        in lines
    )
    assert "CVE : CVE-2026-1001, CVE-2026-1003" in lines


def test_avis_facts_give_every_cve_every_affected_system() -> None:
    (item,) = _parse((DATA / "certfr_avis.json").read_bytes()).items
    first, second = item.facts
    assert (first.vuln_id, second.vuln_id) == ("CVE-2026-1001", "CVE-2026-1003")
    assert (
        first.affected
        == second.affected
        == (
            Affected(vendor="Acme", product="Acme Firewall", versions=("< 7.2.5",)),
            Affected(
                vendor="Acme", product="Firewall", versions=("Acme Firewall 6.x toutes versions",)
            ),
            Affected(
                vendor="Acme Controls",
                product="PLC-5000",
                versions=("sans les derniers correctifs de sécurité",),
            ),
        )
    )
    assert first.published == datetime(2026, 2, 10, tzinfo=UTC)
    assert first.modified == datetime(2026, 2, 12, tzinfo=UTC)
    assert first.references == (
        "https://www.cve.org/CVERecord?id=CVE-2026-1001",
        "https://acme.example/sa/2026-01",
    )
    assert (first.aliases, first.cvss, first.cwes, first.kev, first.ssvc) == ((), (), (), None, ())
    assert (first.title, first.description) == (None, None)


def test_an_alerte_document_states_active_exploitation() -> None:
    feed = _parse(_avis(reference="CERTFR-2026-ALE-002", title="Vulnérabilité dans Widget"))
    (item,) = feed.items
    assert item.title == "CERT-FR alerte : Vulnérabilité dans Widget (CERTFR-2026-ALE-002)"
    assert item.url == "https://www.cert.ssi.gouv.fr/alerte/CERTFR-2026-ALE-002/"
    assert item.text.startswith("Alerte : le CERT-FR signale une exploitation active")
    assert item.facts[0].ssvc == EXPLOITED == (("Exploitation", "active"),)


def test_alertes_index() -> None:
    feed = _alertes((DATA / "certfr_alertes.json").read_bytes())
    assert (feed.entries_total, feed.language) == (5, "fr")
    assert feed.warnings == (
        "certfr:CERTFR-2026-ALE-001: listed twice, second skipped",
        "alerte #4 skipped: no valid 'alert' reference",
        "alerte #5 skipped: no valid 'alert' reference",
    )
    first, second = feed.items
    assert first.identity == "certfr:CERTFR-2026-ALE-001"
    assert (
        first.title == "CERT-FR alerte : exploitation active de CVE-2026-1001 (CERTFR-2026-ALE-001)"
    )
    assert first.url == "https://www.cert.ssi.gouv.fr/alerte/CERTFR-2026-ALE-001/"
    assert first.published == datetime(2026, 1, 15, tzinfo=UTC)
    assert first.language == "fr"
    assert "exploitation active" in first.text
    assert second.title.endswith("de CVE-2025-20001 et 1 autre CVE (CERTFR-2025-ALE-009)")
    assert [f.vuln_id for f in second.facts] == ["CVE-2025-20001", "CVE-2025-20002"]
    for facts in second.facts:
        assert facts.ssvc == (("Exploitation", "active"),)
        assert facts.published == datetime(2025, 11, 3, tzinfo=UTC)
        assert facts.references == ("https://www.cert.ssi.gouv.fr/alerte/CERTFR-2025-ALE-009/",)


@pytest.mark.parametrize(
    ("reference", "page"),
    [
        ("CERTFR-2025-AVI-0001", "https://www.cert.ssi.gouv.fr/avis/CERTFR-2025-AVI-0001/"),
        ("CERTA-2013-ALE-003", "https://www.cert.ssi.gouv.fr/alerte/CERTA-2013-ALE-003/"),
        ("CERTFR-2025-XYZ-001", None),
        ("../../etc/passwd", None),
    ],
)
def test_page_url(reference: str, page: str | None) -> None:
    assert page_url(reference) == page


# --- hostile and broken documents (RELIABILITY 25) ------------------------------------------------


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        (b"[]", "no reference"),
        (b'{"reference": "CERTFR-2026-AVI-0001"}', "no title"),
        (b'{"reference": 12, "title": "x"}', "no reference"),
        (b'{"reference": "R", "title": "x", "cves": ' + b"[" * 99 + b"]" * 99 + b"}", "nesting"),
        (b'{"reference": "CERTFR-2026-AVI-0001", "title": NaN}', "NaN"),
        (b'{"reference": "CERTFR', "invalid JSON"),
        (b'{"reference": "' + b"A" * 101 + b'", "title": "x"}', "longer than 100"),
    ],
)
def test_documents_that_are_not_avis_are_malformed(body: bytes, reason: str) -> None:
    with pytest.raises(ParseError) as info:
        _parse(body)
    assert info.value.kind == "malformed_advisory"
    assert (info.value.source_id, info.value.url) == ("certfr-avis", URL)
    assert reason in str(info.value)


@pytest.mark.parametrize(
    "override",
    [
        {"cves": "CVE-2026-0001"},
        {"cves": [None, 7, {"name": 5}, {"name": "CVE-2026-0002", "url": ["x"]}]},
        {"affected_systems": {"a": 1}},
        {
            "affected_systems": [
                None,
                {"product": "x"},
                {"description": 3, "product": {"vendor": 5}},
            ]
        },
        {"risks": [None, "x", {"description": None}], "summary": ["x"], "content": {}},
        {"revisions": [{"revision_date": "yesterday"}, None, {"revision_date": 20260101}]},
        {"vendor_advisories": [None, {"url": "javascript:alert(1)", "title": 5}]},
        {"affected_systems_content": None},
    ],
)
def test_wrong_types_in_fields_never_crash(override: dict[str, Any]) -> None:
    (item,) = _parse(_avis(**override)).items
    assert item.identity == "certfr:CERTFR-2026-AVI-0001"
    assert all(f.vuln_id.startswith("CVE-") for f in item.facts)


def test_skipped_records_are_named_in_warnings() -> None:
    feed = _parse(
        _avis(cves=[{"name": "CVE-2026-0001"}, {"name": "not a cve"}, 3], affected_systems=[1])
    )
    assert [f.vuln_id for f in feed.items[0].facts] == ["CVE-2026-0001"]
    assert feed.warnings == (
        "CERTFR-2026-AVI-0001: 1 affected system record(s) skipped: not objects",
        "CERTFR-2026-AVI-0001: 2 CVE record(s) skipped: no valid CVE id",
    )


def test_huge_lists_are_capped_in_bounded_time() -> None:
    cves = [
        {"name": f"CVE-2026-{i:05d}", "url": "https://www.cve.org/"} for i in range(MAX_FACTS + 5)
    ]
    systems = [
        {"description": f"Widget {i}", "product": {"vendor": {"name": "Acme"}}} for i in range(2000)
    ]
    started = time.monotonic()
    feed = _parse(_avis(cves=cves, affected_systems=systems))
    assert time.monotonic() - started < 10
    (item,) = feed.items
    assert len(item.facts) == MAX_FACTS
    assert len(item.facts[0].affected) == 500
    assert feed.warnings == (f"CERTFR-2026-AVI-0001: 5 CVEs beyond {MAX_FACTS} skipped",)
    assert "- et 1985 autres" in item.text.splitlines()
    assert len(item.text) <= 50_000


LINK_A, LINK_B = "https://www.cve.org/CVERecord?id=A", "https://www.cve.org/CVERecord?id=B"
#: CVE lists as CERT-FR writes them (read in one pass) and as it might not (read one by one).
CVE_LISTS: dict[str, list[Any]] = {
    "plain": [{"name": "CVE-2026-0001", "url": LINK_A}, {"name": "CVE-2026-12345", "url": LINK_B}],
    "listed twice": [
        {"name": "CVE-2026-0001", "url": LINK_A},
        {"name": "CVE-2026-0002", "url": LINK_B},
        {"name": "CVE-2026-0001", "url": LINK_B},
    ],
    "lower case": [{"name": "cve-2026-0001", "url": LINK_A}],
    "spaces": [{"name": " CVE-2026-0001 ", "url": f" {LINK_A} "}],
    "no link": [{"name": "CVE-2026-0001"}, {"name": "CVE-2026-0002", "url": LINK_A}],
    "empty link": [{"name": "CVE-2026-0001", "url": ""}],
    "odd link": [{"name": "CVE-2026-0001", "url": "https://x.example/a b"}],
    "line break in a link": [
        {"name": "CVE-2026-0001", "url": f"{LINK_A}\n{LINK_B}"},
        {"name": "CVE-2026-0002", "url": LINK_A},
    ],
    "line break in a name": [{"name": "CVE-2026-0001\nCVE-2026-0002", "url": LINK_A}],
    "not a name": [{"name": 5, "url": LINK_A}, 3, None],
    "empty": [],
}


@pytest.mark.parametrize("records", CVE_LISTS.values(), ids=CVE_LISTS.keys())
def test_cve_lists_read_in_one_pass_as_one_by_one(records: list[Any]) -> None:
    """The one-pass reading of a plain list gives what the record-by-record one gives."""
    expected = _checked_cves(records, "R", [])
    ids, links = _listed_cves(records, "R", [])
    assert list(zip(ids, links, strict=True)) == list(expected.items())


def test_plain_cve_lists_take_the_one_pass_reading() -> None:
    for name in ("plain", "listed twice"):
        assert _plain_cves(CVE_LISTS[name]) == _checked_cves(CVE_LISTS[name], "R", [])
    assert _plain_cves(CVE_LISTS["listed twice"]) == {
        "CVE-2026-0001": LINK_A,
        "CVE-2026-0002": LINK_B,
    }
    for name in CVE_LISTS.keys() - {"plain", "listed twice"}:
        assert _plain_cves(CVE_LISTS[name]) is None, name


@pytest.mark.parametrize(
    ("ids", "expected"),
    [
        (["CVE-2026-0001", "CVE-1999-12345678"], True),
        ([], False),
        (["cve-2026-0001"], False),
        (["CVE-2026-0001 "], False),
        (["CVE-2026-001"], False),
        (["CVE-2026-0001\nCVE-2026-0002"], False),
        (["CVE-2026-0001", ""], False),
    ],
)
def test_all_cve_ids(ids: list[str], expected: bool) -> None:
    assert all_cve_ids(ids) is expected


@pytest.mark.parametrize("body", [b"{}", b'{"alert": "CERTFR-2026-ALE-001"}', b'"x"'])
def test_alertes_index_that_is_not_a_list_is_malformed(body: bytes) -> None:
    with pytest.raises(ParseError) as info:
        _alertes(body)
    assert info.value.kind == "malformed_advisory"
    assert "not a list of CERT-FR alertes" in str(info.value)


# --- every real file (../shared/realdata/advisories) --------------------------------------------


def test_every_real_avis_parses_with_all_its_cves(realdata: Path) -> None:
    files = sorted((realdata / "advisories" / "cert-fr-avis").glob("*/*.json"))
    assert len(files) == 1338
    identities: set[str] = set()
    for path in files:
        raw = json.loads(path.read_bytes())
        feed = _parse(path.read_bytes())
        (item,) = feed.items
        assert feed.warnings == (), path.name
        assert item.identity == f"certfr:{raw['reference']}" and item.identity not in identities
        identities.add(item.identity)
        assert item.language == "fr"
        assert item.url == f"https://www.cert.ssi.gouv.fr/avis/{raw['reference']}/"
        assert item.published is not None
        assert " ".join(raw["title"].split()) in item.title
        assert {c["name"] for c in raw["cves"]} == {f.vuln_id for f in item.facts}, path.name
        assert all(len(f.affected) == len(item.facts[0].affected) for f in item.facts)


def test_real_alertes_index_lists_every_alerte(realdata: Path) -> None:
    body = (realdata / "advisories" / "cert-fr-alertes" / "cert-fr-ale_with_cves.json").read_bytes()
    raw = json.loads(body)
    feed = _alertes(body)
    assert feed.entries_total == len(feed.items) == len(raw) == 261
    assert feed.warnings == ()
    by_identity = {item.identity: item for item in feed.items}
    for record in raw:
        item = by_identity[f"certfr:{record['alert']}"]
        assert {f.vuln_id for f in item.facts} == {c.upper() for c in record["cves"]}
        assert all(f.ssvc == EXPLOITED for f in item.facts)
        assert item.language == "fr" and item.published is not None
