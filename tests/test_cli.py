"""The CLI contract: exit codes 0/1/2, --json puts only JSON on stdout, options over env."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from techwatch.cli import main
from techwatch.storage import open_writer
from techwatch.types import ParsedItem, Source, SourceOutcome

SOURCES_YML = """\
sources:
  - id: cert-demo
    name: CERT demo
    kind: feed
    url: https://cert.example.org/feed.xml
    category: advisory
    language: fr
  - id: press-demo
    name: Press demo
    kind: feed
    url: https://press.example.org/rss
    category: press
    language: en
"""


def _item(source: str, n: int, title: str, text: str, lang: str, published: datetime) -> ParsedItem:
    return ParsedItem(
        source_id=source,
        identity=f"{source}-{n}",
        url=f"https://{source}.example/{n}",
        canonical_url=f"https://{source}.example/{n}",
        title=title,
        text=text,
        html=f"<p>{text}</p>",
        published=published,
        language=lang,
        content_hash=f"h{n}{source}",
    )


@pytest.fixture
def home(tmp_path: Path) -> Path:
    """A home with sources.yml and a database holding three items."""
    (tmp_path / "sources.yml").write_text(SOURCES_YML)
    now = datetime.now(UTC)
    sources = [
        Source("cert-demo", "CERT demo", "feed", "https://cert.example.org/feed.xml", "advisory"),
        Source("press-demo", "Press demo", "feed", "https://press.example.org/rss", "press"),
    ]
    items_cert = (
        _item(
            "cert-demo",
            1,
            "Vulnérabilité critique dans FortiOS",
            "Une faille CVE-2026-48001 permet une exécution de code à distance.",
            "fr",
            now - timedelta(days=1),
        ),
    )
    items_press = (
        _item(
            "press-demo",
            2,
            "Ransomware hits a municipality",
            "A ransomware group encrypted the servers of a small town.",
            "en",
            now - timedelta(days=2),
        ),
        _item(
            "press-demo",
            3,
            "Old news about printers",
            "Printers are still annoying.",
            "en",
            now - timedelta(days=40),
        ),
    )
    outcomes = [
        SourceOutcome("cert-demo", "ok", now, 0.2, http_status=200, entries=1, items=items_cert),
        SourceOutcome("press-demo", "ok", now, 0.3, http_status=200, entries=2, items=items_press),
    ]
    with open_writer(tmp_path / "var" / "techwatch.duckdb") as writer:
        writer.sync_sources(sources, now)
        writer.begin_run("run-1", started_at=now, kind="test", flow_run_id=None)
        writer.write_outcomes("run-1", outcomes, [], now)
        writer.rebuild_search_index()
        writer.finish_run("run-1", finished_at=now, status="ok", summary={})
    return tmp_path


def _run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_help_lists_the_command_groups(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = _run(capsys, "--help")
    assert code == 0
    for group in ("sources", "items", "db", "ingest", "demo", "runs"):
        assert group in out


def test_unknown_command_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = _run(capsys, "frobnicate")
    assert code == 2
    assert out == ""
    assert "frobnicate" in err


def test_items_list_json_is_only_json(home: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = _run(capsys, "items", "list", "--home", str(home), "--json")
    assert code == 0
    rows = json.loads(out)
    assert [r["source_id"] for r in rows] == ["cert-demo", "press-demo", "press-demo"]


def test_items_list_filters(home: Path, capsys: pytest.CaptureFixture[str]) -> None:
    _, out, _ = _run(capsys, "items", "list", "--home", str(home), "--since", "7d", "--json")
    assert len(json.loads(out)) == 2
    _, out, _ = _run(capsys, "items", "list", "--home", str(home), "--lang", "fr", "--json")
    assert [r["language"] for r in json.loads(out)] == ["fr"]
    _, out, _ = _run(
        capsys,
        "items",
        "list",
        "--home",
        str(home),
        "--source",
        "press-demo",
        "--limit",
        "1",
        "--json",
    )
    assert len(json.loads(out)) == 1


def test_bad_since_is_a_usage_error(home: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = _run(capsys, "items", "list", "--home", str(home), "--since", "lately")
    assert code == 2
    assert out == ""
    assert "--since" in err


def test_items_show_and_missing_item(home: Path, capsys: pytest.CaptureFixture[str]) -> None:
    _, out, _ = _run(capsys, "items", "list", "--home", str(home), "--lang", "fr", "--json")
    item_id = json.loads(out)[0]["id"]
    code, out, _ = _run(capsys, "items", "show", item_id, "--home", str(home), "--json")
    assert code == 0
    assert json.loads(out)["cves"] == [] or "CVE" in json.loads(out)["text"]
    code, out, err = _run(capsys, "items", "show", "nope", "--home", str(home))
    assert code == 1
    assert "nope" in err


def test_search_ranks_matching_items(home: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = _run(capsys, "items", "search", "ransomware", "--home", str(home), "--json")
    assert code == 0
    rows = json.loads(out)
    assert rows and rows[0]["title"] == "Ransomware hits a municipality"


def test_db_info_and_migrate(home: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = _run(capsys, "db", "migrate", "--home", str(home), "--json")
    assert code == 0
    assert json.loads(out)["applied"] == []
    code, out, _ = _run(capsys, "db", "info", "--home", str(home), "--json")
    info = json.loads(out)
    assert info["counts"]["items"] == 3
    assert info["schema_version"] >= 1


def test_missing_database_is_a_runtime_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = _run(capsys, "items", "list", "--home", str(tmp_path))
    assert code == 1
    assert out == ""
    assert "database" in err


def test_environment_selects_the_database(
    home: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TECHWATCH_DB", str(home / "var" / "techwatch.duckdb"))
    monkeypatch.chdir(tmp_path.parent)
    code, out, _ = _run(capsys, "items", "list", "--json")
    assert code == 0 and len(json.loads(out)) == 3
    code, _, _ = _run(capsys, "items", "list", "--db", str(tmp_path / "none.duckdb"), "--json")
    assert code == 1, "the option wins over the environment"


def test_sources_check_names_file_line_and_field(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bad = tmp_path / "sources.yml"
    bad.write_text(SOURCES_YML.replace("    category: press", "    categry: press"))
    code, out, err = _run(capsys, "sources", "check", "--sources", str(bad))
    assert code == 2
    assert out == ""
    assert "sources.yml" in err and "categry" in err and "press-demo" in err


def test_sources_list_json(home: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = _run(capsys, "sources", "list", "--home", str(home), "--json")
    assert code == 0
    assert [s["id"] for s in json.loads(out)] == ["cert-demo", "press-demo"]


def test_sources_health_json(home: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = _run(capsys, "sources", "health", "--home", str(home), "--json")
    assert code == 0
    assert {row["id"] for row in json.loads(out)} == {"cert-demo", "press-demo"}


def test_a_stated_vulnerability_shows_its_best_cvss_kev_and_exploitation() -> None:
    from datetime import date

    from techwatch.cli.items import _vuln_line

    def score(version: str, base: float | None) -> dict[str, object]:
        return {
            "version": version,
            "vector": None,
            "base_score": base,
            "severity": "HIGH",
            "source": None,
            "problem": None,
        }

    vuln = {
        "vuln_id": "CVE-2026-48213",
        "cvss": [score("2.0", 10.0), score("3.1", 8.1), score("4.0", None)],
        "kev_date_added": date(2026, 11, 18),
        "kev_ransomware": True,
        "ssvc": [{"point": "Exploitation", "value": "active"}],
    }
    assert _vuln_line(vuln) == (
        "CVE-2026-48213 | CVSS 3.1 8.1 HIGH | KEV since 2026-11-18, ransomware"
        " | exploitation: active"
    )
