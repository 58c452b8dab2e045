"""`techwatch import`: files from disk through the source's parser into the store."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from techwatch.cli import main
from techwatch.storage import open_reader

DATA = Path(__file__).parent / "data" / "advisories"

SOURCES = """\
sources:
  - id: kev
    name: KEV
    kind: cisa-kev
    url: https://www.cisa.gov/kev.json
    category: advisory
  - id: certfr
    name: CERT-FR
    kind: certfr-json
    url: https://www.cert.ssi.gouv.fr/avis/feed/
    category: advisory
    language: fr
"""


@pytest.fixture
def home(tmp_path: Path) -> Path:
    (tmp_path / "sources.yml").write_text(SOURCES)
    return tmp_path


def _import(capsys: pytest.CaptureFixture[str], home: Path, *args: str) -> tuple[int, str, str]:
    code = main(["import", "--home", str(home), *args])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_a_kev_catalog_is_imported_and_a_second_import_adds_nothing(
    home: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    catalog = Path(__file__).parents[1] / "techwatch" / "demo" / "feeds" / "kev.json"
    expected = json.loads(catalog.read_text())["count"]
    code, out, _ = _import(capsys, home, "--source", "kev", str(catalog), "--json")
    assert code == 0
    report = json.loads(out)
    assert (report["parsed"], report["new_items"], report["failed"]) == (1, expected, [])
    code, out, _ = _import(capsys, home, "--source", "kev", str(catalog), "--json")
    assert json.loads(out)["new_items"] == 0
    with open_reader(home / "var" / "techwatch.duckdb") as reader:
        assert reader.info()["counts"]["items"] == expected
        runs = reader.runs()
    assert [r["kind"] for r in runs] == ["import", "import"]


def test_a_folder_with_a_broken_file_imports_the_rest_and_names_the_culprit(
    home: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = tmp_path / "avis"
    folder.mkdir()
    shutil.copy(DATA / "certfr_avis.json", folder / "good.json")
    (folder / "broken.json").write_text('{"reference": "CERTFR-2026-AVI-0001", "title": ')
    code, out, _ = _import(capsys, home, "--source", "certfr", str(folder), "--json")
    assert code == 0
    report = json.loads(out)
    assert report["files"] == 2 and report["parsed"] == 1
    [(name, reason)] = report["failed"]
    assert name.endswith("broken.json") and reason.startswith("malformed_advisory")


def test_an_unknown_source_is_a_usage_error(home: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = _import(capsys, home, "--source", "nvd", str(DATA / "kev_catalog.json"))
    assert code == 2
    assert out == ""
    assert "nvd" in err and "kev" in err


def test_imports_every_real_cert_fr_avis(
    realdata: Path, home: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = realdata / "advisories" / "cert-fr-avis" / "2026"
    files = sorted(folder.glob("*.json"))
    code, out, _ = _import(capsys, home, "--source", "certfr", str(folder), "--json")
    assert code == 0
    report = json.loads(out)
    assert report["files"] == len(files) == report["parsed"]
    assert report["new_items"] == len(files)


def test_the_report_gives_the_seconds_of_each_stage(
    home: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    catalog = Path(__file__).parents[1] / "techwatch" / "demo" / "feeds" / "kev.json"
    code, out, _ = _import(capsys, home, "--source", "kev", str(catalog), "--json")
    assert code == 0
    report = json.loads(out)
    stages = report["stage_seconds"]
    assert list(stages) == ["read", "parse", "store", "enrich", "stories", "close"]
    assert all(v >= 0 for v in stages.values())
    assert sum(stages.values()) <= report["seconds"] + 0.05 + stages["close"]
    assert report["new_stories"] > 0 and stages["stories"] > 0
