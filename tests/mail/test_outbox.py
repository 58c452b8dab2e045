"""The outbox policy in a real DuckDB file: queued once, claimed once, and a crash after the
server accepted a message never leads to a silent second copy (RELIABILITY.md 32-33)."""

from __future__ import annotations

import dataclasses
import os
import selectors
import signal
import subprocess
import sys
import threading
import time
from datetime import timedelta
from pathlib import Path

import pytest

from techwatch.mail import outbox as policy
from techwatch.mail import send
from techwatch.mail.outcome import Claimed, Outcome
from techwatch.mail.settings import Smtp
from techwatch.storage import open_reader, open_writer
from techwatch.storage import outbox as sql
from techwatch.storage.connection import connect
from tests.mail.factories import (
    NOW,
    SETTINGS,
    briefing,
    client,
    entry,
    store_briefing,
    store_briefings,
)

REPO = Path(__file__).resolve().parents[2]


def row(key: str, client_id: str = "a") -> dict:
    return {
        "key": key,
        "kind": "summary",
        "client_id": client_id,
        "period": "2026-W48",
        "briefing_id": None,
        "message_id": f"<{key}@x.example>",
        "sender": "veille@conseil.example",
        "recipients": ["claire@a.example"],
        "subject": "s",
        "message": b"Subject: s\r\n\r\nbody\r\n",
    }


def statuses(db: Path) -> dict[str, str]:
    with open_reader(db) as reader:
        return {r["client_id"]: r["status"] for r in reader.outbox().listing()}


class Flaky:
    """A transport whose server always answers 4xx: counts what it was given."""

    via = "smtp"

    def __init__(self) -> None:
        self.sent: list[Claimed] = []

    def send(self, item: Claimed) -> Outcome:
        self.sent.append(item)
        return Outcome("deferred", "DATA: 451 4.3.0 Try again later")

    def close(self) -> None:
        return None


def test_queueing_the_same_key_twice_queues_nothing_new(db):
    store_briefing(db, briefing(client_id="a"))
    with open_writer(db) as writer:
        box = writer.outbox()
        assert box.queue([row("k1"), row("k2")], NOW) == [1, 2]
        assert box.queue([row("k1"), row("k3")], NOW) == [4]  # ids may skip, keys never repeat
        assert [r["idem_key"] for r in box.listing()] == ["k3", "k2", "k1"]


def test_two_connections_claiming_at_once_never_both_get_a_row(db):
    store_briefing(db, briefing(client_id="a"))
    conn = connect(db, read_only=False, wait_s=5)
    try:
        ids = sql.queue(conn, [row(f"k{i}") for i in range(30)], NOW)
        winners: dict[int, list[str]] = {i: [] for i in ids}
        barrier = threading.Barrier(2)

        def claimer(name: str) -> None:
            cursor = conn.cursor()  # a second connection to the same database
            barrier.wait()
            for row_id in ids:
                if sql.claim(cursor, row_id, NOW) is not None:
                    winners[row_id].append(name)
            cursor.close()

        threads = [threading.Thread(target=claimer, args=(n,)) for n in ("x", "y")]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=30)
        assert all(len(names) == 1 for names in winners.values())
    finally:
        conn.close()


def test_a_second_sender_stops_cleanly_while_one_holds_the_lock(db):
    clients = [client("a")]
    store_briefing(db, briefing((entry(),), client_id="a"))
    with policy.sender_lock(db), pytest.raises(policy.SenderBusyError, match="another mail sender"):
        send.send(db, clients, SETTINGS, db.parent / "outbox", lambda: NOW, wait_s=0.3)


@pytest.mark.parametrize(
    ("attempts", "delay"),
    [(1, timedelta(minutes=5)), (2, timedelta(minutes=10)), (4, timedelta(minutes=40)),
     (6, timedelta(hours=2, minutes=40)), (7, timedelta(hours=4)), (20, timedelta(hours=4))],
)  # fmt: skip
def test_back_off_doubles_up_to_four_hours(attempts, delay):
    assert policy.backoff(attempts) == delay


def test_transient_failures_give_up_after_the_last_attempt(db):
    store_briefing(db, briefing((entry(),), client_id="a"))
    flaky = Flaky()
    with open_writer(db) as writer:
        box = writer.outbox()
        policy.queue(box, policy.plan_summaries(box, [client("a")], SETTINGS, NOW), NOW)
        for n in range(policy.MAX_ATTEMPTS + 2):
            at = NOW + n * policy.MAX_DELAY
            policy.deliver(box, flaky, lambda at=at: at)
        (listed,) = box.listing()
    assert len(flaky.sent) == policy.MAX_ATTEMPTS
    assert listed["status"] == "failed"
    assert listed["last_reply"] == "gave up after 8 attempts: DATA: 451 4.3.0 Try again later"


