"""Delivery to a real SMTP server on 127.0.0.1: what it received, and what the outbox says
(RELIABILITY.md cases 28, 30, 31, 33)."""

from __future__ import annotations

import dataclasses
import socket
import threading
import time
from datetime import timedelta
from pathlib import Path

import pytest

from techwatch.clients.profile import Contact
from techwatch.mail import send
from techwatch.mail.settings import MailSettings, Secret, Smtp
from techwatch.storage import open_reader
from tests.mail.conftest import PASSWORD, USER
from tests.mail.factories import (
    NOW,
    SETTINGS,
    briefing,
    client,
    entry,
    store_briefing,
    store_briefings,
)
from tests.smtp import free_port


def settings_for(smtp) -> MailSettings:  # type: ignore[no-untyped-def]
    return dataclasses.replace(SETTINGS, smtp=smtp)


def stored(db: Path, *client_ids: str) -> list:
    store_briefings(db, [(briefing((entry(),), client_id=c), c) for c in client_ids])
    return [client(c) for c in client_ids]


def run(db: Path, clients, smtp, at=NOW, tmp: Path | None = None) -> send.SendResult:  # type: ignore[no-untyped-def]
    folder = (tmp or db.parent) / "outbox"
    return send.send(db, clients, settings_for(smtp), folder, lambda: at, wait_s=30)


def rows(db: Path) -> dict[str, dict]:
    with open_reader(db) as reader:
        return {r["client_id"]: r for r in reader.outbox().listing()}


def test_messages_arrive_multipart_with_headers_over_one_reused_connection(db, smtp_server):
    server = smtp_server()
    clients = stored(db, "a", "b", "c")
    result = run(db, clients, server.settings())
    assert result.report.count("sent") == 3
    assert len(server.bag.received) == 3
    assert len(set(server.bag.peers)) == 1  # one connection...
    assert server.bag.rsets == 2  # ...reset between messages
    for envelope, msg in zip(server.bag.received, server.bag.messages, strict=True):
        assert envelope.mail_from == "veille@conseil.example"
        client_id = envelope.rcpt_tos[0].split("@")[1].split(".")[0]
        assert envelope.rcpt_tos == [f"claire@{client_id}.example"]  # not the IT partner
        assert msg.get_content_type() == "multipart/mixed"
        alternative, attachment = msg.get_payload()
        assert alternative.get_content_type() == "multipart/alternative"
        assert [p.get_content_type() for p in alternative.get_payload()] == [
            "text/plain",
            "text/html",
        ]
        assert attachment.get_filename() == "veille-2026-W48.html"
        assert msg["Message-ID"] == rows(db)[client_id]["message_id"]
        assert (
            msg["Date"]
            and msg["From"]
            and msg["Reply-To"] == ("Jean Conseil <jean@conseil.example>")
        )
        assert msg["List-Unsubscribe"].startswith("<mailto:jean@conseil.example?")
    assert {r["status"] for r in rows(db).values()} == {"sent"}
    assert all(r["last_reply"].startswith("250 ") for r in rows(db).values())


def test_queueing_and_sending_twice_delivers_once(db, smtp_server):
    server = smtp_server()
    clients = stored(db, "a")
    first = run(db, clients, server.settings())
    store_briefing(db, briefing((entry(), entry("plan", 1)), client_id="a"), "a-rebuilt")
    second = run(db, clients, server.settings(), at=NOW + timedelta(hours=1))
    assert (len(first.queued), len(second.queued)) == (1, 0)
    assert second.plan.already == ("summary/a/2026-W48",)
    assert len(server.bag.received) == 1


