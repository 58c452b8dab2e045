"""Mail runs over the store: queue the latest briefings' summaries, deliver what is due,
preview one client's email, retry one row. The CLI and the flows call these.

Without SMTP settings, messages are delivered to `<home>/var/outbox/` as `.eml` files with
HTML previews, and marked `sent_to_folder` (see techwatch.mail.folder); configuring SMTP later
does not send them again (`mail retry ID` sends one deliberately).

A send holds the sender lock and the database read-write for the whole run: the nightly
writer waits meanwhile. The run is bounded: every SMTP command has a timeout, and a server
that cannot be reached stops the run at the first message.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from techwatch.clients.profile import Client
from techwatch.errors import TechwatchError
from techwatch.mail import outbox as policy
from techwatch.mail.folder import FolderTransport, write_message
from techwatch.mail.message import summary
from techwatch.mail.outcome import Transport
from techwatch.mail.settings import MailSettings
from techwatch.mail.smtp import SmtpTransport
from techwatch.render.briefing import from_json
from techwatch.storage import open_reader, open_writer

Clock = Callable[[], datetime]


class NoBriefingError(TechwatchError):
    """`mail preview` for a client without a stored briefing (of that period)."""


@dataclass(frozen=True, slots=True)
class SendResult:
    plan: policy.Plan
    queued: list[int]
    report: policy.Report
    via: str
    folder: Path | None  # where messages went when no SMTP server is configured

    def as_dict(self) -> dict[str, Any]:
        return {
            "queued": self.queued,
            "already_queued": list(self.plan.already),
            "skipped": [{"client_id": s.client_id, "why": s.why} for s in self.plan.skipped],
            "via": self.via,
            "folder": str(self.folder) if self.folder else None,
            **self.report.as_dict(),
        }


def outbox_folder(var: Path) -> Path:
    return var / "outbox"


def transport_for(settings: MailSettings, folder: Path) -> Transport:
    """SMTP when a host is configured, else the outbox folder."""
    if settings.smtp is None:
        return FolderTransport(folder)
    return SmtpTransport(settings.smtp)


def send(
    db: Path,
    clients: Sequence[Client],
    settings: MailSettings,
    folder: Path,
    clock: Clock,
    *,
    client_id: str | None = None,
    wait_s: float = 60.0,
) -> SendResult:
    """Queue the summaries not queued yet, then deliver what is due, holding the sender lock."""
    chosen = [c for c in clients if client_id is None or c.id == client_id]
    transport = transport_for(settings, folder)
    with policy.sender_lock(db, wait_s=wait_s), open_writer(db, wait_s=wait_s) as writer:
        outbox = writer.outbox()
        plan = policy.plan_summaries(outbox, chosen, settings, clock())
        queued = policy.queue(outbox, plan, clock())
        report = policy.deliver(outbox, transport, clock, client_id=client_id)
    return SendResult(
        plan, queued, report, transport.via, folder if settings.smtp is None else None
    )


def dry_run(
    db: Path,
    clients: Sequence[Client],
    settings: MailSettings,
    now: datetime,
    *,
    client_id: str | None = None,
) -> tuple[policy.Plan, list[dict[str, Any]]]:
    """What `send` would queue and which queued rows are due; nothing written or sent."""
    chosen = [c for c in clients if client_id is None or c.id == client_id]
    with open_reader(db) as reader:
        outbox = reader.outbox()
        plan = policy.plan_summaries(outbox, chosen, settings, now)
        due = outbox.due(now, client_id=client_id)
    return plan, due


def retry(
    db: Path, row_id: int, settings: MailSettings, folder: Path, clock: Clock
) -> policy.Report:
    """Resend one row deliberately (same bytes, same Message-ID)."""
    with policy.sender_lock(db), open_writer(db) as writer:
        return policy.retry(writer.outbox(), transport_for(settings, folder), row_id, clock)


def preview(
    db: Path,
    client: Client,
    settings: MailSettings,
    folder: Path,
    now: datetime,
    *,
    period: str | None = None,
) -> tuple[Path, Path]:
    """Write the email of the client's latest stored briefing as .eml + .html; their paths."""
    with open_reader(db) as reader:
        row = reader.outbox().latest_briefing(client.id, period)
    if row is None:
        of = f" for period {period}" if period else ""
        raise NoBriefingError(f"no stored briefing for client {client.id}{of}")
    message = summary(
        from_json(row["content"]), client, settings, briefing_id=row["briefing_id"], now=now
    )
    return write_message(folder / "preview", f"{client.id}-{row['period']}", message.message)
