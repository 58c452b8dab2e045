"""The classify contract end to end, and `model train/info/evaluate`, on the tiny model."""

from __future__ import annotations

import json
from functools import partial
from pathlib import Path
from typing import Any

import pytest
import typer
from typer.testing import CliRunner

import techwatch.classify as clf
from techwatch.classify import training
from techwatch.cli import classify as cli
from techwatch.taxonomy import SECTOR_KEYS, SEVERITY_KEYS, TOPIC_KEYS
from tests.classify.conftest import TEST_BITS, tiny_records, write_jsonl

INPUTS = [
    {"id": "z-1", "title": "Critical flaw in Citrix NetScaler", "text": "Patch now."},
    {"id": "a-2", "title": "Lausanne-Sport gagne le derby", "text": "Un but tardif."},
    {"id": "m-3", "title": "Störung bei Swisscom", "text": "E-Mail weg.", "language": "de"},
    {"id": "b-4", "title": "Faux courriels au nom de PostFinance", "text": "Codes e-banking."},
]


def _app() -> typer.Typer:
    """The wiring the lead adds to techwatch/cli/__init__.py, reproduced for the test."""
    app = typer.Typer()
    app.add_typer(cli.app, name="model")
    app.command("classify")(cli.classify)
    return app


def _run(*args: str) -> Any:
    return CliRunner().invoke(_app(), list(args), catch_exceptions=False)


def _classify(source: Path, out: Path, home: Path) -> Any:
    return _run("classify", "--input", str(source), "--output", str(out), "--home", str(home))


def test_classify_keeps_ids_and_order_and_follows_the_rules(
    home_with_model: Path, tmp_path: Path
) -> None:
    source = write_jsonl(tmp_path / "in.jsonl", INPUTS)
    out = tmp_path / "out.jsonl"
    result = _run(
        "classify", "--input", str(source), "--output", str(out), "--home", str(home_with_model)
    )
    assert result.exit_code == 0, result.output
    lines = [json.loads(line) for line in out.read_text().splitlines()]
    assert [line["id"] for line in lines] == [item["id"] for item in INPUTS]
    for line in lines:
        assert set(line) == {"id", "topics", "sectors", "severity", "scores"}
        assert line["topics"] and set(line["topics"]) <= set(TOPIC_KEYS)
        assert line["severity"] in SEVERITY_KEYS
        if "off_topic" in line["topics"]:
            assert line["topics"] == ["off_topic"] and line["sectors"] == []
        else:
            assert line["sectors"] and set(line["sectors"]) <= set(SECTOR_KEYS)
        assert set(line["scores"]) == {*TOPIC_KEYS, *SECTOR_KEYS, *SEVERITY_KEYS}
        assert all(0.0 <= p <= 1.0 for p in line["scores"].values())
    assert lines[0]["topics"] == ["vulnerability"]
    assert lines[1]["topics"] == ["off_topic"]


def test_a_bad_input_line_is_a_usage_error_and_nothing_is_written(
    home_with_model: Path, tmp_path: Path
) -> None:
    source = tmp_path / "in.jsonl"
    source.write_text(json.dumps(INPUTS[0]) + "\n" + '{"id": "x", "text": "no title"}\n')
    out = tmp_path / "out.jsonl"
    result = _run(
        "classify", "--input", str(source), "--output", str(out), "--home", str(home_with_model)
    )
    assert result.exit_code == 2
    assert "in.jsonl:2: missing or empty 'title'" in result.output
    assert not out.exists() and list(tmp_path.glob(".out.jsonl*")) == []


def test_without_a_model_classify_trains_the_default_one_first(
    tmp_path: Path, tiny_file: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(training, "seed_files", lambda: [tiny_file])  # the seed corpus, made tiny
    monkeypatch.setenv("TECHWATCH_REALDATA", str(tmp_path / "no-realdata"))
    monkeypatch.setattr(clf, "train_and_save", partial(clf.train_and_save, bits=TEST_BITS))
    source = write_jsonl(tmp_path / "in.jsonl", INPUTS[:1])
    out = tmp_path / "out.jsonl"
    result = _classify(source, out, tmp_path)
    assert result.exit_code == 0, result.output
    assert "training the default model" in result.output
    version = (tmp_path / "var" / "models" / "current").read_text().strip()
    assert (tmp_path / "var" / "models" / version / "metadata.json").is_file()
    assert len(out.read_text().splitlines()) == 1


def test_model_info_and_evaluate_as_json(home_with_model: Path, tmp_path: Path) -> None:
    result = _run("model", "info", "--json", "--home", str(home_with_model))
    info = json.loads(result.stdout)
    assert info["version"] == "20261128T030000Z"
    assert info["data"]["topics"]["labels"]["off_topic"] > 0
    labels = write_jsonl(tmp_path / "labels.jsonl", tiny_records(per_kind=3))
    result = _run(
        "model", "evaluate", "--labels", str(labels), "--json", "--home", str(home_with_model)
    )
    metrics = json.loads(result.stdout)
    assert {"micro_f1", "macro_f1", "per_label"} <= set(metrics["topics"])
    assert metrics["severity"]["confusion"]["labels"] == list(SEVERITY_KEYS)
    assert 0.0 <= metrics["severity"]["within_one"] <= 1.0


def test_model_train_rejects_a_bad_labels_file_before_training(tmp_path: Path) -> None:
    labels = tmp_path / "labels.jsonl"
    labels.write_text('{"id": "1", "title": "t", "severity": "urgent"}\n')
    result = _run("model", "train", "--labels", str(labels), "--home", str(tmp_path))
    assert result.exit_code == 2
    assert "labels.jsonl:1: id '1': unknown severity 'urgent'" in result.output
