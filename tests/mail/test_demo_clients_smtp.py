"""Every template, in every language, for every demo client, through a real SMTP server on
127.0.0.1: what arrives is multipart, in the right language, to the right people, with at most
five stories, each with its traffic light and its four parts in both the text and the HTML,
the advisor's signature, and a "nothing to report" that says how many sources were checked."""

from __future__ import annotations

import dataclasses
from importlib import resources
from pathlib import Path

from bs4 import BeautifulSoup

from techwatch.clients.config import load_clients
from techwatch.mail import send
from techwatch.mail.compose import MAX_STORIES, URGENCY, mailed, subject
from techwatch.render import i18n, mail_words
from techwatch.storage import open_reader
from tests.mail.factories import ADVISOR, NOW, SETTINGS, briefing, entry, store_briefings

DEMO_CLIENTS = Path(str(resources.files("techwatch.demo") / "clients"))
PRIORITIES = ("act_now", "act_soon", "plan", "watch", "act_now", "act_now", "act_now")
STORIES = tuple(entry(p, i) for i, p in enumerate(PRIORITIES))  # more than five on purpose
PARTS = ("what", "means", "we_do", "you_do")


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
        _assert_content(who, message, html)


def _assert_content(who, message, html: BeautifulSoup) -> None:  # type: ignore[no-untyped-def]
    words = mail_words.MAIL_WORDS[who.language]
    text = message.get_body(("plain",)).get_content()
    page = html.get_text(" ")
    for part in (text, page):  # the advisor's signature and contact, in both parts
        assert ADVISOR.name in part and ADVISOR.email in part and ADVISOR.phone in part
    if who.id.endswith("-quiet"):
        nothing = i18n.word(who.language, "nothing", checked=56)
        flat = " ".join(nothing.split())  # the text part is wrapped at 76 columns
        assert flat in " ".join(text.split()) and flat in " ".join(page.split())
        assert message["Subject"] == subject([], briefing().period, who.language)
        assert not any(p.get_filename() for p in message.walk())
        return
    mailable = [p for p in PRIORITIES if mailed(p, who.min_priority_to_mail)]
    shown = min(len(mailable), MAX_STORIES)
    assert message["Subject"] == subject(
        [e for e in STORIES if e.priority in mailable], briefing().period, who.language
    )
    for key in PARTS:  # four plain-language parts per story, no more than five stories
        assert text.count(f"{words[key]}{words['colon']}") == shown
        assert [p.get_text() for p in html.select("p.label")].count(words[key]) == shown
    first = sorted(mailable, key=lambda p: -URGENCY[p])[:MAX_STORIES]
    lights = {mail_words.LIGHTS[who.language][p] for p in first}
    for light in lights:  # a traffic light by colour name in the text, colour and name in HTML
        assert f"[{light.upper()} – " in text
        assert any(light in p.get_text() for p in html.select("p.light"))
    assert len(html.select("td.bar[style*=background]")) == shown
    assert [p.get_filename() for p in message.walk() if p.get_filename()] == [
        f"{ {'fr': 'veille', 'de': 'monitoring', 'en': 'briefing'}[who.language] }-2026-W48.html"
    ]


def _html(message) -> str:  # type: ignore[no-untyped-def]
    return message.get_body(("html",)).get_content()
