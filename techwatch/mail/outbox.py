"""Queueing and delivering the outbox: every message once, never twice without notice.

The policy (RELIABILITY.md cases 30-33):

1. Queue once. A message is queued under an idempotency key `kind/client/period`; queueing
   the same key again queues nothing, and the bytes built the first time are the ones sent,
   however often the briefing is rebuilt.
2. One sender per database. A delivery run holds `<db>.mail.lock` (flock) from start to end;
   a second sender waits up to `wait_s`, then stops with SenderBusyError. DuckDB itself lets
   one process write at a time, and within a process the claim below is atomic as well.
3. Claim, send, record: `queued -> sending` is committed before the first byte goes to the
   server; the outcome is recorded after the server's reply, in the same commit as the next
   claim (one WAL sync per message), or alone after the last message.
4. A crash between the server's acceptance and the record leaves the row `sending`. The next
   run holds the lock, so no other sender is alive: every `sending` row belongs to a dead one
   and becomes `uncertain`, which is never resent automatically (the client may well have
   the message). The same holds when the connection is lost after the final dot. The advisor
   sees it in `techwatch mail outbox` and resends deliberately with `techwatch mail retry ID`:
   the very same bytes and Message-ID, so a mail client that got both can tell.
5. Transient failures (4xx, connection trouble) go back to `queued` with a next attempt
   5 min x 2^(attempts-1) later, at most 4 h; after 8 attempts the row is `failed`. A 5xx is
   `failed` at once, with the server's reply kept. A server that cannot be reached, or that
   stops answering (a timeout, no reply after the final dot), stops the run: the remaining
   messages stay queued, untouched, for the next run.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator, Sequence
from contextlib import ExitStack, contextmanager
from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from techwatch.clients.profile import Client
from techwatch.errors import StorageError, TechwatchError, TransientError
from techwatch.mail.message import KIND_SUMMARY as SUMMARY
from techwatch.mail.message import MailBuildError, Outgoing, idempotency_key, summary
from techwatch.mail.outcome import Claimed, Outcome, Transport
from techwatch.mail.settings import MailSettings
from techwatch.render.briefing import from_json
from techwatch.runlock import RunInProgressError, run_lock
from techwatch.storage.outbox import Finish, Outbox, Status

log = logging.getLogger(__name__)

FIRST_DELAY = timedelta(minutes=5)
MAX_DELAY = timedelta(hours=4)
MAX_ATTEMPTS = 8
INTERRUPTED = (
    "interrupted while sending: the server may have accepted it; not resent automatically "
    "(techwatch mail retry ID resends it)"
)


class SenderBusyError(TransientError):
    """Another delivery run holds the sender lock of this database."""


class NotRetryableError(TechwatchError):
    """`mail retry` on a row that is sent, or does not exist."""


@dataclass(frozen=True, slots=True)
class Skip:
    client_id: str
    why: str


@dataclass(frozen=True, slots=True)
class Plan:
    """What queueing would do: new messages, keys already queued, clients skipped."""

    new: tuple[Outgoing, ...]
    already: tuple[str, ...]
    skipped: tuple[Skip, ...]


@dataclass(slots=True)
class Report:
    """One delivery run: what happened to each claimed row, and why the run stopped."""

    interrupted: list[int] = field(default_factory=list)  # found `sending`, now uncertain
    results: list[dict[str, Any]] = field(default_factory=list)
    left: int = 0  # due rows not tried because the run stopped
    stopped: str | None = None

    def count(self, result: str) -> int:
        return sum(1 for r in self.results if r["result"] == result)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def sender_lock_path(db: Path) -> Path:
    return db.with_name(db.name + ".mail.lock")


@contextmanager
def sender_lock(db: Path, *, wait_s: float = 60.0) -> Iterator[None]:
    """Hold the one-sender lock of `db` (see the policy above)."""
    path = sender_lock_path(db)
    with ExitStack() as held:
        try:
            held.enter_context(run_lock(path, wait_s=wait_s))
        except RunInProgressError:
            raise SenderBusyError(
                f"another mail sender holds {path}; not sending from a second one"
            ) from None
        yield


def backoff(attempts: int) -> timedelta:
    """Delay before the next attempt after `attempts` transient failures."""
    return min(FIRST_DELAY * 2 ** max(attempts - 1, 0), MAX_DELAY)


def plan_summaries(
    outbox: Outbox, clients: Sequence[Client], settings: MailSettings, now: datetime
) -> Plan:
    """The summary of each client's latest stored briefing that is not queued yet."""
    latest = outbox.latest_briefings([c.id for c in clients])
    found = [(c, latest[c.id]) for c in clients if c.id in latest]
    skipped = [Skip(c.id, "no stored briefing") for c in clients if c.id not in latest]
    keys = {c.id: idempotency_key(SUMMARY, c.id, row["period"]) for c, row in found}
    already = outbox.known_keys(keys.values())
    new: list[Outgoing] = []
    for client, row in found:
        if keys[client.id] in already:
            continue
        try:
            briefing = from_json(row["content"])
            new.append(summary(briefing, client, settings, briefing_id=row["briefing_id"], now=now))
        except MailBuildError as error:
            skipped.append(Skip(client.id, str(error)))
    return Plan(tuple(new), tuple(sorted(already)), tuple(skipped))


