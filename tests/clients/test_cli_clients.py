"""`techwatch clients ...`: exit codes 0/1/2, --json holds only JSON, --clients over the env."""

from __future__ import annotations

import json
import shutil
from importlib.resources import files
from pathlib import Path

import pytest

from techwatch.cli import main
from techwatch.clients.config import load_client

DEMO = Path(str(files("techwatch.demo") / "clients"))
IDS = ["commune-montvert", "dental-lausanne", "fiduciaire-geneve", "shop-vevey", "verein-biel"]


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


@pytest.fixture
def home(tmp_path: Path) -> Path:
    """A home whose clients/ folder holds a copy of the demo clients."""
    shutil.copytree(DEMO, tmp_path / "clients")
    return tmp_path


def test_help_lists_the_clients_commands(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "clients", "--help")
    assert code == 0
    for command in ("list", "show", "check", "import"):
        assert command in out


def test_list_json_is_only_json(home: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(capsys, "clients", "list", "--home", str(home), "--json")
    assert code == 0, err
    rows = json.loads(out)
    assert [r["id"] for r in rows] == IDS
    dental = rows[1]
    assert dental["cadence"] == "weekly monday"
    assert (dental["assets"], dental["providers"], dental["contacts"]) == (4, 2, 2)
    assert {r["language"] for r in rows} == {"fr", "de", "en"}


def test_list_as_a_table(home: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "clients", "list", "--home", str(home))
    assert code == 0
    assert out.startswith("5 clients")
    for header in ("id", "lang", "sectors", "cadence", "assets"):
        assert f" {header} " in out
    assert "dental-l" in out and "monthly" in out


def test_show_json_is_the_full_profile(home: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "clients", "show", "dental-lausanne", "--home", str(home), "--json")
    assert code == 0
    profile = json.loads(out)
    assert profile["id"] == "dental-lausanne"
    assert profile["cadence"] == {"kind": "weekly", "weekday": 0, "day": 1}
    firewall = next(a for a in profile["assets"] if a["product"] == "FortiOS")
    assert firewall["version"] == "7.2.3" and firewall["exposure"] == "exposed"
    assert profile["providers"][0]["name"] == "HIN"


def test_show_as_text_has_an_assets_table(home: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "clients", "show", "verein-biel", "--home", str(home))
    assert code == 0
    assert "Quartierverein Beispiel" in out and "2 assets" in out and "1 providers" in out
    assert "monthly 15" in out


def test_show_an_unknown_client_is_a_usage_error(
    home: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = run(capsys, "clients", "show", "nope", "--home", str(home), "--json")
    assert (code, out) == (2, "")
    assert 'no client "nope"' in err and "dental-lausanne" in err


def test_check_ok_and_json(home: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "clients", "check", "--home", str(home))
    assert code == 0
    assert out.startswith(f"5 clients OK ({home / 'clients'})")
    assert "NAS" in out and "Not searched in news text" in out  # a term too common to search
    code, out, _ = run(capsys, "clients", "check", "--home", str(home), "--json")
    checked = json.loads(out)
    assert {k: checked[k] for k in ("folder", "clients", "ids")} == {
        "folder": str(home / "clients"),
        "clients": 5,
        "ids": IDS,
    }
    assert {"client_id": "dental-lausanne", "term": "NAS", "why": "common"} in checked["ignored"]


def test_check_prints_every_error_and_exits_2(
    home: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = home / "clients" / "shop-vevey.yml"
    path.write_text(
        path.read_text(encoding="utf-8")
        .replace("criticality: 3", "criticality: 7", 1)
        .replace("language: en", "language: no"),
        encoding="utf-8",
    )
    code, out, err = run(capsys, "clients", "check", "--home", str(home), "--json")
    assert (code, out) == (2, "")
    assert f"{path}: 2 errors in the configuration:" in err
    assert f'{path}:4: field "language": must be one of: fr, de, en; got "no"' in err
    assert f'{path}:19: assets[0] (name "Online shop"): field "criticality": must be 1-4' in err


def test_the_clients_option_wins_over_the_environment(
    home: Path,
    tmp_path_factory: pytest.TempPathFactory,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    elsewhere = tmp_path_factory.mktemp("elsewhere")
    monkeypatch.setenv("TECHWATCH_CLIENTS", str(home / "clients"))
    code, out, _ = run(capsys, "clients", "list", "--home", str(elsewhere), "--json")
    assert code == 0 and len(json.loads(out)) == 5, "the environment applies"
    code, _, err = run(capsys, "clients", "list", "--clients", str(elsewhere / "none"))
    assert code == 2, "the option wins"
    assert f"{elsewhere / 'none'}: clients folder not found" in err


def test_a_missing_folder_says_how_to_set_it(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = run(capsys, "clients", "list", "--home", str(tmp_path))
    assert (code, out) == (2, "")
    assert "--clients PATH" in err and "TECHWATCH_CLIENTS" in err


INVENTORY = (
    "Bezeichnung;Hersteller;Produkt;Version;Kritikalität;Exponiert;Typ;Standort\r\n"
    "Pare-feu;Fortinet;FortiOS;7.2.5;4;ja;Gerät;Empfang\r\n"
    "Drucker;HP;LaserJet Pro;;2;nein;Gerät;Empfang\r\n"
).encode("cp1252")


def test_import_dry_run_then_for_real(
    home: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    source = tmp_path / "inventar.csv"
    source.write_bytes(INVENTORY)
    target = home / "clients" / "dental-lausanne.yml"
    before = target.read_bytes()
    args = ("clients", "import", str(source), "--client", "dental-lausanne", "--home", str(home))
    code, out, err = run(capsys, *args, "--dry-run", "--json")
    assert code == 0
    report = json.loads(out)
    assert report["dry_run"] is True and report["written"] is False
    assert report["updated"] == [
        {"name": "Pare-feu", "fields": {"version": {"old": "7.2.3", "new": "7.2.5"}}}
    ]
    assert [a["name"] for a in report["added"]] == ["Drucker"]
    assert report["ignored_columns"] == ["Standort"]
    assert "ignored columns: Standort" in err
    assert target.read_bytes() == before

    code, out, _ = run(capsys, *args)
    assert code == 0
    assert "updated  Pare-feu: version: 7.2.3 -> 7.2.5" in out
    assert "added    Drucker: vendor: HP" in out
    assert f"wrote {target}" in out
    client = load_client(home / "clients", "dental-lausanne")
    assert [a.name for a in client.assets][-1] == "Drucker"
    assert "# Demo client: a dental practice in Lausanne" in target.read_text(encoding="utf-8")


def test_import_of_bad_rows_exits_2_and_writes_nothing(
    home: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    source = tmp_path / "inventar.csv"
    source.write_bytes(INVENTORY + "Kaputt;X;Y;;9;vielleicht;Gerät;\r\n".encode("cp1252"))
    target = home / "clients" / "dental-lausanne.yml"
    before = target.read_bytes()
    code, out, err = run(
        capsys, "clients", "import", str(source), "--client", "dental-lausanne",
        "--home", str(home), "--json",
    )  # fmt: skip
    assert (code, out) == (2, "")
    assert f"{source}: 2 errors in the inventory, nothing imported:" in err
    assert f'{source}: row 4: column "Exponiert": "vielleicht" is not an exposure' in err
    assert target.read_bytes() == before


def test_import_into_an_unknown_client(
    home: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    source = tmp_path / "inventar.csv"
    source.write_bytes(INVENTORY)
    code, _, err = run(
        capsys, "clients", "import", str(source), "--client", "nobody", "--home", str(home)
    )
    assert code == 2 and 'no client "nobody"' in err
