"""Prefect state hooks: a failed nightly or morning run mails the advisor an alert, once.

The hook reads the database path from the flow run's parameters; the alert is queued in the
outbox under the flow run id (techwatch.alerts), so a hook called twice for one run, or a
retried run that fails again under the same id, mails once. A hook must not hide the
failure it reports: its own errors are logged, never raised.
"""

from __future__ import annotations

import logging
import os
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from pipelines.smtp_block import mail_environment
from techwatch import alerts

log = logging.getLogger(__name__)


def alert_advisor(flow: Any, flow_run: Any, state: Any) -> None:
    """`on_failure` hook of the ingestion and briefings flows."""
    parameters = flow_run.parameters or {}
    db = Path(parameters["db_path"])
    var = Path(parameters.get("var_path") or db.parent)
    if not db.is_file():
        # Nothing ran yet (a refused first run, a configuration error): the outbox lives in
        # the database, and creating one for an alert would leave a half-made install.
        log.warning("flow run %s failed before %s existed: no alert mailed", flow_run.id, db)
        return
    try:
        result = alerts.notify_failure(
            db,
            var,
            flow=flow.name,
            flow_run_id=str(flow_run.id),
            flow_run_name=str(flow_run.name),
            error=str(state.message or state.name),
            env=mail_environment(os.environ),
            clock=lambda: datetime.now(UTC),
        )
    except Exception:
        log.exception("could not alert the advisor about failed flow run %s", flow_run.id)
        return
    log.warning("advisor alerted about failed flow run %s: %s", flow_run.id, result["result"])
