"""Mail benchmark: composing and queueing 500 clients' summaries, then delivering them to a
local SMTP server over one connection, each as a ratio to a baseline run in the same process.

Issue 6's targets: rendering and queueing 500 clients' emails in <= 10 s; delivery at >= 20
messages/s over one connection reused with care (RSET between messages).

    queue     plan_summaries (read each client's latest stored briefing, compose, build the
              message) + queue (insert into the outbox), in a real DuckDB file
    baseline  rendering the same 500 briefings as HTML with the briefing renderer alone
    deliver   the outbox delivery loop (claim, send, record) to aiosmtpd on 127.0.0.1
    baseline  plain smtplib `sendmail` of the same bytes over one connection, no outbox

Briefings have 0 to 9 stories (a fifth have none), in fr, de and en.

    .venv/bin/python bench/mail_bench.py [--clients 500]
"""

from __future__ import annotations

import argparse
import json
import random
import smtplib
import socket
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from aiosmtpd.controller import Controller

from techwatch.briefing.model import Briefing, Entry, Health, Link
from techwatch.briefing.period import parse_period
from techwatch.clients.profile import PRIORITIES, Client, Contact
from techwatch.mail import outbox as policy
from techwatch.mail.settings import Advisor, Mailbox, MailSettings, Smtp
from techwatch.mail.smtp import SmtpTransport
from techwatch.render.briefing import render, to_json
from techwatch.storage import briefings as store
from techwatch.storage import open_writer

NOW = datetime(2026, 11, 30, 5, 30, tzinfo=UTC)
QUEUE_TARGET_S = 10.0
RATE_TARGET = 20.0
LANGUAGES = ("fr", "de", "en")
WORDS = [
    "security", "update", "vulnerability", "patch", "firewall", "exchange", "server",
    "ransomware", "attack", "cloud", "sécurité", "mise", "à", "jour", "vulnérabilité",
    "attaque", "correctif", "Sicherheit", "Schwachstelle", "Angriff",
]  # fmt: skip


class Sink:
    """Accepts every message and counts them."""

    def __init__(self) -> None:
        self.count = 0

    async def handle_DATA(self, server, session, envelope):  # type: ignore[no-untyped-def]
        self.count += 1
        return "250 OK"


def sentence(rng: random.Random, n: int) -> str:
    return " ".join(rng.choice(WORDS) for _ in range(n)).capitalize() + "."


def make_briefing(i: int, rng: random.Random) -> Briefing:
    stories = 0 if i % 5 == 0 else rng.randint(1, 9)
    entries = tuple(
        Entry(
            story_id=f"s{i}-{n}",
            priority=rng.choice(PRIORITIES),
            lane="confirmed",
            title=sentence(rng, rng.randint(6, 14)),
            summary=" ".join(sentence(rng, 12) for _ in range(3)),
            why=(sentence(rng, 10), sentence(rng, 8)),
            actions=(sentence(rng, 12),),
            links=(Link("CERT-FR", sentence(rng, 6), f"https://cert.example/{i}/{n}", NOW),),
            first_seen=NOW,
            topics=("vulnerability",),
            severity="high",
        )
        for n in range(stories)
    )
    return Briefing(
        client_id=f"client-{i:04d}",
        client_name=f"Client {i}",
        language=LANGUAGES[i % 3],  # type: ignore[arg-type]
        period=parse_period("2026-W48"),
        generated_at=NOW,
        items_watched=1200 + i,
        health=Health(checked=56, failing=1),
        entries=entries,
    )


def make_client(b: Briefing) -> Client:
    return Client(
        id=b.client_id,
        name=b.client_name,
        sectors=("health",),
        language=b.language,
        contacts=(Contact("Owner", f"owner@{b.client_id}.example"),),
        min_priority_to_mail="plan",
    )


def store_all(db: Path, found: list[Briefing]) -> None:
    with open_writer(db) as writer:  # creates and migrates the file
        conn = writer._conn
        conn.execute("BEGIN TRANSACTION")
        for b in found:
            row = {
                "briefing_id": f"{b.client_id}-w48", "client_id": b.client_id,
                "period": b.period.label, "period_start": b.period.start,
                "period_end": b.period.end, "generated_at": NOW, "language": b.language,
                "model_version": None, "rules_version": None, "entries": len(b.entries),
                "top_priority": None, "content": json.dumps(to_json(b), ensure_ascii=False),
            }  # fmt: skip
            store.save_briefing(conn, row, [])
        conn.execute("COMMIT")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=500)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    rng = random.Random(args.seed)
    found = [make_briefing(i, rng) for i in range(args.clients)]
    clients = [make_client(b) for b in found]
    settings = MailSettings(
        sender=Mailbox("veille@conseil.example", "Veille"),
        advisor=Advisor("jean@conseil.example", "Jean Conseil", "+41 21 555 00 00"),
        smtp=None,
    )
    with tempfile.TemporaryDirectory() as folder:
        db = Path(folder) / "bench.duckdb"
        store_all(db, found)

        started = time.perf_counter()
        pages = [render(b, "html") for b in found]
        render_s = time.perf_counter() - started

        started = time.perf_counter()
        with open_writer(db) as writer:
            box = writer.outbox()
            plan = policy.plan_summaries(box, clients, settings, NOW)
            queued = policy.queue(box, plan, NOW)
        queue_s = time.perf_counter() - started

        sink = Sink()
        port = free_port()
        controller = Controller(sink, hostname="127.0.0.1", port=port)
        controller.start()
        try:
            smtp = Smtp(host="127.0.0.1", port=port, security="none", timeout_s=10)
            transport = SmtpTransport(smtp, local_hostname="bench.local")
            started = time.perf_counter()
            with open_writer(db) as writer:
                report = policy.deliver(writer.outbox(), transport, lambda: NOW)
            deliver_s = time.perf_counter() - started

            started = time.perf_counter()
            with smtplib.SMTP("127.0.0.1", port, local_hostname="bench.local", timeout=10) as raw:
                for message in plan.new:
                    raw.sendmail(message.sender, list(message.recipients), message.message)
                    raw.rset()
            raw_s = time.perf_counter() - started
        finally:
            controller.stop()

    sent = report.count("sent")
    rate = sent / deliver_s
    figures = {
        "clients": args.clients,
        "stories": sum(len(b.entries) for b in found),
        "queued": len(queued),
        "mean_message_kib": round(sum(len(m.message) for m in plan.new) / len(plan.new) / 1024, 1),
        "queue_s": round(queue_s, 3),
        "baseline_render_html_s": round(render_s, 3),
        "queue_ratio_to_render": round(queue_s / render_s, 1),
        "queue_target_s": QUEUE_TARGET_S,
        "queue_within_target": queue_s <= QUEUE_TARGET_S,
        "sent": sent,
        "smtp_connections": transport.connections,
        "deliver_s": round(deliver_s, 3),
        "messages_per_s": round(rate, 1),
        "baseline_raw_smtplib_per_s": round(len(plan.new) / raw_s, 1),
        "deliver_ratio_to_raw": round(deliver_s / raw_s, 1),
        "rate_target": RATE_TARGET,
        "rate_within_target": rate >= RATE_TARGET,
        "received": sink.count,
        "rendered_pages": len(pages),
    }
    print(json.dumps(figures, indent=2))


if __name__ == "__main__":
    main()
