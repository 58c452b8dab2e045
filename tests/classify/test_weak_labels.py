"""Weak labels: what the store's advisories teach, checked on rules and on real advisories."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from techwatch.classify import training, weak
from techwatch.classify.corpus import Document, Example
from techwatch.classify.documents import DOCUMENT_CHARS
from techwatch.classify.weak import WeakExample
from techwatch.config import load_sources
from techwatch.importer import import_files


@pytest.mark.parametrize(
    ("score", "band"),
    [
        (None, None),
        (0.0, None),
        (0.1, "low"),
        (3.9, "low"),
        (4.0, "medium"),
        (6.9, "medium"),
        (7.0, "high"),
        (8.9, "high"),
        (9.0, "critical"),
        (10.0, "critical"),
    ],
)
def test_cvss_bands_are_the_taxonomy_s(score: float | None, band: str | None) -> None:
    assert weak.severity_band(score) == band


@pytest.mark.parametrize(
    ("stated", "sectors"),
    [
        (["Critical Manufacturing"], ("industry",)),
        (["Energy", "Transportation Systems"], ("industry",)),
        (["Healthcare and Public Health Sector"], ("health",)),
        (["Commercial Facilities", "Financial Services"], ("finance", "retail_hospitality")),
        (["Government Facilities", "Information Technology"], ("public_admin", "it_services")),
        (["Energy", "and Water and Wastewater Systems."], ("industry",)),
        (["Nuclear Reactors", "Materials", "and Waste"], ("industry",)),
        (["Defense Industrial Base; Energy; Government Facilities"], ("public_admin", "industry")),
        # a part we cannot map makes the whole list unknown, never a partial answer
        (["Multiple"], None),
        (["Energy", "Multiple Sectors"], None),
        (["Critical Infrastructure Sectors"], None),
        ([], None),
    ],
)
def test_cisa_sectors_map_to_ours(stated: list[str], sectors: tuple[str, ...] | None) -> None:
    assert weak.map_sectors(stated) == sectors


@pytest.mark.parametrize(
    ("text", "exploited"),
    [
        ("Google indique que la vulnérabilité CVE-2025-6558 est activement exploitée.", True),
        ("Microsoft indique que les vulnérabilités ... sont activement exploitées.", True),
        ("L'éditeur a connaissance d'une exploitation active de la vulnérabilité.", True),
        ("Les vulnérabilités sont exploitées dans le cadre d'attaques ciblées.", True),
        ("CISA is aware of reports that this flaw is exploited in the wild.", True),
        ("De multiples vulnérabilités permettent une exécution de code à distance.", False),
        ("No known public exploitation specifically targeting these vulnerabilities.", False),
        ("Successful exploitation could allow an attacker to execute code.", False),
    ],
)
def test_reports_of_exploitation(text: str, exploited: bool) -> None:
    assert weak.reports_exploitation(text) is exploited


def _row(kind: str, **fields: Any) -> dict[str, Any]:
    base = {"id": "x1", "kind": kind, "source_id": "s", "title": "t", "text": "", "language": None}
    return {**base, "vulns": 1, "cvss": [], "kev": False, "kev_ransomware": False, **fields}


def _cvss(score: float, version: str = "3.1") -> dict[str, Any]:
    return {"version": version, "vector": None, "base_score": score, "severity": None}


@pytest.mark.parametrize(
    ("row", "expected"),
    [
        # CVE records: severity from the best CVSS (newest version), exploited when in KEV
        (_row("cve-json5", cvss=[_cvss(9.8)]), ("weak:cve", ("vulnerability",), None, "critical")),
        (
            _row("cve-json5", cvss=[_cvss(9.8, "2.0"), _cvss(5.3)], kev=True),
            ("weak:cve", ("vulnerability", "exploited"), None, "medium"),
        ),
        (_row("osv", cvss=[_cvss(2.0)]), ("weak:cve", ("vulnerability",), None, "low")),
        (_row("cve-json5", cvss=[]), None),  # no score, no example
        (_row("cve-json5", cvss=[_cvss(8.0)], vulns=3), None),  # not one CVE record
        # KEV entries
        (_row("cisa-kev", kev=True), ("weak:kev", ("vulnerability", "exploited"), None, None)),
        (
            _row("cisa-kev", kev=True, kev_ransomware=True),
            ("weak:kev", ("vulnerability", "exploited", "ransomware"), None, None),
        ),
        # CERT-FR: avis only
        (
            _row("certfr-json", title="CERT-FR avis : Vulnérabilité (CERTFR-2025-AVI-0030)"),
            ("weak:certfr", ("vulnerability",), None, None),
        ),
        (
            _row(
                "certfr-json",
                title="CERT-FR avis : Chrome (CERTFR-2025-AVI-0039)",
                text="Google indique que la vulnérabilité est activement exploitée.",
            ),
            ("weak:certfr", ("vulnerability", "exploited"), None, None),
        ),
        (_row("certfr-json", title="CERT-FR alerte : Ivanti (CERTFR-2025-ALE-001)"), None),
        # CSAF: sectors when stated and mappable
        (
            _row("csaf", text="Summary.\nCritical infrastructure sectors: Energy, Dams\nMore"),
            ("weak:csaf", ("vulnerability",), ("industry",), None),
        ),
        (_row("csaf", text="Critical infrastructure sectors: Multiple"), None),
        (_row("csaf", text="A vendor advisory without sectors."), None),
        (_row("feed", cvss=[_cvss(9.8)]), None),
    ],
)
def test_what_each_kind_of_advisory_teaches(row: dict[str, Any], expected: Any) -> None:
    found = weak.weak_example(row)
    if expected is None:
        assert found is None
        return
    assert found is not None
    e = found.example
    assert (found.origin, e.topics, e.sectors, e.severity) == expected
    assert e.document.id == "store:x1"


def test_the_cap_takes_strata_in_turn() -> None:
    def one(i: int, stratum: str) -> WeakExample:
        return WeakExample("weak:cve", Example(Document(f"e{i}", "t", "")), stratum)

    examples = [one(i, "medium") for i in range(10)] + [one(10, "low"), one(11, "critical")]
    chosen = weak.balanced(examples, 4)
    assert [w.example.document.id for w in chosen] == ["e11", "e10", "e0", "e1"]
    assert weak.balanced(examples, 100) != examples  # reordered, nothing lost
    assert len(weak.balanced(examples, 100)) == len(examples)


def test_long_texts_are_cut_like_classified_items() -> None:
    row = _row("cisa-kev", kev=True, text="word " * 5_000)
    found = weak.weak_example(row)
    assert found is not None
    assert len(found.example.document.text) == DOCUMENT_CHARS < len(row["text"])


# --- real advisories imported into a real store ----------------------------------------------

SOURCES = """\
sources:
  - {id: kev, name: KEV, kind: cisa-kev, url: 'https://www.cisa.gov/kev.json', category: advisory}
  - {id: cve, name: CVE, kind: cve-json5, url: 'https://cve.example/records', category: advisory}
  - {id: ics, name: CISA ICS, kind: csaf, url: 'https://www.cisa.gov/csaf', category: advisory}
  - id: certfr
    name: CERT-FR
    kind: certfr-json
    url: 'https://www.cert.ssi.gouv.fr/avis/feed/'
    category: advisory
    language: fr
