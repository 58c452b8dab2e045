"""`items label/show/list` and `model apply`: consultants' labels through the CLI, exit codes."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from techwatch.classify import Model
from techwatch.classify.artefact import current_folder, mark_current, save
from techwatch.cli import main
from techwatch.storage import open_reader, open_writer
from tests.storage.factories import T0, item, outcome

ITEMS = {
    "cve": ("Critical flaw in Citrix NetScaler", "Remote code execution, patch now."),
    "derby": ("Lausanne-Sport gagne le derby", "Un but tardif."),
    "outage": ("Störung bei Swisscom", "E-Mail seit Stunden weg."),
}


@pytest.fixture
def home(home_with_model: Path) -> Path:
    with open_writer(home_with_model / "var" / "techwatch.duckdb") as writer:
        items = [item("s1", key, title=t, text=x) for key, (t, x) in ITEMS.items()]
        writer.write_outcomes("run", [outcome("s1", items)], [], T0)
    return home_with_model


def _ids(home: Path) -> dict[str, str]:
    with open_reader(home / "var" / "techwatch.duckdb") as reader:
        return {r["title"]: r["id"] for r in reader.items(limit=10)}


def run(capsys: pytest.CaptureFixture[str], home: Path, *args: str) -> tuple[int, str, str]:
    code = main([*args, "--home", str(home)])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def _json(capsys: pytest.CaptureFixture[str], home: Path, *args: str) -> Any:
    code, out, err = run(capsys, home, *args, "--json")
    assert code == 0, err
    return json.loads(out)


def test_model_apply_classifies_the_store_once(home: Path, capsys: pytest.CaptureFixture) -> None:
    first = _json(capsys, home, "model", "apply")
    assert first["classified"] == 3 and first["model_version"] == "20261128T030000Z"
    assert first["store"]["unclassified"] == 0
    assert _json(capsys, home, "model", "apply")["classified"] == 0
    assert _json(capsys, home, "model", "apply", "--all")["classified"] == 3
    code, out, _ = run(capsys, home, "model", "apply")
    assert code == 0 and "0 items classified with model 20261128T030000Z" in out


def test_a_consultant_label_wins_and_is_shown_with_who_and_when(
    home: Path, capsys: pytest.CaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    _json(capsys, home, "model", "apply")
    item_id = _ids(home)["Critical flaw in Citrix NetScaler"]
    monkeypatch.setenv("TECHWATCH_CONSULTANT", "alice")
    labelled = _json(
        capsys, home, "items", "label", item_id, "--severity", "critical", "--note", "in KEV"
    )
    assert labelled["label"]["labelled_by"] == "alice"
    assert labelled["label"]["topics"] is None  # not said: the model's topics stay
    assert labelled["labels"]["severity"] == "critical"
    assert labelled["labels"]["origins"]["severity"]["by"] == "consultant"
    assert labelled["labels"]["origins"]["topics"]["by"] == "model"

    shown = _json(capsys, home, "items", "show", item_id)
    assert shown["labels"]["severity"] == "critical"
    assert shown["labels"]["origins"]["severity"]["who"] == "alice"
    assert [h["note"] for h in shown["label_history"]] == ["in KEV"]
    code, out, _ = run(capsys, home, "items", "show", item_id)
    assert code == 0
    assert "critical   [consultant alice" in out and "(in KEV)" in out
    assert "[model 20261128T030000Z:" in out

    # --by wins over the environment; a later label on topics keeps alice's severity
    _json(
        capsys,
        home,
        "items",
        "label",
        item_id,
        "--topics",
        "vulnerability,exploited",
        "--by",
        "bob",
    )
    shown = _json(capsys, home, "items", "show", item_id)
    assert shown["labels"]["topics"] == ["vulnerability", "exploited"]
    assert shown["labels"]["origins"]["topics"]["who"] == "bob"
    assert shown["labels"]["origins"]["severity"]["who"] == "alice"
    assert len(shown["label_history"]) == 2


def test_items_list_filters_on_effective_labels(home: Path, capsys: pytest.CaptureFixture) -> None:
    _json(capsys, home, "model", "apply")
    ids = _ids(home)
    derby = ids["Lausanne-Sport gagne le derby"]
    _json(capsys, home, "items", "label", derby, "--topics", "off_topic", "--severity", "low")
    listed = _json(capsys, home, "items", "list", "--topic", "off_topic")
    assert [r["id"] for r in listed] == [derby]
    assert listed[0]["sectors"] == [] and listed[0]["labelled"] is True
    assert [r["id"] for r in _json(capsys, home, "items", "list", "--severity", "low")] == [derby]
    everything = _json(capsys, home, "items", "list")
    assert len(everything) == 3 and all(r["severity"] for r in everything)
    code, out, err = run(capsys, home, "items", "list", "--topic", "sport")
    assert code == 2 and out == "" and "off_topic" in err


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (("--topics", "phishing"), "unknown topic 'phishing'"),
        (("--severity", "urgent"), "unknown severity 'urgent'"),
        (("--topics", "off_topic,ai"), "off_topic cannot be combined"),
        (("--sectors", ""), "sectors may be empty only for off_topic"),
        ((), "say at least one of topics, sectors, severity"),
    ],
)
def test_a_bad_label_is_a_usage_error_and_nothing_is_stored(
    home: Path, capsys: pytest.CaptureFixture, args: tuple[str, ...], words: str
) -> None:
    _json(capsys, home, "model", "apply")
    item_id = _ids(home)["Störung bei Swisscom"]
    code, out, err = run(capsys, home, "items", "label", item_id, *args, "--json")
    assert (code, out) == (2, "")
    assert words in err
    with open_reader(home / "var" / "techwatch.duckdb") as reader:
        assert reader.label_history() == {}


def test_labelling_an_unknown_item_exits_1(home: Path, capsys: pytest.CaptureFixture) -> None:
    code, out, err = run(capsys, home, "items", "label", "nope", "--severity", "low")
    assert (code, out) == (1, "")
    assert "no item with id 'nope'" in err


def test_an_item_not_classified_yet_says_so(home: Path, capsys: pytest.CaptureFixture) -> None:
    item_id = _ids(home)["Störung bei Swisscom"]
    code, out, _ = run(capsys, home, "items", "show", item_id)
    assert code == 0 and "not classified yet" in out
    assert _json(capsys, home, "items", "show", item_id)["labels"] == {
        "topics": None,
        "sectors": None,
        "severity": None,
        "origins": {},
    }


def test_model_use_rolls_back_to_a_saved_version(
    home: Path, capsys: pytest.CaptureFixture, tiny_model: Model
) -> None:
    models = home / "var" / "models"
    save(tiny_model, models / "v2")
    mark_current(models, "v2")
    code, _, err = run(capsys, home, "model", "use", "20261128T030000Z")
    assert code == 0 and "model apply" in err
    assert current_folder(models) == models / "20261128T030000Z"
    for wrong in ("nope", "../var", ".current.tmp"):
        code, _, err = run(capsys, home, "model", "use", wrong)
        assert code == 2 and "no model" in err
    assert current_folder(models) == models / "20261128T030000Z"
