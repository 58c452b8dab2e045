"""The summary email's content: every template in every language, the subject, the cap, the
traffic light, hostile feed text, and remote stylesheets that are never fetched."""

from __future__ import annotations

import http.server
import threading
from pathlib import Path

import jinja2
import pytest
from bs4 import BeautifulSoup

from techwatch.clients.config import load_clients
from techwatch.mail import compose as mail_compose
from techwatch.mail.compose import compose
from techwatch.mail.message import recipients
from techwatch.render import i18n, mail_words
from techwatch.render.env import environment
from tests.mail.factories import ADVISOR, HOSTILE, INJECTION, briefing, client, entry

DEMO_CLIENTS = Path(mail_compose.__file__).resolve().parents[1] / "demo" / "clients"
EVERY_PRIORITY = tuple(entry(p, i) for i, p in enumerate(("act_now", "act_soon", "plan", "watch")))


def soup(html: str) -> BeautifulSoup:
    return BeautifulSoup(html, "html.parser")


@pytest.mark.parametrize("language", i18n.LANGUAGES)
@pytest.mark.parametrize("entries", [EVERY_PRIORITY, ()], ids=["stories", "nothing"])
def test_every_template_renders_in_every_language(language, entries):
    mail = compose(
        briefing(entries, language=language), client(language=language, minimum="watch"), ADVISOR
    )
    words = mail_words.MAIL_WORDS[language]
    page = soup(mail.html)
    assert page.html["lang"] == language
    assert page.find_all(["script", "style", "link", "img", "iframe", "form"]) == []
    assert page.find_all("table", attrs={"role": "presentation"})  # table layout
    assert words["greeting"] in mail.text and words["greeting"] in page.get_text()
    for part in (mail.text, page.get_text()):
        assert "Jean Conseil" in part and "jean@conseil.example" in part and "+41 21" in part
    if entries:
        assert len(page.select("p.title")) == 4
        for word in ("what", "means", "we_do", "you_do"):
            assert page.get_text().count(words[word]) == 4
            assert mail.text.count(words[word]) == 4
        assert mail.attachment is not None
    else:
        nothing = i18n.word(language, "nothing", checked=56)
        assert nothing in page.get_text() and nothing in " ".join(mail.text.split())
        assert mail.attachment is None


@pytest.mark.parametrize("language", i18n.LANGUAGES)
def test_the_traffic_light_is_a_colour_and_its_name(language):
    b = briefing(EVERY_PRIORITY, language=language)
    mail = compose(b, client(language=language, minimum="watch"), ADVISOR)
    lights = soup(mail.html).select("p.light")
    bars = soup(mail.html).select("td.bar")
    colours = [bar["style"] for bar in bars]
    assert len(set(colours)) == 4 and all("background" in c for c in colours)
    for light, story in zip(lights, EVERY_PRIORITY, strict=True):
        name = mail_words.LIGHTS[language][story.priority]
        assert name in light.get_text()
        assert i18n.label("priority", story.priority, language) in light.get_text()
        assert f"[{name.upper()} – " in mail.text


@pytest.mark.parametrize(
    ("language", "entries", "minimum", "period", "expected"),
    [
        ("fr", (entry(), entry(n=1)), "act_soon", "2026-W48",
         "[Veille] 2 actions immédiates - semaine 48"),
        ("de", (entry(), entry(n=1)), "act_soon", "2026-W48",
         "[Monitoring] 2 Sofortmassnahmen - Woche 48"),
        ("en", (entry(), entry(n=1)), "act_soon", "2026-W48",
         "[Watch] 2 immediate actions - week 48"),
        ("fr", (), "act_soon", "2026-W48", "[Veille] Rien à signaler - semaine 48"),
        ("de", (), "act_soon", "2026-W48", "[Monitoring] Nichts zu melden - Woche 48"),
        ("en", (), "act_soon", "2026-W48", "[Watch] Nothing to report - week 48"),
        ("fr", (entry("act_soon"), entry("plan")), "act_soon", "2026-W48",
         "[Veille] 1 action à prévoir rapidement - semaine 48"),
        ("fr", (entry("plan"), entry("watch")), "act_soon", "2026-W48",
         "[Veille] Rien à signaler - semaine 48"),
        ("fr", (entry("plan"), entry("watch")), "plan", "2026-11",
         "[Veille] 1 sujet à planifier - novembre 2026"),
        ("en", (entry("act_soon"), entry("plan")), "act_soon", "2026-W48",
         "[Watch] 1 action to take soon - week 48"),
        ("de", (entry("act_soon"), entry("act_soon", 1)), "act_soon", "2026-W48",
         "[Monitoring] 2 zeitnahe Massnahmen - Woche 48"),
        ("en", (entry("watch"),), "watch", "2026-11-28",
         "[Watch] 1 item to watch - 28 November 2026"),
        ("fr", tuple(entry(n=i) for i in range(7)), "act_soon", "2026-W48",
         "[Veille] 7 actions immédiates - semaine 48"),
    ],
)  # fmt: skip
def test_subject_names_the_highest_priority_and_the_period(
    language, entries, minimum, period, expected
):
    b = briefing(entries, language=language, period=period)
    assert compose(b, client(language=language, minimum=minimum), ADVISOR).subject == expected


