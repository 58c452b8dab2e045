"""The morning flow under Prefect: due clients get a kept briefing, files and an email in the
outbox folder (no SMTP configured); running it twice sends nothing twice."""

from __future__ import annotations

import email
from datetime import date, timedelta
from email import policy
from pathlib import Path

import pytest

from pipelines.briefings import briefings_flow
from techwatch import watch
from techwatch.clients.config import load_clients
from tests.watch_store import DEMO_CLIENTS, NOW, fortios_store

pytestmark = pytest.mark.usefixtures("prefect_api")
MONDAY = date(2026, 11, 30)  # the dental practice's weekly day; the fiduciary is daily


def test_due_clients_get_a_kept_briefing_files_and_one_email(tmp_path: Path, monkeypatch) -> None:
    for name in ("TECHWATCH_SMTP_HOST", "TECHWATCH_MAIL_FROM", "TECHWATCH_ADVISOR_EMAIL"):
        monkeypatch.delenv(name, raising=False)
    db = fortios_store(tmp_path / "var" / "techwatch.duckdb")
    watch.score(db, load_clients(DEMO_CLIENTS), NOW, since=NOW - timedelta(hours=1))

    first = briefings_flow(db_path=db, clients_path=DEMO_CLIENTS, day=MONDAY)
    built = {b["client_id"]: b for b in first["briefings"]}
    assert "dental-lausanne" in built and "fiduciaire-geneve" in built
    assert "verein-biel" not in built  # not due on Mondays
    dental = built["dental-lausanne"]
    assert dental["period"] == "2026-W48" and dental["by_priority"]["act_now"] == 1
    html = Path(next(f for f in dental["files"] if f.endswith(".html"))).read_text()
    assert "Agir immédiatement" in html
    assert watch.stored(db, "dental-lausanne", "2026-W48") is not None

    outbox = tmp_path / "var" / "outbox"
    sent = sorted(outbox.glob("*.eml"))
    assert len(sent) == len(built)
    dental_mail = next(
        email.message_from_bytes(p.read_bytes(), policy=policy.default)
        for p in sent
        if "dental" in p.name
    )
    assert dental_mail["Subject"] == "[Veille] 1 action immédiate - semaine 48"

    again = briefings_flow(db_path=db, clients_path=DEMO_CLIENTS, day=MONDAY)
    assert sorted(outbox.glob("*.eml")) == sent, "the same period is never mailed twice"
    assert again["mail"]["queued"] == []
