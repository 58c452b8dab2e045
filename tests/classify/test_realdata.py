"""Real labelled advisories -> examples: the mapping on tiny inline CSVs, then on the real files."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from techwatch.classify import realdata as real
from techwatch.classify import train_and_save, training
from techwatch.classify.model import is_heldout
from techwatch.classify.training import gather
from tests.classify.conftest import TEST_BITS

NOW = datetime(2026, 11, 28, 3, 0, tzinfo=UTC)

CVE_CSV = """\
cve_id,date_published,assigner,vendor,product,title,description_en,cvss_version,cvss_base_score,\
cvss_base_severity,cvss_source,cwe_ids,ssvc_exploitation,ssvc_automatable,ssvc_technical_impact,\
in_cisa_kev
CVE-2024-0001,2024-01-02,x,Fortinet,FortiOS,,"A heap overflow in <b>sslvpnd</b> allows RCE.",\
V3.1,9.8,CRITICAL,cna,CWE-122,active,yes,total,yes
CVE-2024-0002,2024-01-03,x,n/a,n/a,,"Cross-site scripting in the admin page. Fixed in 2.1.",V3.1,\
5.4,MEDIUM,cna,CWE-79,none,no,partial,no
CVE-2024-0003,2024-01-04,x,Acme,Widget,Widget login bypass,"Login bypass.",,,NONE,,,,,,no
CVE-2024-0004,2024-01-05,x,n/a,n/a,,"",,,,,,,,,no
"""
CERTFR_CSV = """\
reference,first_revision_date,title_fr,summary_fr,risks_fr,vendors,products,scada_flag,cves,n_cves,\
vendor_advisory_titles
CERTFR-2024-AVI-0001,2024-01-05,Vulnérabilité dans Cisco IOS XR,"Une vulnérabilité a été \
corrigée dans <span class=""textit"">Cisco IOS XR</span>.",Déni de service,,,no,CVE-1,1,x
"""
ICS_CSV = """\
advisory_id,csaf_path,initial_release_date,current_release_date,title,vendors,products,\
critical_infrastructure_sectors,countries_deployed,company_hq,risk_summary,cves,cwe_ids,\
max_cvss_v3_score,max_cvss_v3_severity,cvss_v4_max_score
ICSA-24-001-01,p,d,d,Siemens SCALANCE,Siemens,SCALANCE,"Critical Manufacturing, Energy",W,G,\
Successful exploitation could allow code execution.,CVE-1,CWE-1,9.8,CRITICAL,
ICSA-24-002-01,p,d,d,Baxter pump,Baxter,Pump,Healthcare and Public Health,W,U,Pump flaw.,CVE-2,\
CWE-2,5.0,MEDIUM,
ICSA-24-003-01,p,d,d,Several products,V,P,Multiple,W,U,Flaws.,CVE-3,CWE-3,7.5,HIGH,
"""


def test_cve_rows_teach_severity_and_topics_titled_as_the_product_titles_them() -> None:
    kev, plain, no_severity, empty = real.parse("cve_descriptions", CVE_CSV)
    assert kev.document.title == "Fortinet FortiOS vulnerability (CVE-2024-0001)"
    assert kev.document.text == "A heap overflow in sslvpnd allows RCE."
    assert (kev.topics, kev.severity) == (("vulnerability", "exploited"), "critical")
    assert plain.document.title == "Cross-site scripting in the admin page (CVE-2024-0002)"
    assert (plain.topics, plain.severity) == (("vulnerability",), "medium")
    assert no_severity.document.title == "Widget login bypass (CVE-2024-0003)"
    assert no_severity.severity is None  # CVSS NONE: unknown, not `info`
    assert empty.document.title == "CVE-2024-0004" and empty.severity is None


def test_certfr_and_ics_rows() -> None:
    (avis,) = real.parse("certfr_avis_fr", CERTFR_CSV)
    assert avis.document.text == "Une vulnérabilité a été corrigée dans Cisco IOS XR."
    assert (avis.topics, avis.sectors, avis.severity) == (("vulnerability",), None, None)
    assert avis.document.language == "fr"
    plant, pump, several = real.parse("cisa_ics", ICS_CSV)
    assert (plant.sectors, plant.severity) == (("industry",), "critical")
    assert (pump.sectors, pump.severity) == (("health",), "medium")
    assert several.sectors is None  # 'Multiple' says nothing about which sectors


@pytest.mark.parametrize(
    ("value", "expected"),
    [("CRITICAL", "critical"), (" high ", "high"), ("LOW", "low"), ("NONE", None), ("", None)],
)
def test_severity(value: str, expected: str | None) -> None:
    assert real.severity(value) == expected


def test_caps_limit_what_each_row_teaches_and_drop_rows_that_teach_nothing() -> None:
    examples = real.parse("cve_descriptions", CVE_CSV)
    capped = real.for_training({"cve": examples}, topics_cap=2, severity_cap=1)["cve"]
    assert len(capped) == 2  # two rows keep topics, one of them severity too; two teach nothing
    assert sum(e.severity is not None for e in capped) == 1
    assert all(e.topics is not None for e in capped)
    again = real.for_training({"cve": list(reversed(examples))}, topics_cap=2, severity_cap=1)
    assert again["cve"] == capped  # a stable draw, whatever the file order
    assert real.origins({"cve": capped}) == {"realdata:cve": 2}
    assert {e.weight for e in capped} == {real.SEVERITY_WEIGHT}
    lighter = real.for_training({"cve": examples}, topics_cap=2, severity_weight=0.5)["cve"]
    assert {e.weight for e in lighter} == {0.5}


def test_default_folder_follows_the_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TECHWATCH_REALDATA", str(tmp_path))
    assert real.default_folder() is None
    (tmp_path / "labeled").mkdir()
    assert real.default_folder() == tmp_path / "labeled"


def test_gather_adds_real_rows_once_and_counts_them(tmp_path: Path, tiny_file: Path) -> None:
    folder = tmp_path / "labeled"
    folder.mkdir()
    (folder / real.CVE_FILE).write_text(CVE_CSV, encoding="utf-8")
    (folder / real.ICS_FILE).write_text(ICS_CSV, encoding="utf-8")
    written = tmp_path / "cve-train.jsonl"  # bench --write output given with --labels
    written.write_text('{"id": "CVE-2024-0001", "title": "t", "severity": "critical"}\n')
    data = gather(None, [tiny_file, written], include_seed=False, realdata_folder=folder)
    assert data.origins == {
        "labels-files": 51,
        "realdata:cisa_ics": 3,
        "realdata:cve_descriptions": 3,
    }
    assert str(folder) in data.sources


def test_real_files_map_with_a_clean_split(realdata: Path) -> None:
    sets = real.load(realdata / "labeled", part="train", limit=2_000)
    assert set(sets) == set(real.SETS)
    for examples in sets.values():
        assert examples and not any(is_heldout(e.document.id) for e in examples)
    cve = sets["cve_descriptions"]
    assert {e.severity for e in cve} - {None} == {"low", "medium", "high", "critical"}
    assert not any(e.document.title == e.document.id for e in cve if e.document.text)
    ics = sets["cisa_ics"]
    assert sum("industry" in (e.sectors or ()) for e in ics) > len(ics) / 3
    test_part = real.load(realdata / "labeled", part="test", limit=2_000)
    ids = {e.document.id for examples in test_part.values() for e in examples}
    assert ids and ids.isdisjoint(e.document.id for examples in sets.values() for e in examples)


def test_the_default_model_says_what_it_was_trained_on(
    tmp_path: Path, tiny_file: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "real" / "labeled").mkdir(parents=True)
    (tmp_path / "real" / "labeled" / real.ICS_FILE).write_text(ICS_CSV, encoding="utf-8")
    monkeypatch.setenv("TECHWATCH_REALDATA", str(tmp_path / "real"))
    monkeypatch.setattr(training, "seed_files", lambda: [tiny_file])
    model = train_and_save(tmp_path / "models", now=NOW, bits=TEST_BITS)
    assert model.metadata["origins"] == {"realdata:cisa_ics": 3, "seed": 50}
    assert str(tmp_path / "real" / "labeled") in model.metadata["sources"]
    assert model.metadata["features"]["structured"] == {"cvss_stated": 1.0, "cvss_words": 1.0}