def test_at_most_five_stories_at_or_above_the_threshold_the_rest_counted_and_attached():
    entries = (*(entry("act_now", i) for i in range(6)), entry("plan", 9), entry("watch", 10))
    mail = compose(briefing(entries), client(minimum="act_soon"), ADVISOR)
    assert mail.shown == tuple(f"s-act_now-{i}" for i in range(5))
    assert mail.more == 3
    assert mail_words.mail_word("fr", "more", n=3) in mail.text
    assert len(soup(mail.html).select("p.title")) == 5
    assert mail.attachment is not None
    assert mail.attachment.filename == "veille-2026-W48.html"
    assert len(soup(mail.attachment.html).find_all("article")) == 8  # the full briefing


def test_stories_below_the_threshold_still_give_a_nothing_to_report_email_with_the_briefing():
    mail = compose(briefing((entry("plan"), entry("watch", 1))), client(), ADVISOR)
    assert mail.shown == () and mail.more == 2
    assert i18n.word("fr", "nothing", checked=56) in soup(mail.html).get_text()
    assert mail.attachment is not None


def test_hostile_feed_text_is_inert_and_stays_on_one_line():
    hostile = entry(
        title=f"{INJECTION} {HOSTILE}", summary=HOSTILE, why=(HOSTILE,), actions=(INJECTION,)
    )
    mail = compose(briefing((hostile,)), client(), ADVISOR)
    page = soup(mail.html)
    assert page.find_all(["script", "img", "iframe", "svg", "form"]) == []
    assert not any(tag.has_attr("onerror") for tag in page.find_all(True))
    assert "<script>alert(1)</script>" in page.select_one("p.title").get_text()
    title_line = next(line for line in mail.text.splitlines() if "Urgent" in line)
    assert "Bcc: victim@evil.example X-Injected: yes" in title_line
    assert not any(line.startswith(("Bcc:", "X-Injected")) for line in mail.text.splitlines())


def test_very_long_text_wraps_in_the_text_part_and_breaks_in_html():
    long_entry = entry(title="A" * 3000, summary=("word " * 2000) + "x" * 5000)
    mail = compose(briefing((long_entry,)), client(), ADVISOR)
    assert max(len(line) for line in mail.text.splitlines()) <= mail_compose.TEXT_WIDTH
    title = soup(mail.html).select_one("p.title")
    assert title.get_text() == "A" * 3000
    assert "overflow-wrap: anywhere" in title["style"]


def test_what_happened_is_a_few_lines_the_full_text_stays_in_the_attachment():
    first = "Fortinet fixed a flaw in FortiOS SSL-VPN that lets an attacker run code remotely."
    rest = " Attackers already use it against small offices and the fix needs a reboot." * 20
    mail = compose(briefing((entry(summary=first + rest),)), client(), ADVISOR)
    what = soup(mail.html).get_text(" ")
    assert first in what
    assert rest.strip() not in what  # cut at a sentence, not the whole text
    assert len(mail_compose.shorten(first + rest, mail_compose.WHAT_CHARS)) <= 241
    assert rest.strip()[:200] in mail.attachment.html  # the briefing keeps the long summary


def test_a_missing_template_variable_fails_at_render_time():
    b, c = briefing((entry(),)), client()
    context = mail_compose._context(b, c, ADVISOR, list(b.entries), "fr")
    context["subject"] = "s"
    del context["checked"]
    for name in ("mail.txt.j2", "mail.html.j2"):
        with pytest.raises(jinja2.UndefinedError):
            environment().get_template(name).render(**context)


def test_remote_stylesheets_are_never_fetched():
    hits: list[str] = []

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            hits.append(self.path)
            self.send_response(200)
            self.send_header("Content-Type", "text/css")
            self.end_headers()
            self.wfile.write(b"p { color: red; }")

        def log_message(self, *args: object) -> None:
            return None

    server = http.server.HTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        url = f"http://127.0.0.1:{server.server_port}/remote.css"
        html = (
            f'<html><head><link rel="stylesheet" href="{url}"></head><body><p>x</p></body></html>'
        )
        inlined = mail_compose._INLINER.inline(html)
    finally:
        server.shutdown()
        server.server_close()
    assert hits == []
    assert "color: red" not in inlined


def test_every_demo_client_gets_an_email_in_its_language_for_its_contacts():
    demo = load_clients(DEMO_CLIENTS)
    assert len(demo) >= 5
    for c in demo:
        mail = compose(briefing(EVERY_PRIORITY, language=c.language), c, ADVISOR)
        assert mail.subject.startswith(mail_words.MAIL_WORDS[c.language]["tag"])
        assert soup(mail.html).html["lang"] == c.language
        assert all(m.address in {x.email for x in c.contacts if x.receives_summary}
                   for m in recipients(c))  # fmt: skip
        assert recipients(c)
