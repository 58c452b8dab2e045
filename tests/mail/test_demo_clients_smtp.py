"""Every template, in every language, for every demo client, through a real SMTP server on
127.0.0.1: what arrives is multipart, in the right language, to the right people."""

from __future__ import annotations

import dataclasses
from importlib import resources
from pathlib import Path

from bs4 import BeautifulSoup

from techwatch.clients.config import load_clients
from techwatch.mail import send
from techwatch.render import i18n, mail_words
from techwatch.storage import open_reader
from tests.mail.factories import NOW, SETTINGS, briefing, entry, store_briefings

DEMO_CLIENTS = Path(str(resources.files("techwatch.demo") / "clients"))
STORIES = tuple(entry(p, i) for i, p in enumerate(("act_now", "act_soon", "plan", "watch")))


def test_every_demo_client_in_every_language_arrives_well_formed(db, smtp_server):
    server = smtp_server()
    clients, found = [], []
    for demo in load_clients(DEMO_CLIENTS):
        for language in i18n.LANGUAGES:
            for kind, entries in (("stories", STORIES), ("quiet", ())):
                who = dataclasses.replace(
                    demo, id=f"{demo.id}-{language}-{kind}", language=language
                )
                clients.append(who)
                found.append((briefing(entries, client_id=who.id, language=language), who.id))
    store_briefings(db, found)

    settings = dataclasses.replace(SETTINGS, smtp=server.settings())
    result = send.send(db, clients, settings, db.parent / "outbox", lambda: NOW, wait_s=30)

    assert result.report.count("sent") == len(clients) == len(server.bag.messages)
    with open_reader(db) as reader:
        ids = {r["client_id"]: r["message_id"] for r in reader.outbox().listing()}
    arrived = {
        m["Message-ID"]: (sorted(e.rcpt_tos), m)
        for e, m in zip(server.bag.received, server.bag.messages, strict=True)
    }
    for who in clients:
        rcpt, message = arrived[ids[who.id]]
        assert rcpt == sorted(c.email for c in who.contacts if c.receives_summary)
        assert message["Subject"].startswith(mail_words.MAIL_WORDS[who.language]["tag"])
        assert message["Date"] and message["From"]
        kinds = [p.get_content_type() for p in message.walk()]
        after = kinds[kinds.index("multipart/alternative") + 1 :]
        assert after[:2] == ["text/plain", "text/html"]
        html = BeautifulSoup(_html(message), "html.parser")
        assert html.html["lang"] == who.language
        assert html.find_all(["script", "iframe", "form"]) == []
        assert all(not img.get("src", "").startswith("http") for img in html.find_all("img"))


def _html(message) -> str:  # type: ignore[no-untyped-def]
    return message.get_body(("html",)).get_content()
