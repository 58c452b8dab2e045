"""`briefing`, `portfolio`, `exposure`, `search`, `score` and `triage` from the command line,
over a real store and the demo clients: exit codes, --json holding only JSON, files."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from techwatch import watch
from techwatch.cli import main
from techwatch.clients.config import load_clients
from tests.watch_store import CVE, DEMO_CLIENTS, NOW, fortios_store


@pytest.fixture
def home(tmp_path: Path, monkeypatch) -> Path:
    """A home whose store was scored for the demo clients a moment ago (so --since 7d sees it)."""
    monkeypatch.setenv("TECHWATCH_HOME", str(tmp_path))
    monkeypatch.setenv("TECHWATCH_CLIENTS", str(DEMO_CLIENTS))
    monkeypatch.delenv("TECHWATCH_DB", raising=False)
    db = fortios_store(tmp_path / "var" / "techwatch.duckdb")
    now = datetime.now(UTC)
    watch.score(db, load_clients(DEMO_CLIENTS), now, since=NOW - timedelta(hours=1))
    return tmp_path


def run(capsys, *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_portfolio_json_puts_the_dental_practice_first(home, capsys):
    code, out, _ = run(capsys, "portfolio", "--since", "3650d", "--json")
    assert code == 0
    rows = json.loads(out)
    assert rows[0]["client_id"] == "dental-lausanne" and rows[0]["act_now"] == 1
    assert {r["client_id"] for r in rows} == {c.id for c in load_clients(DEMO_CLIENTS)}


def test_briefing_preview_in_every_format(home, capsys, tmp_path):
    code, out, _ = run(
        capsys, "briefing", "dental-lausanne", "--since", "3650d", "--format", "json"
    )
    assert code == 0
    data = json.loads(out)
    assert [e["priority"] for e in data["entries"]][:1] == ["act_now"]
    target = tmp_path / "out" / "b.html"
    code, _, err = run(
        capsys,
        "briefing",
        "dental-lausanne",
        "--since",
        "3650d",
        "--format",
        "html",
        "--out",
        str(target),
    )
    assert code == 0 and "written to" in err
    assert target.read_text().startswith("<!DOCTYPE html>")
    code, out, _ = run(capsys, "briefing", "dental-lausanne", "--since", "3650d")
    assert out.startswith("# Veille technologique")


def test_a_kept_briefing_is_shown_again_exactly(home, capsys):
    week = ("briefing", "dental-lausanne", "--period", "2026-W48", "--format", "json")
    code, out, _ = run(capsys, *week, "--keep")
    assert code == 0
    kept = json.loads(out)
    assert kept["entries"], "the week of the FortiOS flaw"
    assert json.loads(run(capsys, *week)[1]) == kept  # shown again, not rebuilt
    rebuilt = json.loads(run(capsys, *week, "--rebuild")[1])
    assert rebuilt["generated_at"] != kept["generated_at"]
    assert rebuilt["entries"] == kept["entries"]  # same period: told stories still shown


@pytest.mark.parametrize(
    ("args", "fragment"),
    [
        (("briefing", "dental-lausanne", "--since", "7x"), "whole days"),
        (("briefing", "dental-lausanne", "--period", "2026-W99"), "period"),
        (("briefing", "dental-lausanne", "--format", "pdf"), "md, html or json"),
        (("briefing", "nobody"), "nobody"),
        (("triage", "set", "dental-lausanne", "s1", "ignored"), "not_applicable"),
    ],
)
def test_usage_errors_exit_2_and_name_the_culprit(home, capsys, args, fragment):
    code, out, err = run(capsys, *args)
    assert code == 2
    assert fragment in err and out == ""


def test_exposure_by_cve_and_by_product(home, capsys):
    code, out, _ = run(capsys, "exposure", CVE.lower(), "--json")
    assert code == 0
    rows = json.loads(out)
    assert {r["client_id"] for r in rows} >= {"dental-lausanne"}
    dental = next(r for r in rows if r["client_id"] == "dental-lausanne")
    assert dental["priority"] == "act_now" and any("Pare-feu" in w for w in dental["why"])
    code, out, _ = run(capsys, "exposure", "Citrix NetScaler ADC", "--json")
    assert code == 0
    assert [r["client_id"] for r in json.loads(out)] == ["commune-montvert"]


def test_triage_hides_a_story_from_the_next_briefing(home, capsys):
    data = json.loads(
        run(capsys, "briefing", "dental-lausanne", "--since", "3650d", "--format", "json")[1]
    )
    story = data["entries"][0]["story_id"]
    code, _, err = run(capsys, "triage", "set", "dental-lausanne", story, "mitigated", "--note",
                       "VPN disabled", "--by", "anne")  # fmt: skip
    assert code == 0 and "mitigated" in err
    history = json.loads(run(capsys, "triage", "list", "dental-lausanne", "--json")[1])
    assert [(t["story_id"], t["status"], t["set_by"]) for t in history] == [
        (story, "mitigated", "anne")
    ]
    data = json.loads(
        run(capsys, "briefing", "dental-lausanne", "--since", "3650d", "--format", "json")[1]
    )
    assert story not in [e["story_id"] for e in data["entries"]]
    code, _, err = run(capsys, "triage", "set", "verein-biel", story, "done")
    assert code == 1 and "does not concern" in err


def test_search_with_client_keeps_only_its_stories(home, capsys):
    code, out, _ = run(capsys, "search", "FortiGate", "--json")
    assert code == 0 and json.loads(out)
    code, out, _ = run(capsys, "search", "FortiGate", "--client", "dental-lausanne", "--json")
    rows = json.loads(out)
    assert rows and all(r["priority"] == "act_now" for r in rows)
    code, out, _ = run(capsys, "search", "FortiGate", "--client", "verein-biel", "--json")
    assert json.loads(out) == []


def test_score_rescores_active_stories(home, capsys):
    code, out, _ = run(capsys, "score", "--since", "3650d", "--json")
    assert code == 0
    stats = json.loads(out)
    assert stats["stories"] >= 2 and stats["by_priority"]["act_now"] >= 1


def test_tables_show_bracketed_titles_as_written(capsys):
    from techwatch.cli import output

    output.out.print(output.table("t", ("title",), [("[Resolved] Outage [bold]over",)]))
    assert "[Resolved] Outage [bold]over" in capsys.readouterr().out
