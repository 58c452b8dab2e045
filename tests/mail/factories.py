"""Briefings, clients and stored briefings for the mail tests, built in code."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

from techwatch.briefing.model import Briefing, Entry, Health, Link
from techwatch.briefing.period import parse_period
from techwatch.clients.profile import Client, Contact
from techwatch.mail.settings import Advisor, Mailbox, MailSettings
from techwatch.render.briefing import to_json
from techwatch.storage import briefings as store
from techwatch.storage import migrate
from techwatch.storage.connection import connect

NOW = datetime(2026, 11, 30, 5, 30, tzinfo=UTC)
HOSTILE = '<script>alert(1)</script><img src="http://evil.example/x.png" onerror=alert(2)>'
INJECTION = "Urgent\r\nBcc: victim@evil.example\r\nX-Injected: yes"
ADVISOR = Advisor("jean@conseil.example", "Jean Conseil", "+41 21 555 00 00")
SETTINGS = MailSettings(
    sender=Mailbox("veille@conseil.example", "Veille Conseil"), advisor=ADVISOR, smtp=None
)


def entry(priority: str = "act_now", n: int = 0, **overrides: object) -> Entry:
    values: dict[str, object] = dict(
        story_id=f"s-{priority}-{n}",
        priority=priority,
        lane="confirmed",
        title=f"FortiOS SSL-VPN flaw {n} ({priority})",
        summary="A flaw in FortiOS SSL-VPN lets an attacker run code without logging in.",
        why=("CVE-2024-21762 affects FortiOS < 7.2.7: your firewall runs 7.2.3.",),
        actions=("Update FortiOS to 7.2.7 or later.",),
        links=(Link("CERT-FR", "Avis CERTFR-2024-AVI-0100", "https://www.cert.ssi.gouv.fr/a/"),),
        first_seen=NOW,
        topics=("vulnerability",),
        severity="critical",
        cves=("CVE-2024-21762",),
    )
    values.update(overrides)
    return Entry(**values)  # type: ignore[arg-type]


def briefing(
    entries: tuple[Entry, ...] = (), *, client_id: str = "cabinet", period: str = "2026-W48",
    language: str = "fr", checked: int = 56,
) -> Briefing:  # fmt: skip
    return Briefing(
        client_id=client_id,
        client_name="Cabinet dentaire du Lac",
        language=language,  # type: ignore[arg-type]
        period=parse_period(period),
        generated_at=NOW,
        items_watched=1234,
        health=Health(checked=checked, failing=0),
        entries=entries,
    )


def client(
    client_id: str = "cabinet",
    *,
    language: str = "fr",
    minimum: str = "act_soon",
    contacts: tuple[Contact, ...] | None = None,
) -> Client:
    return Client(
        id=client_id,
        name="Cabinet dentaire du Lac",
        sectors=("health",),
        language=language,  # type: ignore[arg-type]
        contacts=contacts
        if contacts is not None
        else (
            Contact("Dre Claire Exemple", f"claire@{client_id}.example"),
            Contact("IT partner", f"it@{client_id}.example", receives_summary=False),
        ),
        min_priority_to_mail=minimum,  # type: ignore[arg-type]
    )


def store_briefing(db: Path, b: Briefing, briefing_id: str | None = None) -> str:
    """Store `b` as the lead's briefing flow does (migrating a fresh file first)."""
    briefing_id = briefing_id or f"{b.client_id}-{b.period.label}"
    store_briefings(db, [(b, briefing_id)])
    return briefing_id


def store_briefings(db: Path, found: list[tuple[Briefing, str]]) -> None:
    db.parent.mkdir(parents=True, exist_ok=True)
    conn = connect(db, read_only=False, wait_s=10)
    try:
        migrate.apply_pending(conn, NOW)
        conn.execute("BEGIN TRANSACTION")
        for b, briefing_id in found:
            store.save_briefing(conn, _row(b, briefing_id), [])
        conn.execute("COMMIT")
    finally:
        conn.close()


def _row(b: Briefing, briefing_id: str) -> dict[str, object]:
    return {
        "briefing_id": briefing_id,
        "client_id": b.client_id,
        "period": b.period.label,
        "period_start": b.period.start,
        "period_end": b.period.end,
        "generated_at": b.generated_at,
        "language": b.language,
        "model_version": None,
        "rules_version": None,
        "entries": len(b.entries),
        "top_priority": b.entries[0].priority if b.entries else None,
        "content": json.dumps(to_json(b), ensure_ascii=False),
    }
