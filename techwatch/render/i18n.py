"""Words of the client-facing documents in fr, de and en (French when unknown).

Labels of the taxonomy come from `techwatch.taxonomy`; item titles are never translated.
"""

from __future__ import annotations

from datetime import date, datetime

from techwatch.briefing.period import ZONE, Period
from techwatch.taxonomy import PRIORITIES, SEVERITIES, TOPICS, Label

LANGUAGES = ("fr", "de", "en")

WORDS: dict[str, dict[str, str]] = {
    "fr": {
        "briefing": "Veille technologique",
        "for": "pour",
        "period": "Période",
        "generated": "Établie le",
        "watched": "{n} articles et avis analysés",
        "health": "Sources : {checked} vérifiées, {failing} en échec",
        "nothing": "Rien ne requiert votre attention pour cette période ; "
        "{checked} sources ont été vérifiées.",
        "what": "Ce qui s'est passé",
        "why": "Pourquoi cela vous concerne",
        "todo": "Que faire",
        "sources": "Sources",
        "unconfirmed": "Correspondance à confirmer : le produit est nommé, mais la version "
        "ou la référence exacte n'a pas pu être vérifiée.",
        "renewed": "Signalé à nouveau : nouvel élément depuis le dernier envoi.",
        "omitted": "{n} autres sujets de moindre priorité sont disponibles auprès de votre "
        "conseiller.",
        "severity": "Gravité",
        "topics": "Thèmes",
        "week": "semaine {n}",
        "advisor": "Votre conseiller",
        "stories": "{n} sujet(s)",
        "colon": "\u00a0:",
    },
    "de": {
        "briefing": "Technologie-Monitoring",
        "for": "für",
        "period": "Zeitraum",
        "generated": "Erstellt am",
        "watched": "{n} Artikel und Meldungen ausgewertet",
        "health": "Quellen: {checked} geprüft, {failing} mit Fehlern",
        "nothing": "In diesem Zeitraum erfordert nichts Ihre Aufmerksamkeit; "
        "{checked} Quellen wurden geprüft.",
        "what": "Was ist passiert",
        "why": "Warum es Sie betrifft",
        "todo": "Was zu tun ist",
        "sources": "Quellen",
        "unconfirmed": "Zu bestätigen: Das Produkt wird genannt, aber Version oder genaue "
        "Referenz konnten nicht geprüft werden.",
        "renewed": "Erneut gemeldet: neue Erkenntnisse seit der letzten Meldung.",
        "omitted": "{n} weitere Themen mit geringerer Priorität erhalten Sie bei Ihrer "
        "Beraterin oder Ihrem Berater.",
        "severity": "Schweregrad",
        "topics": "Themen",
        "week": "Woche {n}",
        "advisor": "Ihre Beratung",
        "stories": "{n} Thema/Themen",
        "colon": ":",
    },
    "en": {
        "briefing": "Technology watch",
        "for": "for",
        "period": "Period",
        "generated": "Prepared on",
        "watched": "{n} articles and advisories reviewed",
        "health": "Sources: {checked} checked, {failing} failing",
        "nothing": "Nothing requires your attention for this period; "
        "{checked} sources were checked.",
        "what": "What happened",
        "why": "Why it concerns you",
        "todo": "What to do",
        "sources": "Sources",
        "unconfirmed": "To be confirmed: the product is named, but its version or exact "
        "reference could not be checked.",
        "renewed": "Reported again: new evidence since the last report.",
        "omitted": "{n} more topics of lower priority are available from your advisor.",
        "severity": "Severity",
        "topics": "Topics",
        "week": "week {n}",
        "advisor": "Your advisor",
        "stories": "{n} topic(s)",
        "colon": ":",
    },
}
MONTHS: dict[str, tuple[str, ...]] = {
    "fr": ("janvier", "février", "mars", "avril", "mai", "juin", "juillet", "août",
           "septembre", "octobre", "novembre", "décembre"),
    "de": ("Januar", "Februar", "März", "April", "Mai", "Juni", "Juli", "August",
           "September", "Oktober", "November", "Dezember"),
    "en": ("January", "February", "March", "April", "May", "June", "July", "August",
           "September", "October", "November", "December"),
}  # fmt: skip


def lang_of(language: str | None) -> str:
    return language if language in LANGUAGES else "fr"


def word(language: str, key: str, **values: object) -> str:
    """One interface phrase; a missing key or placeholder is a bug and raises."""
    return WORDS[lang_of(language)][key].format(**values)


def label(kind: str, key: str, language: str) -> str:
    """Display name of a taxonomy label (`topic`, `severity`, `priority`)."""
    table: tuple[Label, ...] = {"topic": TOPICS, "severity": SEVERITIES, "priority": PRIORITIES}[
        kind
    ]
    for entry in table:
        if entry.key == key:
            return entry.name(lang_of(language))
    return key


def day_text(d: date, language: str) -> str:
    lang = lang_of(language)
    if lang == "en":
        return f"{d.day} {MONTHS['en'][d.month - 1]} {d.year}"
    if lang == "de":
        return f"{d.day}. {MONTHS['de'][d.month - 1]} {d.year}"
    return f"{d.day} {MONTHS['fr'][d.month - 1]} {d.year}"


def moment_text(moment: datetime, language: str) -> str:
    local = moment.astimezone(ZONE)
    return f"{day_text(local.date(), language)}, {local:%H:%M}"


def period_text(period: Period, language: str) -> str:
    """ "semaine 48 (23 novembre 2026 - 29 novembre 2026)", "novembre 2026", a day, a span."""
    lang = lang_of(language)
    first, last = day_text(period.first_day, lang), day_text(period.last_day, lang)
    if period.kind == "day":
        return first
    if period.kind == "month":
        return f"{MONTHS[lang][period.first_day.month - 1]} {period.first_day.year}"
    if period.kind == "week":
        return f"{word(lang, 'week', n=period.week)} ({first} – {last})"
    return f"{first} – {last}"
