"""`techwatch mail ...`: client risk summary emails, their outbox and their delivery.

SMTP settings come from the environment (TECHWATCH_SMTP_HOST, ..., see techwatch.mail.settings)
or from the Prefect block named by TECHWATCH_SMTP_BLOCK; without them, messages are written to
var/outbox/ under the home.

The sending code (messages, SMTP, the outbox's delivery policy) and the client profiles are
imported by the commands that use them: `mail outbox` reads the store only
(techwatch/cli/__init__.py).
"""

from __future__ import annotations

import os
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Annotated, Any

import typer

from techwatch.cli import output
from techwatch.cli.options import ClientsDir, Db, Home, Json, SourcesFile, paths
from techwatch.cli.runs import prepare_prefect
from techwatch.mail.settings import BLOCK_VARIABLE, MailSettings, load_settings
from techwatch.settings import Paths
from techwatch.storage import open_reader
from techwatch.storage.outbox import STATUSES

if TYPE_CHECKING:
    from techwatch.mail import send as mail
    from techwatch.mail.outbox import Report

app = typer.Typer(
    help="Build, send and follow the client summary emails (SMTP from TECHWATCH_SMTP_*).",
    no_args_is_help=True,
)


def mail_settings(where: Paths) -> MailSettings:
    """Mail settings from the environment, SMTP from a Prefect block when one is named."""
    if os.environ.get(BLOCK_VARIABLE, "").strip():
        prepare_prefect(where, verbose=False)
    from pipelines.smtp_block import mail_environment

    return load_settings(mail_environment(os.environ))


ClientOption = Annotated[
    str | None, typer.Option("--client", help="Only this client (its id).", show_default=False)
]


def _now() -> datetime:
    return datetime.now(UTC)


@app.command("preview")
def preview(
    client_id: str = typer.Argument(..., help="Client id: the file name without .yml."),
    period: str | None = typer.Option(
        None,
        "--period",
        help="Briefing period, e.g. 2026-W48 (default: the latest).",
        show_default=False,
    ),
    home: Home = None,
    db: Db = None,
    sources: SourcesFile = None,
    clients: ClientsDir = None,
    json: Json = False,
) -> None:
    """Write the email of the client's latest stored briefing as .eml and HTML; print paths."""
    from techwatch.clients.config import load_client
    from techwatch.mail import send as mail

    where = paths(home, db, sources, clients)
    client = load_client(where.clients, client_id)
    settings = mail_settings(where)
    folder = mail.outbox_folder(where.var)
    try:
        eml, html = mail.preview(where.db, client, settings, folder, _now(), period=period)
    except mail.NoBriefingError as error:
        output.err.print(f"error: {error}", markup=False, highlight=False)
        raise typer.Exit(1) from None
    if json:
        output.print_json({"eml": eml, "html": html})
        return
    output.out.print(f"{eml}\n{html}", markup=False, highlight=False)


@app.command("send")
def send(
    client_id: ClientOption = None,
    dry_run: bool = typer.Option(False, "--dry-run", help="Say what would be sent; send nothing."),
    home: Home = None,
    db: Db = None,
    sources: SourcesFile = None,
    clients: ClientsDir = None,
    json: Json = False,
) -> None:
    """Queue the summaries of the latest briefings not queued yet, then deliver what is due.

    Exit 1 when the run stopped early (server unreachable, TLS or login refused).
    """
    from techwatch.clients.config import load_clients
    from techwatch.mail import send as mail

    where = paths(home, db, sources, clients)
    profiles = load_clients(where.clients)
    if client_id is not None and client_id not in {c.id for c in profiles}:
        output.err.print(f"error: no client {client_id!r} in {where.clients}", markup=False)
        raise typer.Exit(2)
    settings = mail_settings(where)
    folder = mail.outbox_folder(where.var)
    if dry_run:
        plan, due = mail.dry_run(where.db, profiles, settings, _now(), client_id=client_id)
        _show_dry_run(plan, due, json)
        return
    result = mail.send(where.db, profiles, settings, folder, _now, client_id=client_id)
    if json:
        output.print_json(result.as_dict())
    else:
        _show_send(result)
    if result.report.stopped:
        raise typer.Exit(1)


