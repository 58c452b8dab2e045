"""Morning flow: clients due today -> build and keep each briefing -> files -> emails.

The flow only orchestrates: every task body is one call into the techwatch library. One
task per client, so that a client whose briefing fails is reported while the others go on.
"""

from __future__ import annotations

import os
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from prefect import flow, get_run_logger, task
from prefect.cache_policies import NONE

from pipelines.hooks import alert_advisor
from pipelines.ingest import DB_RETRY_DELAYS_S, retry_if_transient
from pipelines.smtp_block import mail_environment
from techwatch import alerts, watch
from techwatch.briefing.model import Briefing
from techwatch.briefing.period import Period, due, local_date, parse_period
from techwatch.clients.config import load_clients
from techwatch.clients.profile import PRIORITIES, Client
from techwatch.mail.send import SendResult, outbox_folder, send
from techwatch.mail.settings import load_settings
from techwatch.runlock import lock_path_for, run_lock


def db_task(fn: Any) -> Any:
    return task(
        fn,
        cache_policy=NONE,
        retries=len(DB_RETRY_DELAYS_S),
        retry_delay_seconds=DB_RETRY_DELAYS_S,
        retry_condition_fn=retry_if_transient,
    )


@task(cache_policy=NONE)
def load(clients_path: Path) -> tuple[Client, ...]:
    return load_clients(clients_path)


@db_task
def build(db_path: Path, client: Client, period: Period, now: datetime) -> Briefing:
    return watch.brief(
        db_path, client, period, now, keep=True, advisor=os.environ.get("TECHWATCH_ADVISOR_NAME")
    )


@task(cache_policy=NONE)
def write(briefing: Briefing, folder: Path) -> list[Path]:
    return watch.write_files(briefing, folder)


@db_task
def mail(db_path: Path, clients: list[Client], folder: Path, smtp: bool) -> SendResult:
    settings = load_settings(_mail_env(smtp))
    return send(db_path, clients, settings, folder, lambda: datetime.now(UTC))


@db_task
def report(db_path: Path, var: Path, smtp: bool) -> dict[str, Any] | None:
    return alerts.report_after_run(db_path, var, _mail_env(smtp), lambda: datetime.now(UTC))


def _mail_env(smtp: bool) -> dict[str, str]:
    """The environment mail settings are read from (SMTP from a Prefect block when
    TECHWATCH_SMTP_BLOCK names one); without SMTP when `smtp` is False."""
    if smtp:
        return mail_environment(os.environ)
    return {k: v for k, v in os.environ.items() if "_SMTP_" not in k}


@flow(name="techwatch-briefings", log_prints=False, on_failure=[alert_advisor])
def briefings_flow(
    db_path: Path,
    clients_path: Path,
    var_path: Path | None = None,
    day: date | None = None,
    deliver: bool = True,
    lock_wait_s: float = 60.0,
    period: str | None = None,
    smtp: bool = True,
) -> dict[str, Any]:
    """Build, keep and write the briefing of every client due on `day` (default: today in
    Zurich), then queue and deliver their summary emails; returns a summary dict.

    With `period` (a label such as 2026-W48), every client gets a briefing for that period,
    due or not: the demo, or catching up after an outage. `smtp=False` writes the emails to
    the outbox folder even when an SMTP server is configured (the demo never sends mail).
    """
    logger = get_run_logger()
    now = datetime.now(UTC)
    today = day or local_date(now)
    var = var_path or db_path.parent
    clients = load(clients_path)
    built: list[dict[str, Any]] = []
    failed: list[dict[str, str]] = []
    with run_lock(lock_path_for(db_path), wait_s=lock_wait_s):
        for client, span in _plan(clients, today, period):
            state = build(db_path, client, span, now, return_state=True)
            if state.is_failed():
                failed.append({"client_id": client.id, "error": str(state.message)})
                continue
            briefing = state.result()
            files = write(briefing, var / "briefings")
            built.append(_summary(briefing, files))
        ready = [c for c in clients if c.id in {b["client_id"] for b in built}]
        result = (
            mail(db_path, ready, outbox_folder(var), smtp).as_dict() if deliver and ready else None
        )
        # After the emails, so that the advisor's report counts their outcome.
        advisor = report(db_path, var, smtp) if deliver else None
    logger.info("%d briefings built, %d failed", len(built), len(failed))
    if failed:
        raise RuntimeError(
            "briefings failed for " + ", ".join(f"{f['client_id']} ({f['error']})" for f in failed)
        )
    return {
        "day": today.isoformat(),
        "briefings": built,
        "failed": failed,
        "mail": result,
        "report": advisor,
    }


def _plan(
    clients: tuple[Client, ...], today: date, period: str | None
) -> list[tuple[Client, Period]]:
    if period is None:
        return due(clients, today)
    chosen = parse_period(period)
    return [(client, chosen) for client in clients]


def _summary(briefing: Briefing, files: list[Path]) -> dict[str, Any]:
    return {
        "client_id": briefing.client_id,
        "period": briefing.period.label,
        "entries": len(briefing.entries),
        "by_priority": {p: briefing.count(p) for p in PRIORITIES if briefing.count(p)},
        "files": [str(f) for f in files],
    }