def queue(outbox: Outbox, plan: Plan, now: datetime) -> list[int]:
    """Queue the plan's new messages; a key queued meanwhile is skipped, not duplicated."""
    return outbox.queue([outbox_row(o) for o in plan.new], now)


def deliver(
    outbox: Outbox,
    transport: Transport,
    clock: Callable[[], datetime],
    *,
    ids: Sequence[int] | None = None,
    client_id: str | None = None,
) -> Report:
    """Send what is due, one message at a time (call it holding `sender_lock`)."""
    report = Report(interrupted=outbox.mark_interrupted(clock(), INTERRUPTED))
    for row in report.interrupted:
        log.warning("outbox row %d was interrupted while sending: marked uncertain", row)
    due = outbox.due(clock(), ids=ids, client_id=client_id)
    pending: Finish | None = None  # committed together with the next claim
    try:
        for position, row in enumerate(due):
            claimed = outbox.claim(row["id"], clock(), finishing=pending)
            pending = None
            if claimed is None:
                continue
            item = _claimed(claimed, outbox.message_bytes(row["id"]))
            outcome = transport.send(item)
            pending, result = _record(item, outcome, clock())
            report.results.append(result)
            if outcome.stop:
                report.stopped = outcome.reply
                report.left = len(due) - position - 1
                break
    finally:
        if pending is not None:
            outbox.finish(pending)
        transport.close()
    return report


def retry(
    outbox: Outbox, transport: Transport, row_id: int, clock: Callable[[], datetime]
) -> Report:
    """Resend one row deliberately: failed, uncertain, sent to a folder, or still queued."""
    outbox.mark_interrupted(clock(), INTERRUPTED)
    row = outbox.get(row_id)
    if row is None:
        raise NotRetryableError(f"no outbox row {row_id}")
    if outbox.requeue(row_id, clock()) is None:
        raise NotRetryableError(
            f"outbox row {row_id} is {row['status']}: only failed, uncertain, "
            "sent_to_folder or queued rows can be retried"
        )
    return deliver(outbox, transport, clock, ids=[row_id])


def _record(item: Claimed, outcome: Outcome, now: datetime) -> tuple[Finish, dict[str, Any]]:
    """What to store about a message the transport answered for, and what to report."""
    result, reply, next_attempt = outcome.result, outcome.reply, None
    if result == "deferred" and item.attempts >= MAX_ATTEMPTS:
        result, reply = "failed", f"gave up after {item.attempts} attempts: {reply}"
    status: Status
    if result == "deferred":
        status, next_attempt = "queued", now + backoff(item.attempts)
    else:
        status = result
    level = logging.INFO if result in ("sent", "sent_to_folder") else logging.WARNING
    log.log(level, "outbox row %d (%s): %s: %s", item.id, item.key, result, reply)
    done = Finish(item.id, status, reply, now, next_attempt)
    return done, {
        "id": item.id,
        "key": item.key,
        "client_id": item.client_id,
        "result": result,
        "reply": reply,
        "next_attempt": next_attempt,
    }


def _claimed(row: dict[str, Any], message: bytes | None) -> Claimed:
    if message is None:
        raise StorageError(f"outbox row {row['id']} has no message bytes")
    return Claimed(
        id=int(row["id"]),
        key=row["idem_key"],
        client_id=row["client_id"],
        message_id=row["message_id"],
        sender=row["sender"],
        recipients=tuple(row["recipients"]),
        message=message,
        attempts=int(row["attempts"]),
    )


def outbox_row(message: Outgoing) -> dict[str, Any]:
    """The outbox table row of a message to queue (client summaries and advisor mail alike)."""
    return {
        "key": message.key,
        "kind": message.kind,
        "client_id": message.client_id,
        "period": message.period,
        "briefing_id": message.briefing_id,
        "message_id": message.message_id,
        "sender": message.sender,
        "recipients": list(message.recipients),
        "subject": message.subject,
        "message": message.message,
    }
