"""`techwatch mail ...` on the demo clients: preview, dry run, send to the folder or to a real
SMTP server, list the outbox, retry; exit codes 0/1/2 and JSON-only stdout."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from bs4 import BeautifulSoup

from techwatch.cli import main
from techwatch.clients.config import load_clients
from tests.mail.factories import briefing, entry, store_briefings
from tests.mail.test_compose import DEMO_CLIENTS

SMTP_VARIABLES = (
    "TECHWATCH_SMTP_HOST", "TECHWATCH_SMTP_PORT", "TECHWATCH_SMTP_SECURITY",
    "TECHWATCH_SMTP_USER", "TECHWATCH_SMTP_PASSWORD", "TECHWATCH_SMTP_TIMEOUT",
    "TECHWATCH_SMTP_CA_FILE", "TECHWATCH_SMTP_ALLOW_INSECURE_AUTH", "TECHWATCH_MAIL_FROM",
    "TECHWATCH_ADVISOR_EMAIL", "TECHWATCH_ADVISOR_NAME", "TECHWATCH_ADVISOR_PHONE",
    "TECHWATCH_HOME", "TECHWATCH_DB", "TECHWATCH_CLIENTS",
)  # fmt: skip


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A home whose database holds a briefing for every demo client; no SMTP settings."""
    for name in SMTP_VARIABLES:
        monkeypatch.delenv(name, raising=False)
    db = tmp_path / "var" / "techwatch.duckdb"
    found = []
    for c in load_clients(DEMO_CLIENTS):
        entries = (entry("act_now"), entry("plan", 1)) if c.language != "en" else ()
        found.append((briefing(entries, client_id=c.id, language=c.language), c.id))
    store_briefings(db, found)
    return tmp_path


def run(capsys: pytest.CaptureFixture[str], home: Path, *args: str) -> tuple[int, str, str]:
    code = main(["mail", *args, "--home", str(home), *_clients(args)])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def _clients(args: tuple[str, ...]) -> list[str]:
    return ["--clients", str(DEMO_CLIENTS)] if args[0] in ("preview", "send") else []


def test_preview_writes_an_eml_and_an_html_page_and_prints_their_paths(home, capsys):
    code, out, _ = run(capsys, home, "preview", "dental-lausanne")
    assert code == 0
    eml, html = (Path(line) for line in out.split())
    assert eml.suffix == ".eml" and html.suffix == ".html"
    assert eml.parent == home / "var" / "outbox" / "preview"
    page = BeautifulSoup(html.read_text(encoding="utf-8"), "html.parser")
    assert page.html["lang"] == "fr" and page.select("p.title")
    assert b"Subject: [Veille] 1 action" in eml.read_bytes()


def test_preview_of_a_period_without_a_briefing_is_an_error(home, capsys):
    code, _, err = run(capsys, home, "preview", "dental-lausanne", "--period", "2020-W01")
    assert code == 1 and "no stored briefing" in err


def test_dry_run_says_what_would_be_sent_and_sends_nothing(home, capsys):
    code, out, _ = run(capsys, home, "send", "--dry-run", "--json")
    assert code == 0
    data = json.loads(out)
    assert len(data["would_queue"]) == 5 and data["due"] == []
    assert not (home / "var" / "outbox").exists()
    code, out, _ = run(capsys, home, "outbox", "--json")
    assert (code, json.loads(out)) == (0, [])


def test_send_without_smtp_writes_the_folder_and_says_where_then_sends_nothing_new(home, capsys):
    code, out, _ = run(capsys, home, "send")
    folder = home / "var" / "outbox"
    assert code == 0
    assert str(folder) in out and "5 sent_to_folder" in out
    assert len(list(folder.glob("summary-*.eml"))) == 5
    assert len(list(folder.glob("summary-*.html"))) == 5
    code, out, _ = run(capsys, home, "send", "--json")
    assert code == 0 and json.loads(out)["queued"] == []
    code, out, _ = run(capsys, home, "outbox", "--status", "sent_to_folder", "--json")
    rows = json.loads(out)
    assert len(rows) == 5 and {r["status"] for r in rows} == {"sent_to_folder"}
    subjects = {r["client_id"]: r["subject"] for r in rows}
    assert subjects["shop-vevey"] == "[Watch] Nothing to report - week 48"
    assert subjects["verein-biel"] == "[Monitoring] 1 Sofortmassnahme - Woche 48"


def test_send_over_smtp_from_the_environment(home, capsys, monkeypatch, smtp_server):
    server = smtp_server()
    monkeypatch.setenv("TECHWATCH_SMTP_HOST", "127.0.0.1")
    monkeypatch.setenv("TECHWATCH_SMTP_PORT", str(server.port))
    monkeypatch.setenv("TECHWATCH_SMTP_SECURITY", "none")
    monkeypatch.setenv("TECHWATCH_MAIL_FROM", "Veille <veille@conseil.example>")
    monkeypatch.setenv("TECHWATCH_ADVISOR_EMAIL", "jean@conseil.example")
    code, out, _ = run(capsys, home, "send", "--client", "verein-biel")
    assert code == 0 and "1 sent" in out
    (envelope,) = server.bag.received
    assert envelope.rcpt_tos == ["praesidium@quartierverein-beispiel.example"]


def test_send_stops_with_exit_1_when_the_server_is_unreachable(home, capsys, monkeypatch):
    from tests.smtp import free_port

    monkeypatch.setenv("TECHWATCH_SMTP_HOST", "127.0.0.1")
    monkeypatch.setenv("TECHWATCH_SMTP_PORT", str(free_port()))
    monkeypatch.setenv("TECHWATCH_SMTP_SECURITY", "none")
    monkeypatch.setenv("TECHWATCH_MAIL_FROM", "veille@conseil.example")
    monkeypatch.setenv("TECHWATCH_ADVISOR_EMAIL", "jean@conseil.example")
    code, out, _ = run(capsys, home, "send")
    assert code == 1 and "cannot connect" in out and "4 due message(s) left queued" in out


def test_a_bad_setting_is_exit_2_naming_the_variable_never_the_password(home, capsys, monkeypatch):
    monkeypatch.setenv("TECHWATCH_SMTP_HOST", "smtp.conseil.example")
    monkeypatch.setenv("TECHWATCH_SMTP_SECURITY", "ssl")
    monkeypatch.setenv("TECHWATCH_SMTP_USER", "jean")
    monkeypatch.setenv("TECHWATCH_SMTP_PASSWORD", "hunter2-secret")
    code, out, err = run(capsys, home, "send")
    assert code == 2
    assert "TECHWATCH_SMTP_SECURITY" in err and "TECHWATCH_MAIL_FROM" in err
    assert "hunter2-secret" not in out + err


@pytest.mark.parametrize(
    ("args", "message"),
    [(("outbox", "--status", "bogus"), "--status must be one of"),
     (("retry", "99"), "no outbox row 99"),
     (("send", "--client", "nobody"), "no client 'nobody'")],
)  # fmt: skip
def test_usage_errors_exit_2(home, capsys, args, message):
    run(capsys, home, "send")  # creates the outbox
    code, _, err = run(capsys, home, *args)
    assert code == 2 and message in err


def test_retry_resends_a_folder_delivered_message(home, capsys):
    run(capsys, home, "send")
    code, out, _ = run(capsys, home, "retry", "1", "--json")
    assert code == 0
    assert [r["result"] for r in json.loads(out)["results"]] == ["sent_to_folder"]
