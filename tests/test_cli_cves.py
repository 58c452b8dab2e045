"""`techwatch cves list|show|refresh`, and `techwatch import` of an EPSS daily file."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import pytest

from techwatch.cli import main
from techwatch.cli.cves import epss_text

KEV = Path(__file__).parents[1] / "techwatch" / "demo" / "feeds" / "kev.json"

SOURCES = """\
sources:
  - id: kev
    name: KEV
    kind: cisa-kev
    url: https://www.cisa.gov/kev.json
    category: advisory
  - id: first-epss
    name: FIRST EPSS
    kind: epss
    url: https://epss.cyentia.com/epss_scores-current.csv.gz
    category: advisory
"""


def epss_file(folder: Path, day: str, scores: dict[str, float]) -> Path:
    lines = [f"#model_version:v2025.03.14,score_date:{day}T00:00:00+0000", "cve,epss,percentile"]
    lines += [f"{cve},{score:.5f},{min(1.0, score + 0.05):.5f}" for cve, score in scores.items()]
    path = folder / f"epss_scores-{day}.csv.gz"
    path.write_bytes(gzip.compress(("\n".join(lines) + "\n").encode()))
    return path


def run(capsys: pytest.CaptureFixture[str], home: Path, *args: str) -> tuple[int, str, str]:
    code = main([*args, "--home", str(home)])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


@pytest.fixture(scope="module")
def home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """KEV's demo catalog and two days of EPSS, imported through the CLI."""
    folder = tmp_path_factory.mktemp("home")
    (folder / "sources.yml").write_text(SOURCES)
    day1 = epss_file(folder, "2026-11-26", {"CVE-2026-48213": 0.12, "CVE-2026-48260": 0.30})
    day2 = epss_file(folder, "2026-11-27", {"CVE-2026-48213": 0.64, "CVE-2026-48260": 0.31})
    for args in (["--source", "kev", str(KEV)], ["--source", "first-epss", str(day1), str(day2)]):
        assert main(["import", "--home", str(folder), *args, "--json"]) == 0
    return folder


def test_importing_epss_files_stores_scores_and_no_items(
    home: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    again = epss_file(tmp_path, "2026-11-27", {"CVE-2026-48213": 0.64})
    code, out, _ = run(capsys, home, "import", "--source", "first-epss", str(again), "--json")
    report = json.loads(out)
    assert code == 0
    assert (report["epss_scores"], report["new_items"], report["failed"]) == (1, 0, [])


def test_list_shows_every_cve_with_its_latest_epss(
    home: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = run(capsys, home, "cves", "list", "--json")
    rows = {r["cve_id"]: r for r in json.loads(out)}
    assert code == 0 and len(rows) == 3
    fortios = rows["CVE-2026-48213"]
    assert (fortios["epss"], fortios["epss_previous"]) == (0.64, 0.12)
    assert (fortios["kev"], fortios["kev_ransomware"], fortios["vendors"]) == (
        True,
        True,
        ["Fortinet"],
    )


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["--kev"], {"CVE-2026-48213", "CVE-2026-48260", "CVE-2026-48395"}),
        (["--min-epss", "0.5"], {"CVE-2026-48213"}),
        (["--min-epss", "0.3"], {"CVE-2026-48213", "CVE-2026-48260"}),
        (["--vendor", "micro"], {"CVE-2026-48260"}),
        (["--vendor", "nobody"], set()),
        (["--since", "1d"], {"CVE-2026-48213", "CVE-2026-48260", "CVE-2026-48395"}),
        (["--since", "2099-01-01"], set()),
    ],
)
def test_list_filters(
    home: Path, capsys: pytest.CaptureFixture[str], args: list[str], expected: set[str]
) -> None:
    code, out, _ = run(capsys, home, "cves", "list", *args, "--json")
    assert code == 0
    assert {r["cve_id"] for r in json.loads(out)} == expected


def test_list_limit_and_table(home: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, home, "cves", "list", "--limit", "1", "--json")
    assert code == 0 and len(json.loads(out)) == 1
    code, out, _ = run(capsys, home, "cves", "list", "--min-epss", "0.5")
    assert code == 0 and out.startswith("1 CVEs")


@pytest.mark.parametrize(
    ("score", "previous", "text"),
    [
        (0.64, 0.12, "0.640 (+0.520)"),
        (0.2, 0.3, "0.200 (-0.100)"),
        (0.2, 0.2001, "0.200"),
        (0.2, None, "0.200"),
        (None, 0.2, ""),
    ],
)
def test_epss_text_shows_the_jump(score: float | None, previous: float | None, text: str) -> None:
    assert epss_text(score, previous) == text


def test_show_gives_everything_about_one_cve(
    home: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = run(capsys, home, "cves", "show", "cve-2026-48213", "--json")
    row = json.loads(out)
    assert code == 0
    assert row["cve_id"] == "CVE-2026-48213"
    assert [h["date"] for h in row["epss_history"]] == ["2026-11-27", "2026-11-26"]
    assert [i["source_id"] for i in row["mentioned_by"]] == ["kev"]
    assert row["kev_required_action"]
    code, out, _ = run(capsys, home, "cves", "show", "CVE-2026-48213")
    assert code == 0
    assert "EPSS history" in out and "KEV added" in out and "Fortinet" in out


@pytest.mark.parametrize(
    ("cve", "code", "message"),
    [("CVE-1999-0001", 1, "no item mentions CVE-1999-0001"), ("log4shell", 2, "not a CVE id")],
)
def test_show_unknown_or_malformed_ids(
    home: Path, capsys: pytest.CaptureFixture[str], cve: str, code: int, message: str
) -> None:
    got, out, err = run(capsys, home, "cves", "show", cve)
    assert (got, out) == (code, "")
    assert message in " ".join(err.split())


def test_refresh_rebuilds_every_row(home: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, home, "cves", "refresh", "--json")
    report = json.loads(out)
    assert code == 0
    assert (report["items"], report["cves"]) == (3, 3)


def test_without_a_database_list_is_a_runtime_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = run(capsys, tmp_path, "cves", "list")
    assert (code, out) == (1, "")
    assert "no database" in err
