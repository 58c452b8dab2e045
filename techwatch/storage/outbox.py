"""SQL of the mail outbox (migration 0007); functions over an open connection.

Each state change is one statement, hence one transaction, guarded by the status it expects:
claiming a row is `UPDATE ... SET status = 'sending' WHERE id = ? AND status = 'queued'
RETURNING ...`, so of two connections claiming the same row one gets it and the other gets
nothing (or DuckDB's write-write conflict, read as "not claimed"). Recording the outcome
only moves a row that is still `sending`. The delivery policy around these steps (a sender
lock, rows found `sending` becoming `uncertain`) lives in `techwatch.mail.outbox`.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

import duckdb
import pyarrow as pa

from techwatch.errors import StorageError
from techwatch.storage import briefings
from techwatch.storage.connection import Conn
from techwatch.storage.rows import dicts

Status = Literal["queued", "sending", "sent", "sent_to_folder", "failed", "uncertain"]
STATUSES: tuple[Status, ...] = (
    "queued",
    "sending",
    "sent",
    "sent_to_folder",
    "failed",
    "uncertain",
)
# A deliberate `mail retry` may resend these; `sent` is never resent, `sending` is in flight.
RETRYABLE: tuple[Status, ...] = ("queued", "failed", "uncertain", "sent_to_folder")
LIST_COLUMNS = (
    "id, idem_key, kind, client_id, period, briefing_id, status, attempts, next_attempt, "
    "last_reply, message_id, sender, recipients, subject, created_at, updated_at, sent_at"
)
QUEUE_SCHEMA = pa.schema(
    [
        ("key", pa.string()),
        ("kind", pa.string()),
        ("client_id", pa.string()),
        ("period", pa.string()),
        ("briefing_id", pa.string()),
        ("message_id", pa.string()),
        ("sender", pa.string()),
        ("recipients", pa.list_(pa.string())),
        ("subject", pa.string()),
        ("message", pa.binary()),
    ]
)


def queue(conn: Conn, rows: Sequence[dict[str, Any]], now: datetime) -> list[int]:
    """Insert the messages whose key is not queued yet, in one transaction; their new ids.

    One statement for the whole batch (staged as Arrow): per-row INSERTs cost DuckDB a
    Python-side parameter conversion each, 500 of them several seconds.
    """
    unique = list({row["key"]: row for row in rows}.values())
    if not unique:
        return []
    staged = pa.Table.from_pylist(unique, schema=QUEUE_SCHEMA)
    conn.register("staged_mail", staged)
    conn.execute("BEGIN TRANSACTION")
    try:
        found = conn.execute(
            "INSERT INTO outbox (idem_key, kind, client_id, period, briefing_id, status, "
            "attempts, next_attempt, message_id, sender, recipients, subject, created_at, "
            "updated_at) SELECT key, kind, client_id, period, briefing_id, 'queued', 0, $now, "
            "message_id, sender, recipients, subject, $now, $now FROM staged_mail "
            "ON CONFLICT DO NOTHING RETURNING id",
            {"now": now},
        ).fetchall()
        ids = sorted(int(r[0]) for r in found)
        conn.execute(
            "INSERT INTO outbox_messages SELECT o.id, s.message FROM staged_mail s "
            "JOIN outbox o ON o.idem_key = s.key WHERE o.id IN (SELECT unnest($ids))",
            {"ids": ids},
        )
    except BaseException as error:
        conn.execute("ROLLBACK")
        if isinstance(error, duckdb.Error):
            raise StorageError(f"queueing mail failed and was rolled back: {error}") from error
        raise
    finally:
        conn.unregister("staged_mail")
    conn.execute("COMMIT")
    return ids


def known_keys(conn: Conn, keys: Iterable[str]) -> set[str]:
    """Which of these idempotency keys are already in the outbox, whatever their status."""
    wanted = list(dict.fromkeys(keys))
    if not wanted:
        return set()
    rows = conn.execute(
        "SELECT idem_key FROM outbox WHERE idem_key IN (SELECT unnest($keys))", {"keys": wanted}
    ).fetchall()
    return {str(r[0]) for r in rows}


def mark_interrupted(conn: Conn, now: datetime, reply: str) -> list[int]:
    """Rows left `sending` by a sender that died become `uncertain` (call under the lock)."""
    rows = conn.execute(
        "UPDATE outbox SET status = 'uncertain', last_reply = ?, updated_at = ? "
        "WHERE status = 'sending' RETURNING id",
        [reply, now],
    ).fetchall()
    return sorted(int(r[0]) for r in rows)


def due(
    conn: Conn,
    now: datetime,
    *,
    ids: Sequence[int] | None = None,
    client_id: str | None = None,
) -> list[dict[str, Any]]:
    """Queued rows whose next attempt has come, oldest first (without their bytes)."""
    sql = (
        f"SELECT {LIST_COLUMNS} FROM outbox WHERE status = 'queued' AND next_attempt <= $now "
        "AND ($client_id IS NULL OR client_id = $client_id) "
        "AND ($all_ids OR id IN (SELECT unnest($ids))) ORDER BY next_attempt, id"
    )
    params = {
        "now": now,
        "client_id": client_id,
        "all_ids": ids is None,
        "ids": list(ids or []),
    }
    return dicts(conn.execute(sql, params))


@dataclass(frozen=True, slots=True)
class Finish:
    """The outcome of a claimed row, to record."""

    row_id: int
    status: Status
    reply: str | None
    at: datetime
    next_attempt: datetime | None = None  # when back to `queued`


def claim(
    conn: Conn,
    row_id: int,
    now: datetime,
    *,
    finishing: Finish | None = None,
) -> dict[str, Any] | None:
    """Atomically take a queued row for sending; None when another sender has it.

    `finishing`, the previous message's outcome, is committed in the same transaction: one
    commit, hence one WAL sync, per message instead of two.
    """
    if finishing is None:
        return _claim(conn, row_id, now)
    conn.execute("BEGIN TRANSACTION")
    try:
        finish(conn, finishing)
        found = _claim(conn, row_id, now)
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    if found is None:  # a lost race aborts the transaction: record the outcome alone
        conn.execute("ROLLBACK")
        finish(conn, finishing)
        return None
    conn.execute("COMMIT")
    return found


def _claim(conn: Conn, row_id: int, now: datetime) -> dict[str, Any] | None:
    try:
        found = dicts(
            conn.execute(
                "UPDATE outbox SET status = 'sending', attempts = attempts + 1, updated_at = ? "
                "WHERE id = ? AND status = 'queued' "
                "RETURNING id, idem_key, client_id, attempts, message_id, sender, recipients",
                [now, row_id],
            )
        )
    except duckdb.TransactionException:
        return None  # a concurrent claim of the same row won
    return found[0] if found else None


def finish(conn: Conn, done: Finish) -> bool:
    """Record the outcome of a claimed row; False when it was no longer `sending`."""
    sent_at = done.at if done.status in ("sent", "sent_to_folder") else None
    rows = conn.execute(
        "UPDATE outbox SET status = $status, last_reply = $reply, updated_at = $now, "
        "sent_at = coalesce($sent_at, sent_at), "
        "next_attempt = coalesce($next_attempt, next_attempt) "
        "WHERE id = $id AND status = 'sending' RETURNING id",
        {
            "status": done.status,
            "reply": done.reply,
            "now": done.at,
            "sent_at": sent_at,
            "next_attempt": done.next_attempt,
            "id": done.row_id,
        },
    ).fetchall()
    return bool(rows)


def requeue(conn: Conn, row_id: int, now: datetime) -> dict[str, Any] | None:
    """Put a failed, uncertain or folder-delivered row back in the queue, due now."""
    found = dicts(
        conn.execute(
            "UPDATE outbox SET status = 'queued', next_attempt = $now, updated_at = $now "
            "WHERE id = $id AND status IN (SELECT unnest($retryable)) RETURNING id",
            {"now": now, "id": row_id, "retryable": list(RETRYABLE)},
        )
    )
    return found[0] if found else None


def latest_briefings(conn: Conn, client_ids: Sequence[str]) -> dict[str, dict[str, Any]]:
    """The latest stored briefing of each client, content decoded: `briefings.latest_briefing`
    for many clients in one query (queueing 500 summaries reads 500 briefings)."""
    rows = dicts(
        conn.execute(
            "SELECT * FROM briefings WHERE client_id IN (SELECT unnest($ids)) QUALIFY "
            "row_number() OVER (PARTITION BY client_id ORDER BY generated_at DESC) = 1",
            {"ids": list(client_ids)},
        )
    )
    for row in rows:
        row["content"] = json.loads(row["content"])
    return {row["client_id"]: row for row in rows}


def get(conn: Conn, row_id: int) -> dict[str, Any] | None:
    rows = dicts(conn.execute(f"SELECT {LIST_COLUMNS} FROM outbox WHERE id = ?", [row_id]))
    return rows[0] if rows else None


def message_bytes(conn: Conn, row_id: int) -> bytes | None:
    row = conn.execute("SELECT message FROM outbox_messages WHERE id = ?", [row_id]).fetchone()
    return bytes(row[0]) if row else None


def listing(
    conn: Conn,
    *,
    status: str | None = None,
    client_id: str | None = None,
    limit: int = 200,
) -> list[dict[str, Any]]:
    """Outbox rows, newest first, without their bytes."""
    return dicts(
        conn.execute(
            f"SELECT {LIST_COLUMNS} FROM outbox WHERE ($status IS NULL OR status = $status) "
            "AND ($client_id IS NULL OR client_id = $client_id) "
            "ORDER BY created_at DESC, id DESC LIMIT $limit",
            {"status": status, "client_id": client_id, "limit": limit},
        )
    )


def counts(conn: Conn) -> dict[str, int]:
    """Rows per status, every status present (zero when none): for reports."""
    found = dict(conn.execute("SELECT status, count(*) FROM outbox GROUP BY status").fetchall())
    return {status: int(found.get(status, 0)) for status in STATUSES}


class Outbox:
    """The outbox functions bound to one connection (from `Writer.outbox()` or
    `Reader.outbox()`; over a read-only connection only the reading methods work)."""

    def __init__(self, conn: Conn) -> None:
        self._conn = conn

    def queue(self, rows: Sequence[dict[str, Any]], now: datetime) -> list[int]:
        return queue(self._conn, rows, now)

    def known_keys(self, keys: Iterable[str]) -> set[str]:
        return known_keys(self._conn, keys)

    def mark_interrupted(self, now: datetime, reply: str) -> list[int]:
        return mark_interrupted(self._conn, now, reply)

    def due(
        self, now: datetime, *, ids: Sequence[int] | None = None, client_id: str | None = None
    ) -> list[dict[str, Any]]:
        return due(self._conn, now, ids=ids, client_id=client_id)

    def claim(
        self, row_id: int, now: datetime, *, finishing: Finish | None = None
    ) -> dict[str, Any] | None:
        return claim(self._conn, row_id, now, finishing=finishing)

    def finish(self, done: Finish) -> bool:
        return finish(self._conn, done)

    def requeue(self, row_id: int, now: datetime) -> dict[str, Any] | None:
        return requeue(self._conn, row_id, now)

    def get(self, row_id: int) -> dict[str, Any] | None:
        return get(self._conn, row_id)

    def message_bytes(self, row_id: int) -> bytes | None:
        return message_bytes(self._conn, row_id)

    def listing(
        self, *, status: str | None = None, client_id: str | None = None, limit: int = 200
    ) -> list[dict[str, Any]]:
        return listing(self._conn, status=status, client_id=client_id, limit=limit)

    def counts(self) -> dict[str, int]:
        return counts(self._conn)

    def latest_briefings(self, client_ids: Sequence[str]) -> dict[str, dict[str, Any]]:
        return latest_briefings(self._conn, client_ids)

    def latest_briefing(self, client_id: str, period: str | None = None) -> dict[str, Any] | None:
        """The stored briefing a summary is built from (see storage.briefings)."""
        return briefings.latest_briefing(self._conn, client_id, period)
