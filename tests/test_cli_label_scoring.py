"""`items label` rescoring the item's story for every client in the same command, over a real
store and the demo clients: the portfolio, the briefing and the kept facts show the consultant's
labels at once; a broken clients folder keeps the label and says how to catch up (exit 2)."""

from __future__ import annotations

import json
import shutil
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from techwatch import watch
from techwatch.cli import main
from techwatch.cli.items import rescore_span
from techwatch.clients.config import load_clients
from techwatch.dedupe import item_id
from techwatch.storage import open_reader, open_writer
from tests.storage.factories import item, outcome
from tests.watch_store import DEMO_CLIENTS, NOW, fortios_store

COOKIE = item_id("news", "news:2")  # off topic for the model: concerns no client
DENTAL = "dental-lausanne"


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A home scored for the demo clients, where the dental practice has one act_now story."""
    monkeypatch.setenv("TECHWATCH_HOME", str(tmp_path))
    monkeypatch.setenv("TECHWATCH_CLIENTS", str(DEMO_CLIENTS))
    monkeypatch.setenv("TECHWATCH_CONSULTANT", "anne")
    monkeypatch.delenv("TECHWATCH_DB", raising=False)
    db = fortios_store(tmp_path / "var" / "techwatch.duckdb")
    watch.score(db, load_clients(DEMO_CLIENTS), NOW, since=NOW - timedelta(hours=1))
    return tmp_path


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def dental(capsys: pytest.CaptureFixture[str]) -> dict[str, Any]:
    code, out, err = run(capsys, "portfolio", "--since", "3650d", "--json")
    assert code == 0, err
    return next(r for r in json.loads(out) if r["client_id"] == DENTAL)


def briefed(capsys: pytest.CaptureFixture[str]) -> dict[str, dict[str, Any]]:
    """The dental practice's briefing entries by title."""
    code, out, err = run(capsys, "briefing", DENTAL, "--since", "3650d", "--format", "json")
    assert code == 0, err
    return {e["title"]: e for e in json.loads(out)["entries"]}


def kept_facts(home: Path, story_id: str) -> dict[str, Any]:
    with open_reader(home / "var" / "techwatch.duckdb") as reader:
        return json.loads(reader.briefings().told_facts([story_id])[story_id])


def test_a_label_reaches_the_portfolio_the_briefing_and_the_kept_facts_at_once(home, capsys):
    assert dental(capsys)["plan"] == 0 and "New cookie recipe" not in briefed(capsys)

    args = ("items", "label", COOKIE, "--topics", "regulation", "--sectors", "health")
    code, out, err = run(capsys, *args, "--severity", "high", "--json")
    assert code == 0, err
    result = json.loads(out)
    (story,) = result["scored"]["stories"]
    assert result["scored"]["by_priority"] == {"plan": 1} and "rescore" not in result
    assert dental(capsys)["plan"] == 1
    entry = briefed(capsys)["New cookie recipe"]
    assert entry["priority"] == "plan" and entry["topics"] == ["regulation"]
    assert entry["severity"] == "high"
    assert kept_facts(home, story)["topics"] == ["regulation"]

    # a second consultant's word on severity alone: the topics stay, the priority follows
    code, out, err = run(capsys, "items", "label", COOKIE, "--severity", "low", "--by", "marc")
    assert code == 0, err
    assert f"story {story} scored again for 5 clients: 1 decisions (1 watch)" in out
    assert dental(capsys)["plan"] == 0 and dental(capsys)["watch"] == 1
    entry = briefed(capsys)["New cookie recipe"]
    assert (entry["priority"], entry["severity"]) == ("watch", "low")
    assert kept_facts(home, story)["severity"] == "low"

    # off topic again: the story leaves the dental practice's decisions
    code, _, err = run(capsys, "items", "label", COOKIE, "--topics", "off_topic")
    assert code == 0, err
    assert dental(capsys)["watch"] == 0 and "New cookie recipe" not in briefed(capsys)
    assert dental(capsys)["act_now"] == 1  # the other stories were left as they were


def test_a_broken_clients_folder_keeps_the_label_and_says_how_to_catch_up(home, capsys, tmp_path):
    broken = tmp_path / "broken-clients"
    shutil.copytree(DEMO_CLIENTS, broken)
    (broken / "shop-vevey.yml").write_text("id: shop-vevey\nname: [unclosed\n")
    args = ("items", "label", COOKIE, "--topics", "regulation", "--sectors", "health")
    code, out, err = run(capsys, *args, "--severity", "high", "--clients", str(broken), "--json")
    assert code == 2
    result = json.loads(out)  # stdout still holds only the data
    assert result["scored"] is None and result["labels"]["topics"] == ["regulation"]
    assert "shop-vevey.yml" in err and "The label is stored" in err
    assert result["rescore"] in err and result["rescore"].startswith("techwatch score --since ")
    assert dental(capsys)["plan"] == 0  # decisions untouched

    # after the fix, the command it named catches up
    code, _, err = run(capsys, *result["rescore"].split()[1:])
    assert code == 0, err
    assert dental(capsys)["plan"] == 1


def test_without_a_clients_folder_the_label_is_stored_and_nothing_is_scored(home, capsys, tmp_path):
    missing = str(tmp_path / "no-clients")
    code, out, err = run(
        capsys, "items", "label", COOKIE, "--severity", "low", "--clients", missing
    )
    assert code == 0, err
    assert "labelled" in out and "scored again" not in out


def test_an_item_not_in_a_story_yet_is_left_to_the_grouping(home, capsys):
    with open_writer(home / "var" / "techwatch.duckdb") as writer:
        writer.write_outcomes("run2", [outcome("news", [item("news", "news:3")])], [], NOW)
    fresh = item_id("news", "news:3")
    code, out, err = run(
        capsys, "items", "label", fresh, "--topics", "regulation", "--sectors", "health"
    )
    assert code == 0, err
    assert "not in a story yet" in out


@pytest.mark.parametrize(
    ("seen", "span"),
    [
        (timedelta(minutes=5), "1d"),
        (timedelta(hours=23), "1d"),
        (timedelta(days=1, minutes=1), "2d"),
        (timedelta(days=30), "31d"),
        (timedelta(days=-1), "1d"),  # a date in the future still scores the day
    ],
)
def test_the_rescore_span_reaches_back_to_the_item(seen: timedelta, span: str) -> None:
    now = datetime(2026, 11, 28, 12, 0, tzinfo=UTC)
    assert rescore_span(now - seen, now) == span