@app.command("outbox")
def outbox(
    status: str | None = typer.Option(
        None,
        "--status",
        help=f"Only rows with this status: {', '.join(STATUSES)}.",
        show_default=False,
    ),
    client_id: ClientOption = None,
    home: Home = None,
    db: Db = None,
    sources: SourcesFile = None,
    json: Json = False,
) -> None:
    """List the outbox, newest first: status, attempts, last server reply."""
    if status is not None and status not in STATUSES:
        output.err.print(f"error: --status must be one of {', '.join(STATUSES)}", markup=False)
        raise typer.Exit(2)
    with open_reader(paths(home, db, sources).db) as reader:
        rows = reader.outbox().listing(status=status, client_id=client_id)
    output.listing(
        rows,
        as_json=json,
        title=f"{len(rows)} messages",
        columns=("id", "client", "period", "status", "attempts", "next attempt", "reply"),
        cells=lambda r: (
            r["id"],
            r["client_id"],
            r["period"],
            r["status"],
            r["attempts"],
            r["next_attempt"] if r["status"] == "queued" else None,
            output.shorten(r["last_reply"], 70),
        ),
    )


@app.command("retry")
def retry(
    row_id: int = typer.Argument(..., help="Outbox row id (see `techwatch mail outbox`)."),
    home: Home = None,
    db: Db = None,
    sources: SourcesFile = None,
    json: Json = False,
) -> None:
    """Resend one failed, uncertain or folder-delivered message: same bytes, same Message-ID."""
    from techwatch.mail import send as mail
    from techwatch.mail.outbox import NotRetryableError

    where = paths(home, db, sources)
    settings = mail_settings(where)
    try:
        report = mail.retry(where.db, row_id, settings, mail.outbox_folder(where.var), _now)
    except NotRetryableError as error:
        output.err.print(f"error: {error}", markup=False, highlight=False)
        raise typer.Exit(2) from None
    if json:
        output.print_json(report.as_dict())
    else:
        _show_results(report)
    if report.stopped or any(r["result"] not in ("sent", "sent_to_folder") for r in report.results):
        raise typer.Exit(1)


def _show_dry_run(plan: Any, due: list[dict[str, Any]], json: bool) -> None:
    would = [
        {"client_id": m.client_id, "period": m.period, "subject": m.subject, "to": m.recipients}
        for m in plan.new
    ]
    if json:
        output.print_json(
            {
                "would_queue": would,
                "already_queued": plan.already,
                "skipped": plan.skipped,
                "due": due,
            }
        )
        return
    say = output.out.print
    say(f"Dry run: nothing is written or sent. {len(would)} message(s) would be queued:")
    for m in would:
        say(
            f"  {m['client_id']} {m['period']}: {m['subject']} -> {', '.join(m['to'])}",
            markup=False,
            highlight=False,
        )
    for skip in plan.skipped:
        say(f"  skipped {skip.client_id}: {skip.why}", markup=False, highlight=False)
    say(f"{len(due)} queued message(s) are due and would be delivered now.")


def _show_send(result: mail.SendResult) -> None:
    say = output.out.print
    plan = result.plan
    say(f"Queued {len(result.queued)} new message(s); {len(plan.already)} already queued.")
    for skip in plan.skipped:
        say(f"  skipped {skip.client_id}: {skip.why}", markup=False, highlight=False)
    _show_results(result.report)
    if result.folder is not None:
        say(
            f"No SMTP server configured (TECHWATCH_SMTP_HOST): messages are in {result.folder}",
            markup=False,
            highlight=False,
        )


def _show_results(report: Report) -> None:
    say = output.out.print
    for row_id in report.interrupted:
        say(
            f"  row {row_id} was interrupted while sending: now uncertain, not resent "
            f"(techwatch mail retry {row_id})",
            markup=False,
            highlight=False,
        )
    counts = ", ".join(
        f"{report.count(r)} {r}"
        for r in ("sent", "sent_to_folder", "deferred", "failed", "uncertain")
        if report.count(r)
    )
    say(f"Delivered: {counts or 'nothing due'}.")
    for r in report.results:
        if r["result"] not in ("sent", "sent_to_folder"):
            say(
                f"  row {r['id']} {r['client_id']}: {r['result']}: {r['reply']}",
                markup=False,
                highlight=False,
            )
    if report.stopped:
        say(
            f"Stopped: {report.stopped}; {report.left} due message(s) left queued.",
            markup=False,
            highlight=False,
        )
