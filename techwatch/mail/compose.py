"""A client's risk summary email, composed from a stored briefing: pure, no I/O, no clock.

What the email shows: the stories at or above the client's `min_priority_to_mail`, most urgent
first, at most five, each with a traffic light (colour and its name, never colour alone) and
four short parts: what happened, what it means for you, what we do, what you must do. The
rest is counted and the full briefing is attached as HTML. A briefing with nothing to mail
still gives an email ("nothing to report", N sources checked), so that silence never hides a
broken pipeline.
"""

from __future__ import annotations

import textwrap
from dataclasses import dataclass
from typing import Any

import css_inline

from techwatch.briefing.compose import shorten
from techwatch.briefing.model import Briefing, Entry
from techwatch.briefing.period import Period
from techwatch.clients.profile import PRIORITIES, Client, Priority
from techwatch.mail.settings import Advisor
from techwatch.render import i18n, mail_words
from techwatch.render.briefing import render as render_briefing
from techwatch.render.env import environment

MAX_STORIES = 5
TEXT_WIDTH = 76
#: "What happened" in an email: two or three lines, the full text is in the attached briefing.
WHAT_CHARS = 240
ATTACHMENT_NAMES = {"fr": "veille", "de": "monitoring", "en": "briefing"}
URGENCY: dict[str, int] = {p: len(PRIORITIES) - i for i, p in enumerate(PRIORITIES)}

# Remote stylesheets are never fetched: an email is built offline and must not reach out.
_INLINER = css_inline.CSSInliner(load_remote_stylesheets=False, keep_link_tags=False)


@dataclass(frozen=True, slots=True)
class Attachment:
    filename: str
    html: str


@dataclass(frozen=True, slots=True)
class MailContent:
    """The parts of one message, before headers: subject, text and HTML bodies, attachment."""

    subject: str
    text: str
    html: str
    shown: tuple[str, ...]  # story ids in the email, in order
    more: int  # stories of the briefing left to the attachment
    attachment: Attachment | None


def compose(
    briefing: Briefing, client: Client, advisor: Advisor, *, max_stories: int = MAX_STORIES
) -> MailContent:
    """The summary email of `briefing` for `client`, signed by `advisor`."""
    lang = i18n.lang_of(client.language)
    mailable = [e for e in briefing.entries if mailed(e.priority, client.min_priority_to_mail)]
    shown = sorted(mailable, key=lambda e: -URGENCY[e.priority])[:max_stories]
    context = _context(briefing, client, advisor, shown, lang)
    context["subject"] = subject(mailable, briefing.period, lang)
    env = environment()
    text = _wrap(env.get_template("mail.txt.j2").render(**context))
    html = _INLINER.inline(env.get_template("mail.html.j2").render(**context))
    attachment = None
    if briefing.entries:
        name = f"{ATTACHMENT_NAMES[lang]}-{briefing.period.label}.html"
        attachment = Attachment(name, render_briefing(briefing, "html"))
    return MailContent(
        subject=context["subject"],
        text=text,
        html=html,
        shown=tuple(e.story_id for e in shown),
        more=context["more_count"],
        attachment=attachment,
    )


def mailed(priority: str, minimum: Priority) -> bool:
    """Whether a story of `priority` reaches a client who wants `minimum` and above."""
    return URGENCY[priority] >= URGENCY[minimum]


def subject(mailable: list[Entry], period: Period, language: str) -> str:
    """`[Veille] 2 actions immédiates - semaine 48`: how many stories of the highest priority
    the client should hear about (all of them, even past the five shown), or "nothing"."""
    lang = i18n.lang_of(language)
    words = mail_words.MAIL_WORDS[lang]
    if mailable:
        top = max(mailable, key=lambda e: URGENCY[e.priority]).priority
        what = mail_words.headline(lang, top, sum(1 for e in mailable if e.priority == top))
    else:
        what = words["nothing_subject"]
    return f"{words['tag']} {what} {words['dash']} {period_short(period, lang)}"


def period_short(period: Period, language: str) -> str:
    """`semaine 48`, `novembre 2026`, `28 novembre 2026`, or a span of days."""
    lang = i18n.lang_of(language)
    if period.kind == "week":
        return i18n.word(lang, "week", n=period.week)
    if period.kind == "month":
        return f"{i18n.MONTHS[lang][period.first_day.month - 1]} {period.first_day.year}"
    first = i18n.day_text(period.first_day, lang)
    if period.kind == "day":
        return first
    return f"{first} – {i18n.day_text(period.last_day, lang)}"


def _context(
    briefing: Briefing, client: Client, advisor: Advisor, shown: list[Entry], lang: str
) -> dict[str, Any]:
    more = len(briefing.entries) - len(shown)
    word = mail_words.MAIL_WORDS[lang]
    return {
        "lang": lang,
        "w": word,
        "intro": word["intro"],
        "period": f"{i18n.word(lang, 'period')}{word['colon']} "
        f"{i18n.period_text(briefing.period, lang)}",
        "checked": mail_words.mail_word(
            lang, "checked", checked=briefing.health.checked, watched=briefing.items_watched
        ),
        "nothing": i18n.word(lang, "nothing", checked=briefing.health.checked),
        "stories": [_story(e, lang) for e in shown],
        "more_count": more,
        "more": mail_words.mail_word(lang, "more", n=more) if more else "",
        "attached": word["attached"] if briefing.entries else "",
        "advisor": {
            "title": i18n.word(lang, "advisor"),
            "name": _line(advisor.name),
            "email": _line(advisor.email),
            "phone": _line(advisor.phone),
        },
        "why_mail": mail_words.mail_word(lang, "why_mail", client=_line(client.name)),
    }


def _story(entry: Entry, lang: str) -> dict[str, Any]:
    return {
        "priority": entry.priority,
        "light": mail_words.LIGHTS[lang][entry.priority],
        "priority_name": i18n.label("priority", entry.priority, lang),
        "title": _line(entry.title),
        "what": shorten(entry.summary, WHAT_CHARS),
        "means": [_line(reason) for reason in entry.why],
        "we_do": mail_words.WE_DO[lang][entry.priority],
        "you_do": [_line(action) for action in entry.actions],
        "unconfirmed": entry.lane == "unconfirmed",
        "renewed": entry.renewed,
    }


def _line(text: str | None) -> str:
    """Feed text on one line: a title cannot fake a section of the email with line breaks."""
    return " ".join((text or "").split())


def _wrap(text: str) -> str:
    """Wrap long lines of the text part, keeping each line's indent and list marker."""
    lines: list[str] = []
    for line in text.splitlines():
        if len(line) <= TEXT_WIDTH:
            lines.append(line)
            continue
        body = line.lstrip()
        indent = line[: len(line) - len(body)]
        hanging = indent + ("  " if body[:2] in ("- ", "* ") else "")
        lines += textwrap.wrap(
            body,
            TEXT_WIDTH,
            initial_indent=indent,
            subsequent_indent=hanging,
            break_on_hyphens=False,
        )
    return "\n".join(lines) + "\n"