"""
FILES = {
    "kev": ["api-samples/kev-catalog_trimmed_2.json"],
    "cve": [
        "cve-json5-vulnrichment/kev/CVE-2018-13382.json",  # 9.1, in KEV
        "cve-json5-vulnrichment/random-2023-2024/CVE-2024-30043.json",  # 6.5
        "cve-json5-vulnrichment/random-2023-2024/CVE-2024-30336.json",  # 7.8
        "cve-json5-vulnrichment/kev/CVE-2020-0618.json",  # no CVSS: teaches nothing
    ],
    "ics": [
        "csaf-cisa/OT-2024/icsa-24-011-03.json",  # Energy, Transportation Systems
        "csaf-cisa/OT-2024/icsa-24-025-01.json",  # Healthcare and Public Health Sector
        "csaf-cisa/OT-2024/icsa-24-025-02.json",  # Commercial Facilities
        "csaf-cisa/OT-2024/icsa-24-011-06.json",  # Multiple: teaches nothing
    ],
    "certfr": [
        "cert-fr-avis/2025/CERTFR-2025-AVI-0030.json",  # "activement exploitée"
        "cert-fr-avis/2025/CERTFR-2025-AVI-0001.json",
    ],
}


@pytest.fixture(scope="module")
def store(realdata: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    home = tmp_path_factory.mktemp("weak")
    (home / "sources.yml").write_text(SOURCES)
    config = load_sources(home / "sources.yml")
    db = home / "var" / "techwatch.duckdb"
    for source_id, names in FILES.items():
        report = import_files(db, config, source_id, [realdata / "advisories" / n for n in names])
        assert report.failed == (), report.failed
    return db


def _by_reference(examples: list[WeakExample]) -> dict[str, WeakExample]:
    """Key each example by the CVE, ICSA or CERTFR reference in its title."""
    found = {}
    for w in examples:
        match = re.search(
            r"CVE-\d+-\d+|ICSA-\d+-\d+-\d+|CERTFR-\d+-AVI-\d+", w.example.document.title
        )
        assert match, w.example.document.title
        found[f"{w.origin}:{match[0]}"] = w
    return found


def test_real_advisories_in_the_store_teach_what_they_state(store: Path) -> None:
    harvested = training.read_store(store, weak_cap=250).weak
    found = _by_reference(harvested)
    e = found["weak:cve:CVE-2018-13382"].example
    assert (e.topics, e.sectors, e.severity) == (("vulnerability", "exploited"), None, "critical")
    assert found["weak:cve:CVE-2024-30043"].example.severity == "medium"
    assert found["weak:cve:CVE-2024-30336"].example.severity == "high"
    assert "weak:cve:CVE-2020-0618" not in found
    assert found["weak:csaf:ICSA-24-011-03"].example.sectors == ("industry",)
    assert found["weak:csaf:ICSA-24-025-01"].example.sectors == ("health",)
    assert found["weak:csaf:ICSA-24-025-02"].example.sectors == ("retail_hospitality",)
    assert "weak:csaf:ICSA-24-011-06" not in found
    avis = found["weak:certfr:CERTFR-2025-AVI-0030"].example
    assert avis.topics == ("vulnerability", "exploited") and avis.document.language == "fr"
    assert found["weak:certfr:CERTFR-2025-AVI-0001"].example.topics == ("vulnerability",)
    kev = [w for w in harvested if w.origin == "weak:kev"]
    assert len(kev) == 20
    assert all(w.example.topics[:2] == ("vulnerability", "exploited") for w in kev)
    assert sum("ransomware" in (w.example.topics or ()) for w in kev) == 2
    # Each example teaches only its axes.
    assert all(w.example.severity is None for w in harvested if w.origin != "weak:cve")
    assert all(w.example.sectors is None for w in harvested if w.origin != "weak:csaf")


def test_the_cap_holds_per_kind_and_training_data_counts_origins(store: Path) -> None:
    data = training.gather(store, include_seed=False, weak_cap=3)
    assert data.origins == {"weak:certfr": 2, "weak:csaf": 3, "weak:cve": 3, "weak:kev": 3}
    assert len(data.examples) == 11 and data.train_only == []
    assert "store" in data.sources


def test_a_consultant_label_overrides_the_weak_one_axis_by_axis() -> None:
    kev = weak.weak_example(_row("cisa-kev", id="i1", kev=True, title="CISA KEV: Ivanti"))
    cve = weak.weak_example(_row("cve-json5", id="i2", cvss=[_cvss(5.0)], title="CVE record"))
    assert kev is not None and cve is not None
    at = datetime(2026, 11, 28, tzinfo=UTC)
    history = {
        "i1": [{"item_id": "i1", "labelled_by": "alice", "labelled_at": at, "severity": "critical"}]
    }
    store = training.StoreLabels(
        weak=[kev, cve],
        labelled=[{"id": "i1", "title": "CISA KEV: Ivanti", "text": ""}],
        history=history,
    )
    data = training.combine([], [], store)
    assert [e.document.id for e in data.examples] == ["store:i2"]
    [corrected] = data.train_only
    assert corrected.document.id == "store:i1"
    assert corrected.severity == "critical"  # the consultant's
    assert corrected.topics == ("vulnerability", "exploited")  # the KEV entry's, not said again
    assert data.origins == {"consultant": 1, "weak:cve": 1}
