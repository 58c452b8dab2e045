"""Mail to the advisor: the run report after each nightly run, and the alert of a failed run.

Both go through the outbox and the same transports as the clients' emails (SMTP when
configured, else the outbox folder), under an idempotency key that names the run:
`run_report/_advisor/<run_id>` and `failure_alert/_advisor/<flow_run_id>`. Queueing the same
key twice queues nothing, so a re-run, a retried hook or a second `report --send` never
mails the advisor twice; `techwatch mail retry ID` resends deliberately. Without SMTP they
are written to `var/outbox/advisor/`, apart from the clients' emails.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime
from email import policy
from email.message import EmailMessage
from email.utils import format_datetime
from pathlib import Path
from typing import Any

from techwatch import runreport
from techwatch.briefing.period import ZONE
from techwatch.errors import StorageError
from techwatch.mail import outbox as mail_outbox
from techwatch.mail.message import Outgoing, address, idempotency_key, message_id, one_line
from techwatch.mail.message import outgoing as as_outgoing
from techwatch.mail.send import outbox_folder, transport_for
from techwatch.mail.settings import Mailbox, MailSettings, load_settings
from techwatch.storage import open_reader, open_writer

Clock = Callable[[], datetime]
ADVISOR = "_advisor"  # the outbox's client_id for messages to the advisor
KIND_ALERT = "failure_alert"

ALERT_WORDS: dict[str, dict[str, str]] = {
    "en": {
        "subject": "[techwatch] FAILED: {flow} ({run})",
        "body": "The flow {flow} failed (flow run {run}, id {id}) at {at}.\n\n"
        "Error: {error}\n\nThe next scheduled run will try again; `techwatch runs list` "
        "and the Prefect UI show the details.\n",
    },
    "fr": {
        "subject": "[techwatch] ÉCHEC : {flow} ({run})",
        "body": "Le flux {flow} a échoué (exécution {run}, id {id}) le {at}.\n\n"
        "Erreur : {error}\n\nLa prochaine exécution planifiée réessaiera ; "
        "`techwatch runs list` et l'interface Prefect donnent le détail.\n",
    },
}


def advisor_folder(var: Path) -> Path:
    """Where the advisor's messages go without SMTP: apart from the clients' emails."""
    return outbox_folder(var) / "advisor"


def advisor_message(
    settings: MailSettings,
    *,
    kind: str,
    ref: str,
    subject: str,
    text: str,
    html: str | None,
    now: datetime,
    language: str,
) -> Outgoing:
    """A message from the sender to the advisor, keyed by `kind` and `ref` (a run id)."""
    key = idempotency_key(kind, ADVISOR, ref)
    msg = EmailMessage(policy=policy.SMTP)
    msg["From"] = address(settings.sender)
    msg["To"] = address(Mailbox(settings.advisor.email, settings.advisor.name))
    msg["Subject"] = one_line(subject)
    msg["Date"] = format_datetime(now.astimezone(ZONE))
    msg["Message-ID"] = message_id(key, settings.domain)
    msg["Auto-Submitted"] = "auto-generated"
    msg.set_content(text, subtype="plain", charset="utf-8", cte="quoted-printable")
    if html is not None:
        msg.add_alternative(html, subtype="html", charset="utf-8", cte="quoted-printable")
    msg["Content-Language"] = language
    return as_outgoing(msg, key=key, kind=kind, client_id=ADVISOR, period=ref, briefing_id=None)


def deliver_once(
    db: Path, message: Outgoing, settings: MailSettings, folder: Path, clock: Clock
) -> dict[str, Any]:
    """Queue `message` unless its key is known, then deliver it alone; what happened."""
    transport = transport_for(settings, folder)
    with mail_outbox.sender_lock(db), open_writer(db) as writer:
        outbox = writer.outbox()
        ids = outbox.queue([mail_outbox.outbox_row(message)], clock())
        if not ids:
            return {"key": message.key, "queued": False, "result": "already queued"}
        report = mail_outbox.deliver(outbox, transport, clock, ids=ids)
    results = report.results or [{"result": "queued", "reply": report.stopped}]
    return {"key": message.key, "id": ids[0], "queued": True, "via": transport.via, **results[0]}


def report_message(
    db: Path, settings: MailSettings, now: datetime, *, run_id: str | None, language: str
) -> tuple[runreport.AdvisorReport, Outgoing]:
    """The report of a run (latest when None) and its email to the advisor."""
    report = load_report(db, run_id)
    message = advisor_message(
        settings,
        kind=runreport.KIND,
        ref=report.run_id,
        subject=runreport.subject(report, language),
        text=runreport.render(report, "text", language),
        html=runreport.render(report, "html", language),
        now=now,
        language=language,
    )
    return report, message


def load_report(db: Path, run_id: str | None) -> runreport.AdvisorReport:
    with open_reader(db) as reader:
        rows = reader.run_report_rows(run_id)
    if rows is None:
        raise StorageError(f"no run {run_id} in {db}" if run_id else f"no run yet in {db}")
    return runreport.build(rows)


def send_report(
    db: Path,
    settings: MailSettings,
    folder: Path,
    clock: Clock,
    *,
    run_id: str | None = None,
    language: str = runreport.DEFAULT_LANGUAGE,
) -> dict[str, Any]:
    """Mail the report of a run to the advisor, once per run."""
    report, message = report_message(db, settings, clock(), run_id=run_id, language=language)
    return {"run_id": report.run_id, **deliver_once(db, message, settings, folder, clock)}


def report_after_run(
    db: Path, var: Path, env: Mapping[str, str], clock: Clock
) -> dict[str, Any] | None:
    """The morning's mail of the latest run's report to the advisor; None before any run."""
    with open_reader(db) as reader:
        if reader.run_report_rows() is None:
            return None
    settings = load_settings(env)
    language = runreport.language(env)
    return send_report(db, settings, advisor_folder(var), clock, language=language)


def alert_message(
    settings: MailSettings,
    *,
    flow: str,
    flow_run_id: str,
    flow_run_name: str,
    error: str,
    now: datetime,
    language: str = runreport.DEFAULT_LANGUAGE,
) -> Outgoing:
    """The alert of one failed flow run (its key is the flow run id: one alert per run)."""
    words = ALERT_WORDS[language]
    fields: Mapping[str, str] = {
        "flow": flow,
        "run": flow_run_name,
        "id": flow_run_id,
        "at": now.astimezone(ZONE).strftime("%Y-%m-%d %H:%M %Z"),
        "error": error,
    }
    return advisor_message(
        settings,
        kind=KIND_ALERT,
        ref=flow_run_id,
        subject=words["subject"].format(**fields),
        text=words["body"].format(**fields),
        html=None,
        now=now,
        language=language,
    )


def notify_failure(
    db: Path,
    var: Path,
    *,
    flow: str,
    flow_run_id: str,
    flow_run_name: str,
    error: str,
    env: Mapping[str, str],
    clock: Clock,
) -> dict[str, Any]:
    """Mail the advisor that a flow run failed, once per flow run."""
    settings = load_settings(env)
    message = alert_message(
        settings,
        flow=flow,
        flow_run_id=flow_run_id,
        flow_run_name=flow_run_name,
        error=error,
        now=clock(),
        language=runreport.language(env),
    )
    return deliver_once(db, message, settings, advisor_folder(var), clock)
