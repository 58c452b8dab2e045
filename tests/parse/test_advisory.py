"""The content hash of advisory items (parse.advisory.facts_hash) must never drift: a stored
item whose hash changes counts as updated, so a new version would rewrite every advisory."""

from __future__ import annotations

import hashlib
from dataclasses import replace
from datetime import UTC, date, datetime
from pathlib import Path

import pytest

from techwatch.parse.advisory import _cve_key, _sorted_cves, advisory_item, facts_hash
from techwatch.parse.registry import parse_document
from techwatch.types import Affected, CvssScore, KevEntry, ParsedItem, SharedFacts, VulnFacts

WHEN = datetime(2026, 11, 28, 3, 0, tzinfo=UTC)
SYSTEMS = (
    Affected("Fortinet", "FortiOS", ("7.2.0 - 7.2.8",), ("7.2.9",), ("cpe:2.3:o:fortinet:*",)),
    Affected("Ivanti", "Connect Secure", purl="pkg:generic/ivanti"),
)
VENDOR_LINKS = ("https://vendor.example/psirt/1", "https://vendor.example/psirt/2", "x")


def reference_hash(title: str, text: str, facts: tuple[VulnFacts, ...]) -> str:
    """The digest as first defined: every fact copied without its products, then repr'd."""
    digest = hashlib.sha256()
    for part in (title, text):
        digest.update(part.encode("utf-8", "replace"))
        digest.update(b"\x00")
    for fact in facts:
        digest.update(repr(replace(fact, affected=())).encode("utf-8", "replace"))
        digest.update(hashlib.sha256(repr(fact.affected).encode("utf-8", "replace")).digest())
    return digest.hexdigest()[:32]


def full_fact(cve: str, **changes: object) -> VulnFacts:
    fact = VulnFacts(
        vuln_id=cve,
        aliases=("GHSA-xxxx-yyyy-zzzz",),
        title="Heap overflow — « SSL-VPN »",
        description="Un dépassement de tas\u00a0permet l'exécution de code.\ud800",
        published=WHEN,
        modified=datetime(2026, 11, 29, tzinfo=UTC),
        cvss=(CvssScore("3.1", "CVSS:3.1/AV:N/AC:L", 9.8, "CRITICAL", "NVD"),),
        cwes=("CWE-122",),
        affected=SYSTEMS,
        kev=KevEntry(date(2026, 11, 1), None, "Apply updates", True, "Fortinet", "FortiOS", "X"),
        ssvc=(("Exploitation", "active"),),
        references=("https://fortiguard.example/psirt",),
    )
    return replace(fact, **changes)  # type: ignore[arg-type]


CASES = {
    "no facts": (),
    "bare": (VulnFacts("CVE-2026-0001"),),
    "every field": (full_fact("CVE-2026-0002"),),
    "a bulletin sharing values": tuple(
        full_fact(f"CVE-2026-{n:04d}", references=(f"https://cve.example/{n}",))
        for n in range(3, 40)
    ),
    "equal values, distinct objects": (
        full_fact("CVE-2026-0100", published=datetime(2026, 1, 2, tzinfo=UTC)),
        full_fact("CVE-2026-0100", published=datetime(2026, 1, 2, tzinfo=UTC), kev=None),
    ),
    # CERT-FR's shape: each CVE's own link, then the vendor links of the bulletin (the tail
    # rendered once); tails of one and two links, links that repr with quotes and escapes.
    "own link before shared links": tuple(
        full_fact(f"CVE-2026-{n:04d}", references=(f"https://cve.example/{n}", *VENDOR_LINKS))
        for n in range(200, 205)
    ),
    "tails of every length": tuple(
        full_fact(f"CVE-2026-{n:04d}", references=(f"https://cve.example/{n}", *tail))
        for n, tail in enumerate(
            [(), VENDOR_LINKS[:1], VENDOR_LINKS[:2], VENDOR_LINKS[:1], VENDOR_LINKS[:2], ()],
            start=300,
        )
    ),
    "links that repr oddly": tuple(
        full_fact(f"CVE-2026-{n:04d}", references=(first, "https://x.example/l'été", '"q"\\'))
        for n, first in enumerate(["https://a.example/'", 'https://b.example/"\n', "\ud800"])
    ),
}


@pytest.mark.parametrize("facts", CASES.values(), ids=CASES.keys())
def test_hash_is_the_reference_digest(facts: tuple[VulnFacts, ...]) -> None:
    assert facts_hash("Titre", "Texte\n", facts) == reference_hash("Titre", "Texte\n", facts)