class Sender:
    """tests.mail.worker in its own process, with bounded waits for what it prints."""

    def __init__(self, *args: str) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "tests.mail.worker", *args],
            cwd=REPO,
            env={**os.environ, "PYTHONPATH": str(REPO)},
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )

    def expect(self, word: str, timeout: float = 60.0) -> None:
        assert self.proc.stdout is not None
        selector = selectors.DefaultSelector()
        selector.register(self.proc.stdout, selectors.EVENT_READ)
        deadline = time.monotonic() + timeout
        try:
            while (left := deadline - time.monotonic()) > 0 and selector.select(left):
                line = self.proc.stdout.readline()
                if not line or line.strip() == word:
                    break
            else:
                line = ""
        finally:
            selector.close()
        if line.strip() != word:
            self.stop()
            assert self.proc.stderr is not None
            pytest.fail(f"sender did not print {word!r}; stderr:\n{self.proc.stderr.read()}")

    def kill(self) -> None:
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(timeout=30)

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(timeout=30)
        for stream in (self.proc.stdin, self.proc.stdout, self.proc.stderr):
            if stream is not None:
                stream.close()


@pytest.fixture
def sender():
    started: list[Sender] = []

    def start(*args: str) -> Sender:
        started.append(Sender(*args))
        return started[-1]

    yield start
    for s in started:
        s.stop()


def test_a_sender_killed_after_the_server_accepted_leaves_an_uncertain_row(db, smtp_server, sender):
    server = smtp_server()
    store_briefing(db, briefing((entry(),), client_id="a"))
    worker = sender(str(db), str(server.port), "a")
    worker.expect("accepted")
    worker.kill()  # the server has the message; the outbox does not know
    assert len(server.bag.received) == 1
    assert statuses(db) == {"a": "sending"}

    settings = dataclasses.replace(SETTINGS, smtp=server.settings())
    again = send.send(db, [client("a")], settings, db.parent / "outbox", lambda: NOW, wait_s=10)
    assert again.report.interrupted == [1]
    assert again.report.results == [] and again.queued == []
    assert statuses(db) == {"a": "uncertain"}
    later = NOW + timedelta(days=1)
    send.send(db, [client("a")], settings, db.parent / "outbox", lambda: later, wait_s=10)
    assert len(server.bag.received) == 1  # never resent by itself

    report = send.retry(db, 1, settings, db.parent / "outbox", lambda: later)
    assert [r["result"] for r in report.results] == ["sent"]
    assert statuses(db) == {"a": "sent"}
    first, second = server.bag.received
    assert first.original_content == second.original_content  # same bytes, same Message-ID
    assert server.bag.messages[0]["Message-ID"] == server.bag.messages[1]["Message-ID"]


def test_no_reply_after_the_final_dot_is_uncertain_not_retried(db, smtp_server):
    server = smtp_server()
    server.bag.data_delay_s = 2.5
    store_briefing(db, briefing((entry(),), client_id="a"))
    smtp = Smtp(host="127.0.0.1", port=server.port, security="none", timeout_s=1.0)
    settings = dataclasses.replace(SETTINGS, smtp=smtp)
    result = send.send(db, [client("a")], settings, db.parent / "outbox", lambda: NOW)
    assert [r["result"] for r in result.report.results] == ["uncertain"]
    assert "no reply after the end of the message" in result.report.results[0]["reply"]
    assert server.bag.data_started == 1  # the whole message reached the server
    send.send(db, [client("a")], settings, db.parent / "outbox", lambda: NOW + timedelta(days=1))
    assert server.bag.data_started == 1
    assert statuses(db) == {"a": "uncertain"}


def test_no_reply_after_the_final_dot_stops_the_run_before_the_next_message(db, smtp_server):
    server = smtp_server()
    server.bag.data_delay_s = 2.5
    store_briefings(db, [(briefing((entry(),), client_id=c), c) for c in ("a", "b")])
    smtp = Smtp(host="127.0.0.1", port=server.port, security="none", timeout_s=1.0)
    settings = dataclasses.replace(SETTINGS, smtp=smtp)
    clients = [client("a"), client("b")]
    result = send.send(db, clients, settings, db.parent / "outbox", lambda: NOW)
    assert [r["result"] for r in result.report.results] == ["uncertain"]
    assert result.report.left == 1
    assert server.bag.data_started == 1
    assert statuses(db) == {"a": "uncertain", "b": "queued"}


@pytest.mark.parametrize(("status", "message"), [("sent", "is sent"), (None, "no outbox row")])
def test_retry_refuses_a_sent_row_and_an_unknown_id(db, status, message):
    store_briefing(db, briefing((entry(),), client_id="a"))
    folder = db.parent / "outbox"
    send.send(db, [client("a")], SETTINGS, folder, lambda: NOW)
    row_id = 1 if status else 99
    if status == "sent":
        with open_writer(db) as writer:  # as if SMTP had delivered it
            box = writer.outbox()
            box.requeue(row_id, NOW)
            box.claim(row_id, NOW)
            box.finish(sql.Finish(row_id, "sent", "250 OK", NOW))
    with pytest.raises(policy.NotRetryableError, match=message):
        send.retry(db, row_id, SETTINGS, folder, lambda: NOW)


def test_retry_resends_a_folder_delivered_row_through_the_folder_again(db):
    store_briefing(db, briefing((entry(),), client_id="a"))
    folder = db.parent / "outbox"
    send.send(db, [client("a")], SETTINGS, folder, lambda: NOW)
    eml = folder / "summary-a-2026-W48.eml"
    first = eml.read_bytes()
    eml.unlink()
    report = send.retry(db, 1, SETTINGS, folder, lambda: NOW)
    assert [r["result"] for r in report.results] == ["sent_to_folder"]
    assert eml.read_bytes() == first
