"""The label set of ../shared/TAXONOMY.md (v1): exact label strings and their fr/de/en names.

Models, database, JSON output and evaluation files use the label strings; briefings show the
display names. Order matters where it carries meaning (severity, priority: lowest first).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

LANGUAGES: Final = ("fr", "de", "en")


@dataclass(frozen=True, slots=True)
class Label:
    """One label with its display name in each client language."""

    key: str
    fr: str
    de: str
    en: str

    def name(self, language: str) -> str:
        """Display name in `language`; French (the default client language) otherwise."""
        return {"fr": self.fr, "de": self.de, "en": self.en}.get(language, self.fr)


TOPICS: Final = (
    Label("vulnerability", "Vulnérabilité", "Schwachstelle", "Vulnerability"),
    Label("exploited", "Exploitée activement", "Aktiv ausgenutzt", "Actively exploited"),
    Label("breach", "Fuite de données", "Datenleck", "Data breach"),
    Label("ransomware", "Rançongiciel", "Ransomware", "Ransomware"),
    Label("phishing_fraud", "Hameçonnage et fraude", "Phishing und Betrug", "Phishing and fraud"),
    Label("outage", "Panne", "Störung", "Outage"),
    Label("end_of_life", "Fin de vie", "Ende des Supports", "End of life"),
    Label("pricing_licensing", "Prix et licences", "Preise und Lizenzen", "Pricing and licensing"),
    Label("regulation", "Réglementation", "Regulierung", "Regulation"),
    Label("product_update", "Mise à jour de produit", "Produktneuheit", "Product update"),
    Label("ai", "Intelligence artificielle", "Künstliche Intelligenz", "Artificial intelligence"),
    Label("open_source", "Logiciel libre et souveraineté", "Open Source und Souveränität",
          "Open source and sovereignty"),
    Label("off_topic", "Hors sujet", "Nicht relevant", "Off topic"),
)  # fmt: skip

SECTORS: Final = (
    Label("all", "Toutes les organisations", "Alle Organisationen", "All organisations"),
    Label("health", "Santé", "Gesundheit", "Health"),
    Label("finance", "Finance et fiduciaires", "Finanzen und Treuhand", "Finance"),
    Label("legal", "Juridique", "Recht", "Legal"),
    Label("public_admin", "Administration publique", "Öffentliche Verwaltung",
          "Public administration"),
    Label("education", "Formation", "Bildung", "Education"),
    Label("nonprofit", "Associations", "Vereine und Stiftungen", "Non-profit"),
    Label("retail_hospitality", "Commerce et hôtellerie", "Handel und Gastgewerbe",
          "Retail and hospitality"),
    Label("industry", "Industrie et artisanat", "Industrie und Gewerbe", "Industry and crafts"),
    Label("media_creative", "Médias et création", "Medien und Kreativwirtschaft",
          "Media and creative"),
    Label("it_services", "Services informatiques", "IT-Dienstleister", "IT services"),
)  # fmt: skip

SEVERITIES: Final = (
    Label("info", "Information", "Information", "Info"),
    Label("low", "Faible", "Niedrig", "Low"),
    Label("medium", "Moyenne", "Mittel", "Medium"),
    Label("high", "Élevée", "Hoch", "High"),
    Label("critical", "Critique", "Kritisch", "Critical"),
)

PRIORITIES: Final = (
    Label("watch", "Surveiller", "Beobachten", "Watch"),
    Label("plan", "Planifier", "Einplanen", "Plan"),
    Label("act_soon", "Agir rapidement", "Zeitnah handeln", "Act soon"),
    Label("act_now", "Agir immédiatement", "Sofort handeln", "Act now"),
)

TOPIC_KEYS: Final = tuple(label.key for label in TOPICS)
SECTOR_KEYS: Final = tuple(label.key for label in SECTORS)
SEVERITY_KEYS: Final = tuple(label.key for label in SEVERITIES)
PRIORITY_KEYS: Final = tuple(label.key for label in PRIORITIES)
EXCLUSIVE_TOPIC: Final = "off_topic"


def label_problems(topics: list[str], sectors: list[str], severity: str | None) -> list[str]:
    """What breaks the taxonomy's rules in one labelling; empty when it is valid.

    Rules: at least one known topic; `off_topic` alone and without sectors; known sectors, at
    least one unless off_topic; a known severity when given.
    """
    problems = [f"unknown topic {t!r}" for t in topics if t not in TOPIC_KEYS]
    problems += [f"unknown sector {s!r}" for s in sectors if s not in SECTOR_KEYS]
    if not topics:
        problems.append("no topic")
    if EXCLUSIVE_TOPIC in topics and len(topics) > 1:
        problems.append("off_topic cannot be combined with another topic")
    if EXCLUSIVE_TOPIC not in topics and topics and not sectors:
        problems.append("sectors may be empty only for off_topic")
    if EXCLUSIVE_TOPIC in topics and sectors:
        problems.append("off_topic concerns no sector")
    if severity is not None and severity not in SEVERITY_KEYS:
        problems.append(f"unknown severity {severity!r}")
    return problems