def bulletin(shared_links: tuple[str, ...], links: tuple[str | None, ...]) -> SharedFacts:
    """A bulletin's facts in their shared form (CERT-FR's shape), one CVE per link."""
    template = full_fact("", references=shared_links)
    return SharedFacts(template, tuple(f"CVE-2026-{n:04d}" for n in range(len(links))), links)


#: Shared links of every length, and each kind of CVE link: none, empty, one of the shared
#: ones, its own (which then leads), the same own link twice, links that repr oddly.
OWN = (None, "", VENDOR_LINKS[0], "https://cve.example/1", "https://cve.example/1", "\ud800'")
SHARED_CASES = {
    f"{n} shared links": bulletin(VENDOR_LINKS[:n], OWN) for n in range(len(VENDOR_LINKS) + 1)
}
SHARED_CASES["no cve"] = bulletin(VENDOR_LINKS, ())


@pytest.mark.parametrize("facts", SHARED_CASES.values(), ids=SHARED_CASES.keys())
def test_shared_facts_hash_as_their_tuple(facts: SharedFacts) -> None:
    """Same digest as the facts one by one: an avis stored before keeps its hash."""
    expected = reference_hash("Titre", "Texte\n", tuple(facts))
    assert facts_hash("Titre", "Texte\n", facts) == expected


def test_an_advisory_item_keeps_shared_facts_and_states_their_cves() -> None:
    facts = bulletin(VENDOR_LINKS, OWN)

    def item_of(stated: SharedFacts | tuple[VulnFacts, ...]) -> ParsedItem:
        return advisory_item(
            "s",
            identity="x",
            title="T",
            text="CVE-2025-0001",
            url=None,
            published=None,
            language="fr",
            facts=stated,
        )

    item, as_tuple = item_of(facts), item_of(tuple(facts))
    assert item.facts is facts and isinstance(as_tuple.facts, tuple)
    assert item == as_tuple and item.content_hash == as_tuple.content_hash
    assert item.cves == ("CVE-2025-0001", *facts.vuln_ids)


def test_hash_is_pinned() -> None:
    """The literal digest of one fixed advisory: a change here re-marks every stored item."""
    facts = (full_fact("CVE-2026-0002"), VulnFacts("CVE-2026-0001"))
    assert facts_hash("Titre", "Texte", facts) == "1d8540af214849f68d62de2e30383c3e"


def test_hash_sees_every_change() -> None:
    base = (full_fact("CVE-2026-0002"),)
    changed = [
        (full_fact("CVE-2026-0003"),),
        (full_fact("CVE-2026-0002", cvss=()),),
        (full_fact("CVE-2026-0002", affected=SYSTEMS[:1]),),
        (full_fact("CVE-2026-0002", references=()),),
        (full_fact("CVE-2026-0002", kev=None),),
    ]
    hashes = {facts_hash("T", "X", facts) for facts in [base, *changed]}
    assert len(hashes) == 1 + len(changed)


#: A few real files of each kind (folder glob, parser kind).
REAL = (
    ("cert-fr-avis/*/*.json", "certfr-json", 40),
    ("csaf-cisa/*-2024/*.json", "csaf", 15),
    ("cve-json5-vulnrichment/*/*.json", "cve-json5", 15),
    ("osv-golang-vulndb/*.json", "osv", 15),
    ("cisa-kev/known_exploited_vulnerabilities.json", "cisa-kev", 1),
)


@pytest.mark.parametrize(("pattern", "kind", "count"), REAL, ids=[k for _, k, _ in REAL])
def test_real_items_keep_the_reference_digest(
    realdata: Path, pattern: str, kind: str, count: int
) -> None:
    files = sorted((realdata / "advisories").glob(pattern))[:count]
    assert files
    items = [
        item
        for path in files
        for item in parse_document(
            kind, "s", path.read_bytes(), url=path.as_uri(), fetched_at=WHEN
        ).items
    ]
    assert items
    for item in items:
        assert item.content_hash == reference_hash(item.title, item.text, item.facts)


@pytest.mark.parametrize(
    "ids",
    [
        {"CVE-2026-10000", "CVE-2026-9999", "CVE-2025-123456", "CVE-2026-0042", "CVE-2024-1000"},
        {"CVE-2026-01234", "CVE-2026-9999"},  # a leading zero: by number, not by length
        {"CVE-2026-\u0661\u0662\u0663\u0664", "CVE-2026-0999"},  # digits of another script
        {"CVE-0999-1234", "CVE-999-1235", "CVE-2026-1234\n", "CVE-2026-1233"},
        {"CVE-2026-0001"},
        set(),
    ],
)
def test_cve_ids_sort_by_year_then_number(ids: set[str]) -> None:
    assert _sorted_cves(ids) == tuple(sorted(ids, key=_cve_key))
