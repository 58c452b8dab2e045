"""`techwatch report`: shown in every format, mailed once per run (real SMTP server, folder)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from techwatch.cli import main
from techwatch.storage import open_reader
from tests.smtp import Inbox, local_smtp
from tests.test_runreport import history_store


@pytest.fixture
def smtp(monkeypatch: pytest.MonkeyPatch) -> Iterator[Inbox]:
    with local_smtp(monkeypatch, TECHWATCH_MAIL_FROM="Veille <veille@advisor.ch>") as inbox:
        yield inbox


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    for name in ("TECHWATCH_SMTP_HOST", "TECHWATCH_ADVISOR_LANGUAGE", "TECHWATCH_DB"):
        monkeypatch.delenv(name, raising=False)
    history_store(tmp_path / "var" / "techwatch.duckdb")
    return tmp_path


def run(home: Path, *args: str) -> int:
    return main(["report", "--home", str(home), *args])


def test_text_report_in_french_by_default(home: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert run(home) == 0
    out = capsys.readouterr().out
    assert "Sources à examiner" in out and "run-24" in out
    assert "en échec depuis 5.0 jours" in out


def test_json_and_english_html_of_a_given_run(
    home: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run(home, "--run", "run-03", "--format", "json") == 0
    assert json.loads(capsys.readouterr().out)["run_id"] == "run-03"
    assert run(home, "--format", "html", "--language", "en") == 0
    assert "Sources that need a look" in capsys.readouterr().out


def test_unknown_run_is_a_runtime_error(home: Path) -> None:
    assert run(home, "--run", "nope") == 1


def test_send_mails_the_advisor_once_per_run(home: Path, smtp: Inbox) -> None:
    assert run(home, "--send") == 0
    assert run(home, "--send") == 0  # the same run again: already queued, nothing sent
    assert len(smtp.messages) == 1
    message = smtp.messages[0]
    assert message["To"].addresses[0].addr_spec == "marie@advisor.ch"
    assert "2026-11-25" in message["Subject"] and "1 en échec" in message["Subject"]
    assert message.get_body(("html",)) is not None
    with open_reader(home / "var" / "techwatch.duckdb") as reader:
        rows = reader.outbox().listing()
    assert [(r["kind"], r["idem_key"], r["status"]) for r in rows if r["kind"] != "summary"] == [
        ("run_report", "run_report/_advisor/run-24", "sent")
    ]


def test_send_without_smtp_writes_to_the_advisor_outbox_folder(home: Path) -> None:
    assert run(home, "--send", "--run", "run-10") == 0
    written = sorted(p.name for p in (home / "var" / "outbox" / "advisor").iterdir())
    assert written == ["run_report-_advisor-run-10.eml", "run_report-_advisor-run-10.html"]
