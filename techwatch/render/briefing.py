"""A Briefing as Markdown, self-contained HTML, or JSON: the same content in each format."""

from __future__ import annotations

import json
from dataclasses import asdict
from datetime import date, datetime, timedelta
from typing import Any

from techwatch.briefing.model import Briefing, Entry, Health, Link
from techwatch.briefing.period import ZONE, Period, parse_period, span
from techwatch.clients.profile import PRIORITIES
from techwatch.render import i18n
from techwatch.render.env import environment

FORMATS = ("md", "html", "json")


def render(briefing: Briefing, fmt: str) -> str:
    if fmt == "json":
        return json.dumps(to_json(briefing), ensure_ascii=False, indent=2) + "\n"
    if fmt not in FORMATS:
        raise ValueError(f"unknown format {fmt!r}; expected one of {', '.join(FORMATS)}")
    template = environment().get_template(f"briefing.{fmt}.j2")
    return template.render(**context(briefing))


def context(briefing: Briefing) -> dict[str, Any]:
    """What the templates see: words already in the client's language, stories by priority."""
    lang = i18n.lang_of(briefing.language)
    groups = [
        {
            "key": p,
            "name": i18n.label("priority", p, lang),
            "entries": [_entry(e, lang) for e in briefing.entries if e.priority == p],
        }
        for p in PRIORITIES
    ]
    return {
        "lang": lang,
        "b": briefing,
        "w": i18n.WORDS[lang],
        "title": f"{i18n.word(lang, 'briefing')} – {briefing.client_name}",
        "period": i18n.period_text(briefing.period, lang),
        "generated": i18n.moment_text(briefing.generated_at, lang),
        "watched": i18n.word(lang, "watched", n=briefing.items_watched),
        "health": i18n.word(
            lang, "health", checked=briefing.health.checked, failing=briefing.health.failing
        ),
        "nothing": i18n.word(lang, "nothing", checked=briefing.health.checked),
        "omitted": i18n.word(lang, "omitted", n=briefing.omitted) if briefing.omitted else "",
        "groups": [g for g in groups if g["entries"]],
    }


def to_json(briefing: Briefing) -> dict[str, Any]:
    data = asdict(briefing)
    data["period"] = {
        "label": briefing.period.label,
        "kind": briefing.period.kind,
        "start": briefing.period.start,
        "end": briefing.period.end,
    }
    return _plain(data)


def _entry(entry: Entry, lang: str) -> dict[str, Any]:
    return {
        "e": entry,
        "topics": [i18n.label("topic", t, lang) for t in entry.topics],
        "severity": i18n.label("severity", entry.severity, lang) if entry.severity else "",
        "links": [
            {"l": link, "date": i18n.day_text(link.published.date(), lang)}
            if link.published
            else {"l": link, "date": ""}
            for link in entry.links
        ],
    }


def _plain(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    if isinstance(value, datetime | date):
        return value.isoformat()
    return value


def from_json(data: dict[str, Any]) -> Briefing:
    """The Briefing that `to_json` wrote: stored briefings are shown again exactly."""
    period = data["period"]
    return Briefing(
        client_id=data["client_id"],
        client_name=data["client_name"],
        language=data["language"],
        period=_period(period["label"], period["kind"], period["start"], period["end"]),
        generated_at=datetime.fromisoformat(data["generated_at"]),
        items_watched=data["items_watched"],
        health=Health(**data["health"]),
        entries=tuple(_entry_from_json(e) for e in data["entries"]),
        omitted=data["omitted"],
        model_version=data["model_version"],
        rules_version=data["rules_version"],
        advisor=data["advisor"],
    )


def _period(label: str, kind: str, start: str, end: str) -> Period:
    if kind != "span":
        return parse_period(label)
    first = datetime.fromisoformat(start).astimezone(ZONE).date()
    last = datetime.fromisoformat(end).astimezone(ZONE).date() - timedelta(days=1)
    return span(first, last)


def _entry_from_json(data: dict[str, Any]) -> Entry:
    links = tuple(
        Link(
            source=link["source"],
            title=link["title"],
            url=link["url"],
            published=_moment(link["published"]),
        )
        for link in data["links"]
    )
    return Entry(
        story_id=data["story_id"],
        priority=data["priority"],
        lane=data["lane"],
        title=data["title"],
        summary=data["summary"],
        why=tuple(data["why"]),
        actions=tuple(data["actions"]),
        links=links,
        first_seen=datetime.fromisoformat(data["first_seen"]),
        topics=tuple(data["topics"]),
        severity=data["severity"],
        cves=tuple(data["cves"]),
        renewed=data["renewed"],
        item_ids=tuple(data.get("item_ids", ())),
        marks=tuple(data.get("marks", ())),
    )


def _moment(value: str | None) -> datetime | None:
    return None if value is None else datetime.fromisoformat(value)
