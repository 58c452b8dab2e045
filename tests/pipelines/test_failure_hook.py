"""Mail from the flows to the advisor, under Prefect: a failed nightly or morning run sends an
alert, once per flow run (flows that fail on purpose, delivered to the folder and to a real SMTP
server); a morning run sends the latest run's report, once per run."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from email import message_from_bytes, policy
from pathlib import Path
from typing import Any

import pytest

from pipelines.briefings import briefings_flow
from pipelines.ingest import ingest_flow
from techwatch import alerts
from techwatch.storage import open_reader, open_writer
from tests.smtp import Inbox, local_smtp
from tests.watch_store import DEMO_CLIENTS, NOW, fortios_store

pytestmark = pytest.mark.usefixtures("prefect_api")


@pytest.fixture
def no_smtp(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("TECHWATCH_SMTP_HOST", "TECHWATCH_MAIL_FROM", "TECHWATCH_ADVISOR_EMAIL"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("TECHWATCH_ADVISOR_LANGUAGE", "en")


@pytest.fixture
def smtp(monkeypatch: pytest.MonkeyPatch) -> Iterator[Inbox]:
    with local_smtp(monkeypatch, TECHWATCH_ADVISOR_LANGUAGE="fr") as inbox:
        yield inbox


def store(tmp_path: Path) -> Path:
    db = tmp_path / "var" / "techwatch.duckdb"
    with open_writer(db):
        pass
    return db


def alert_rows(db: Path) -> list[dict[str, Any]]:
    with open_reader(db) as reader:
        return [r for r in reader.outbox().listing() if r["kind"] == alerts.KIND_ALERT]


def test_a_failed_nightly_run_alerts_once_through_the_folder(tmp_path: Path, no_smtp: None) -> None:
    db = store(tmp_path)
    broken = tmp_path / "sources.yml"
    broken.write_text("sources:\n  - id: x\n    nonsense: [\n")
    state = ingest_flow(sources_path=broken, db_path=db, kind="test", return_state=True)
    assert state.is_failed()
    flow_run_id = str(state.state_details.flow_run_id)

    [row] = alert_rows(db)
    assert row["idem_key"] == f"failure_alert/_advisor/{flow_run_id}"
    assert row["status"] == "sent_to_folder"
    [eml] = (tmp_path / "var" / "outbox" / "advisor").glob("*.eml")
    message = message_from_bytes(eml.read_bytes(), policy=policy.default)
    assert message["Subject"].startswith("[techwatch] FAILED: techwatch-ingest")
    assert flow_run_id in message.get_body(("plain",)).get_content()

    # The hook called again for the same flow run (a retried hook): nothing new.
    again = alerts.notify_failure(
        db, tmp_path / "var", flow="techwatch-ingest", flow_run_id=flow_run_id,
        flow_run_name="x", error="again", env={}, clock=lambda: datetime.now(UTC),
    )  # fmt: skip
    assert again["queued"] is False
    assert len(alert_rows(db)) == 1
    assert len(list((tmp_path / "var" / "outbox" / "advisor").glob("*.eml"))) == 1


def test_a_failed_morning_run_alerts_the_advisor_by_smtp(tmp_path: Path, smtp: Inbox) -> None:
    db = store(tmp_path)
    state = briefings_flow(
        db_path=db, clients_path=tmp_path / "no-clients", var_path=tmp_path / "var",
        return_state=True,
    )  # fmt: skip
    assert state.is_failed()
    [message] = smtp.messages
    assert message["To"].addresses[0].addr_spec == "marie@advisor.ch"
    assert message["Subject"].startswith("[techwatch] ÉCHEC : techwatch-briefings")
    assert [r["status"] for r in alert_rows(db)] == ["sent"]


def test_a_run_that_failed_before_any_database_alerts_nobody(tmp_path: Path, no_smtp: None) -> None:
    db = tmp_path / "var" / "techwatch.duckdb"
    state = ingest_flow(
        sources_path=tmp_path / "missing.yml", db_path=db, kind="test", return_state=True
    )
    assert state.is_failed()
    assert not db.exists() and not (tmp_path / "var" / "outbox").exists()


def test_the_morning_run_mails_the_latest_run_report_once(tmp_path: Path, no_smtp: None) -> None:
    db = fortios_store(tmp_path / "var" / "techwatch.duckdb")
    with open_writer(db) as writer:
        writer.begin_run(
            "night-1", started_at=NOW - timedelta(hours=4), kind="ingest", flow_run_id=None
        )
        writer.finish_run("night-1", finished_at=NOW - timedelta(hours=3), status="ok", summary={})
    monday = date(2026, 11, 30)
    first = briefings_flow(db_path=db, clients_path=DEMO_CLIENTS, day=monday)
    assert first["report"]["key"] == "run_report/_advisor/night-1"
    assert first["report"]["result"] == "sent_to_folder"
    again = briefings_flow(db_path=db, clients_path=DEMO_CLIENTS, day=monday)
    assert again["report"]["queued"] is False
    [eml] = (tmp_path / "var" / "outbox" / "advisor").glob("*.eml")
    message = message_from_bytes(eml.read_bytes(), policy=policy.default)
    assert message["Subject"].startswith("[techwatch] Run 2026-11-27")
    # The client emails were sent before the report was built: it counts them.
    text = message.get_body(("plain",)).get_content()
    assert f"sent_to_folder {len(first['mail']['queued'])}" in text