def test_two_senders_at_once_deliver_each_message_once(db, smtp_server):
    server = smtp_server()
    clients = stored(db, "a", "b", "c", "d")
    results: list[send.SendResult] = []
    errors: list[BaseException] = []

    def sender() -> None:
        try:
            results.append(run(db, clients, server.settings()))
        except BaseException as error:  # reported below, not swallowed
            errors.append(error)

    threads = [threading.Thread(target=sender) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert errors == []
    assert sorted(len(r.queued) for r in results) == [0, 4]
    assert sum(r.report.count("sent") for r in results) == 4
    assert len(server.bag.received) == 4


def test_starttls_with_a_verified_certificate_and_auth(db, smtp_server):
    server = smtp_server("starttls", auth=True)
    smtp = server.settings(
        security="starttls", ca_file=server.cert, user=USER, password=Secret(PASSWORD)
    )
    result = run(db, stored(db, "a"), smtp)
    assert result.report.count("sent") == 1
    assert len(server.bag.received) == 1


def test_implicit_tls(db, smtp_server):
    server = smtp_server("tls")
    result = run(db, stored(db, "a"), server.settings(security="tls", ca_file=server.cert))
    assert result.report.count("sent") == 1
    assert len(server.bag.received) == 1


def test_an_untrusted_certificate_fails_closed_and_the_message_stays_queued(db, smtp_server):
    server = smtp_server("starttls")
    result = run(db, stored(db, "a", "b"), server.settings(security="starttls"))
    assert result.report.stopped is not None
    assert "certificate verify failed" in result.report.stopped
    assert result.report.left == 1  # b was not even tried
    assert {r["status"] for r in rows(db).values()} == {"queued"}
    assert server.bag.received == []


def test_starttls_demanded_but_not_offered_is_never_downgraded(db, smtp_server):
    server = smtp_server("plain")
    result = run(db, stored(db, "a"), server.settings(security="starttls"))
    assert "STARTTLS not offered" in (result.report.stopped or "")
    assert server.bag.received == []


def test_no_auth_over_an_unencrypted_connection_unless_allowed(db, smtp_server):
    server = smtp_server("plain")
    smtp = server.settings(user=USER, password=Secret(PASSWORD))
    result = run(db, stored(db, "a"), smtp)
    assert "refusing AUTH without TLS" in (result.report.stopped or "")
    assert server.bag.received == []


def test_4xx_is_retried_after_a_back_off_then_sent(db, smtp_server):
    server = smtp_server()
    server.bag.data_replies = ["451 4.3.0 Try again later"]
    clients = stored(db, "a")
    run(db, clients, server.settings())
    row = rows(db)["a"]
    assert (row["status"], row["attempts"]) == ("queued", 1)
    assert row["last_reply"] == "DATA: 451 4.3.0 Try again later"
    assert row["next_attempt"] == NOW + timedelta(minutes=5)
    early = run(db, clients, server.settings(), at=NOW + timedelta(minutes=4))
    assert early.report.results == [] and server.bag.received == []
    run(db, clients, server.settings(), at=NOW + timedelta(minutes=5))
    assert (rows(db)["a"]["status"], rows(db)["a"]["attempts"]) == ("sent", 2)
    assert len(server.bag.received) == 1


def test_5xx_fails_for_good_with_the_server_reply_stored(db, smtp_server):
    server = smtp_server()
    server.bag.data_replies = ["554 5.7.1 Message rejected as spam"]
    clients = stored(db, "a")
    run(db, clients, server.settings())
    run(db, clients, server.settings(), at=NOW + timedelta(days=1))
    row = rows(db)["a"]
    assert (row["status"], row["attempts"]) == ("failed", 1)
    assert row["last_reply"] == "DATA: 554 5.7.1 Message rejected as spam"
    assert server.bag.received == []


@pytest.mark.parametrize(
    ("replies", "status", "delivered"),
    [
        ({"claire@a.example": ["550 5.1.1 No such user"]}, "sent", ["boss@a.example"]),
        (
            {"claire@a.example": ["550 5.1.1 No such user"], "boss@a.example": ["550 5.1.1 No"]},
            "failed",
            None,
        ),
        (
            {"claire@a.example": ["450 4.2.1 Mailbox busy"], "boss@a.example": ["550 5.1.1 No"]},
            "queued",
            None,
        ),
    ],
    ids=["partial-refusal-is-sent-and-noted", "all-5xx-fail", "any-4xx-retries"],
)
def test_refusals_per_recipient(db, smtp_server, replies, status, delivered):
    server = smtp_server()
    server.bag.rcpt_replies = replies
    store_briefing(db, briefing((entry(),), client_id="a"))
    two = client("a", contacts=(Contact("C", "claire@a.example"), Contact("B", "boss@a.example")))
    run(db, [two], server.settings())
    row = rows(db)["a"]
    assert row["status"] == status
    assert "claire@a.example" in row["last_reply"]
    if delivered is None:
        assert server.bag.received == []
    else:
        assert [e.rcpt_tos for e in server.bag.received] == [delivered]
        assert "refused: claire@a.example 550 5.1.1 No such user" in row["last_reply"]


def test_a_server_silent_after_connect_times_out_and_the_message_stays_queued(db):
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        port = listener.getsockname()[1]
        smtp = Smtp(host="127.0.0.1", port=port, security="none", timeout_s=1.0)
        started = time.monotonic()
        result = run(db, stored(db, "a", "b"), smtp)
        elapsed = time.monotonic() - started
    assert elapsed < 10
    assert "cannot connect" in (result.report.stopped or "")
    assert result.report.left == 1
    assert {(r["status"], r["attempts"]) for r in rows(db).values()} == {
        ("queued", 1),
        ("queued", 0),
    }


def test_a_server_that_is_down_stops_the_run_and_keeps_everything_queued(db):
    smtp = Smtp(host="127.0.0.1", port=free_port(), security="none", timeout_s=2.0)
    result = run(db, stored(db, "a", "b", "c"), smtp)
    assert result.report.left == 2
    assert [r["result"] for r in result.report.results] == ["deferred"]
    assert {r["status"] for r in rows(db).values()} == {"queued"}


def test_a_failed_rset_means_a_new_connection_not_a_lost_message(db, smtp_server):
    server = smtp_server()
    server.bag.rset_replies = ["421 4.3.2 Closing, come back later"]
    result = run(db, stored(db, "a", "b", "c"), server.settings())
    assert result.report.count("sent") == 3
    assert len(server.bag.received) == 3
    assert len(set(server.bag.peers)) == 2
    assert server.bag.rsets == 2  # the refused one, then one on the new connection


def stalling_server(listener: socket.socket, answers: int, seen: list[bytes]) -> None:
    """Greet, answer the first `answers` commands with 250, then read and never answer."""
    conn, _ = listener.accept()
    with conn:
        conn.sendall(b"220 stall.example ESMTP\r\n")
        reader = conn.makefile("rb")
        for _ in range(answers):
            seen.append(reader.readline())
            conn.sendall(b"250 stall.example\r\n")
        seen.append(reader.readline())
        conn.recv(1)  # until the client gives up and closes


def test_a_server_that_stalls_mid_transaction_times_out_and_stops_the_run(db):
    seen: list[bytes] = []
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        thread = threading.Thread(target=stalling_server, args=(listener, 1, seen), daemon=True)
        thread.start()
        smtp = Smtp(host="127.0.0.1", port=listener.getsockname()[1], security="none", timeout_s=1)
        started = time.monotonic()
        result = run(db, stored(db, "a", "b", "c"), smtp)
        elapsed = time.monotonic() - started
        thread.join(timeout=5)
    assert [line.split()[0].upper() for line in seen] == [
        b"EHLO",
        b"MAIL",
    ]  # EHLO answered, MAIL not
    assert elapsed < 6  # one timeout, not one per message
    assert "timed out" in (result.report.stopped or "")
    assert result.report.left == 2
    assert sorted((r["status"], r["attempts"]) for r in rows(db).values()) == [
        ("queued", 0), ("queued", 0), ("queued", 1),
    ]  # fmt: skip
