"""Why a story concerns a client and why it got its priority: structured reasons in fr/de/en.

    reason("text_term", term_kind="alias", term="Outlook", field="title", asset="Microsoft 365",
           criticality=4, exposure="exposed")
    render(that, "fr") -> "l'alias « Outlook » apparaît dans le titre → Microsoft 365
                           (criticité 4, exposé à Internet)"

A Reason is plain hashable data (a code and (name, value) pairs), so matching and priority
stay pure, decisions can be stored as JSON with a briefing, and the same decision is shown
again later in any language. Every code's wording lives in CATALOGUE below, in plain words a
small-business client understands; values that are labels (exposure, field, data kinds,
sectors, topics, severities, priorities) are translated, ISO dates are shown as 14.10.2025 in
French and German. `reason()` refuses unknown codes and missing or extra parameters, so a
wording can never be missing at render time.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from string import Formatter
from typing import Final

from techwatch.taxonomy import PRIORITIES, SECTORS, SEVERITIES, TOPICS, Label

Value = str | int | float


@dataclass(frozen=True, slots=True)
class Reason:
    """One reason: a CATALOGUE code and its parameters, in the catalogue's order."""

    code: str
    params: tuple[tuple[str, Value], ...] = ()

    def param(self, name: str) -> Value:
        return dict(self.params)[name]

    def as_dict(self) -> dict[str, object]:
        """JSON-ready form, for briefings that store their decisions."""
        return {"code": self.code, "params": dict(self.params)}


@dataclass(frozen=True, slots=True)
class Wording:
    """The parameters a code takes and its sentence in each language."""

    params: tuple[str, ...]
    fr: str
    de: str
    en: str


_ASSET_FR = "{asset} (criticité {criticality}, {exposure})"
_ASSET_DE = "{asset} (Kritikalität {criticality}, {exposure})"
_ASSET_EN = "{asset} (criticality {criticality}, {exposure})"
_ASSET = ("asset", "criticality", "exposure")

CATALOGUE: Final[Mapping[str, Wording]] = {
    # --- matching: why the item concerns the client --------------------------------------
    "cpe_match": Wording(
        ("vuln", "cpe", *_ASSET),
        "{vuln} : l'identifiant de produit {cpe} correspond à " + _ASSET_FR,
        "{vuln}: die Produktkennung {cpe} entspricht " + _ASSET_DE,
        "{vuln}: product identifier {cpe} matches " + _ASSET_EN,
    ),
    "purl_match": Wording(
        ("vuln", "purl", *_ASSET),
        "{vuln} : le paquet {purl} correspond à " + _ASSET_FR,
        "{vuln}: das Paket {purl} entspricht " + _ASSET_DE,
        "{vuln}: package {purl} matches " + _ASSET_EN,
    ),
    "version_affected": Wording(
        ("vuln", "product", "range", "version", *_ASSET),
        "{vuln} touche {product} {range} → {asset} ({product} {version}, criticité "
        "{criticality}, {exposure})",
        "{vuln} betrifft {product} {range} → {asset} ({product} {version}, Kritikalität "
        "{criticality}, {exposure})",
        "{vuln} affects {product} {range} → {asset} ({product} {version}, criticality "
        "{criticality}, {exposure})",
    ),
    # `product` names the vendor too (types.product_label): "Fortinet FortiOS", "WordPress".
    "product_named": Wording(
        ("vuln", "product", *_ASSET),
        "{vuln} concerne {product} → " + _ASSET_FR,
        "{vuln} betrifft {product} → " + _ASSET_DE,
        "{vuln} concerns {product} → " + _ASSET_EN,
    ),
    "vendor_wide": Wording(
        ("vuln", "vendor", *_ASSET),
        "{vuln} concerne plusieurs produits {vendor} → " + _ASSET_FR,
        "{vuln} betrifft mehrere Produkte von {vendor} → " + _ASSET_DE,
        "{vuln} concerns several {vendor} products → " + _ASSET_EN,
    ),
    "version_missing": Wording(
        ("asset",),
        "version de {asset} non renseignée : à vérifier",
        "Version von {asset} nicht erfasst: bitte prüfen",
        "version of {asset} not recorded: please check",
    ),
    "version_unconfirmed": Wording(
        ("asset", "version", "why"),
        "version {version} de {asset} à vérifier : {why}",
        "Version {version} von {asset} bitte prüfen: {why}",
        "version {version} of {asset} to be checked: {why}",
    ),
    "version_not_affected": Wording(
        ("vuln", "product", "range", "asset", "version"),
        "{vuln} : {asset} en version {version} est hors des versions touchées de {product} "
        "({range})",
        "{vuln}: {asset} in Version {version} liegt ausserhalb der betroffenen Versionen von "
        "{product} ({range})",
        "{vuln}: {asset} at version {version} is outside the affected versions of {product} "
        "({range})",
    ),
    "version_fixed": Wording(
        ("vuln", "product", "fixed", "asset", "version"),
        "{vuln} : {asset} en version {version} a déjà le correctif ({product} {fixed})",
        "{vuln}: {asset} in Version {version} enthält die Korrektur bereits ({product} {fixed})",
        "{vuln}: {asset} at version {version} already has the fix ({product} {fixed})",
    ),
    "text_term": Wording(
        ("term_kind", "term", "field", *_ASSET),
        "{term_kind} « {term} » apparaît {field} → " + _ASSET_FR,
        "{term_kind} „{term}“ erscheint {field} → " + _ASSET_DE,
        "{term_kind} “{term}” appears {field} → " + _ASSET_EN,
    ),
    "provider_named": Wording(
        ("term", "field", "provider", "service"),
        "le fournisseur « {term} » apparaît {field} → {provider} ({service})",
        "der Anbieter „{term}“ erscheint {field} → {provider} ({service})",
        "provider “{term}” appears {field} → {provider} ({service})",
    ),
    "keyword": Wording(
        ("keyword", "field"),
        "le mot-clé surveillé « {keyword} » apparaît {field}",
        "das beobachtete Stichwort „{keyword}“ erscheint {field}",
        "watched keyword “{keyword}” appears {field}",
    ),
    "sector": Wording(
        ("sector",),
        "concerne votre secteur : {sector}",
        "betrifft Ihre Branche: {sector}",
        "concerns your sector: {sector}",
    ),
    "sector_all": Wording(
        ("topic",),
        "concerne toutes les organisations : {topic}",
        "betrifft alle Organisationen: {topic}",
        "concerns every organisation: {topic}",
    ),
    "excluded": Wording(
        ("term", "field"),
        "écarté : le terme exclu « {term} » apparaît {field}",
        "ausgeschlossen: der ausgeschlossene Begriff „{term}“ erscheint {field}",
        "excluded: the excluded term “{term}” appears {field}",
    ),
    # --- priority: why this level --------------------------------------------------------
    "kev": Wording(
        ("vuln", "date"),
        "{vuln} est exploitée activement (catalogue CISA KEV depuis le {date})",
        "{vuln} wird aktiv ausgenutzt (CISA-KEV-Katalog seit {date})",
        "{vuln} is actively exploited (CISA KEV catalog since {date})",
    ),
    "kev_ransomware": Wording(
        ("vuln",),
        "{vuln} est utilisée dans des campagnes de rançongiciel",
        "{vuln} wird in Ransomware-Kampagnen eingesetzt",
        "{vuln} is used in ransomware campaigns",
    ),
    "exploited_topic": Wording(
        (),
        "des attaques exploitant cette faille sont signalées",
        "Angriffe über diese Schwachstelle werden gemeldet",
        "attacks exploiting this flaw are reported",
    ),
    "ssvc_exploitation": Wording(
        ("vuln", "exploitation"),
        "{vuln} : {exploitation} (analyse SSVC de la CISA)",
        "{vuln}: {exploitation} (SSVC-Bewertung der CISA)",
        "{vuln}: {exploitation} (CISA SSVC assessment)",
    ),
    "epss": Wording(
        ("vuln", "epss_score", "epss_percentile"),
        "{vuln} : probabilité d'exploitation dans les 30 jours de {epss_score:.1%}, plus que "
        "{epss_percentile:.0%} des failles (EPSS)",
        "{vuln}: Wahrscheinlichkeit einer Ausnutzung in 30 Tagen {epss_score:.1%}, höher als "
        "bei {epss_percentile:.0%} der Schwachstellen (EPSS)",
        "{vuln}: probability of exploitation within 30 days {epss_score:.1%}, higher than "
        "{epss_percentile:.0%} of flaws (EPSS)",
    ),
    "poc_text": Wording(
        (),
        "un code d'exploitation public est mentionné",
        "ein öffentlicher Exploit-Code wird erwähnt",
        "public exploit code is mentioned",
    ),
    "no_exploitation": Wording(
        (),
        "aucune exploitation connue à ce jour",
        "bisher keine bekannte Ausnutzung",
        "no known exploitation so far",
    ),
    "exposed": Wording(
        ("asset",),
        "{asset} est exposé à Internet",
        "{asset} ist aus dem Internet erreichbar",
        "{asset} is exposed to the internet",
    ),
    "internal": Wording(
        ("asset",),
        "{asset} n'est pas exposé à Internet",
        "{asset} ist nicht aus dem Internet erreichbar",
        "{asset} is not exposed to the internet",
    ),
    "criticality": Wording(
        ("asset", "criticality"),
        "{asset} a une criticité de {criticality} sur 4",
        "{asset} hat die Kritikalität {criticality} von 4",
        "{asset} has criticality {criticality} out of 4",
    ),
    "sensitive_data": Wording(
        ("asset", "data"),
        "{asset} traite {data}",
        "{asset} verarbeitet {data}",
        "{asset} holds {data}",
    ),
    "automatable": Wording(
        ("vuln",),
        "{vuln} : l'attaque peut être automatisée",
        "{vuln}: der Angriff lässt sich automatisieren",
        "{vuln}: the attack can be automated",
    ),
    "total_impact": Wording(
        ("vuln",),
        "{vuln} : un attaquant peut prendre le contrôle complet",
        "{vuln}: ein Angreifer kann die volle Kontrolle übernehmen",
        "{vuln}: an attacker can take full control",
    ),
    "severity": Wording(
        ("severity",),
        "gravité estimée : {severity}",
        "geschätzter Schweregrad: {severity}",
        "estimated severity: {severity}",
    ),
    "cvss": Wording(
        ("vuln", "version", "score"),
        "{vuln} : score CVSS {version} de {score:.1f} sur 10",
        "{vuln}: CVSS-{version}-Wert {score:.1f} von 10",
        "{vuln}: CVSS {version} score {score:.1f} out of 10",
    ),
    "unconfirmed_lowered": Wording(
        ("higher", "lower"),
        "produit non confirmé (version ou identifiant manquant) : priorité abaissée de "
        "« {higher} » à « {lower} »",
        "Produkt nicht bestätigt (Version oder Kennung fehlt): Priorität von „{higher}“ auf "
        "„{lower}“ gesenkt",
        "product not confirmed (version or identifier missing): priority lowered from "
        "“{higher}” to “{lower}”",
    ),
    "eol_date": Wording(
        ("date", "days"),
        "fin de support le {date}, dans {days} jours",
        "Supportende am {date}, in {days} Tagen",
        "end of support on {date}, in {days} days",
    ),
    "eol_passed": Wording(
        ("date", "days"),
        "support terminé depuis le {date} (il y a {days} jours)",
        "Support seit {date} beendet (vor {days} Tagen)",
        "support ended on {date} ({days} days ago)",
    ),
    "eol_no_date": Wording(
        (),
        "fin de support annoncée, sans date trouvée dans le texte",
        "Supportende angekündigt, kein Datum im Text gefunden",
        "end of support announced, no date found in the text",
    ),
    "pricing": Wording(
        ("target",),
        "changement de prix ou de licence touchant {target}",
        "Preis- oder Lizenzänderung bei {target}",
        "price or licence change affecting {target}",
    ),
    "regulation": Wording(
        (),
        "nouvelle règle ou obligation légale à examiner",
        "neue Regel oder gesetzliche Pflicht zu prüfen",
        "new rule or legal obligation to review",
    ),
    "outage": Wording(
        ("target", "criticality"),
        "panne touchant {target} (criticité {criticality})",
        "Störung bei {target} (Kritikalität {criticality})",
        "outage affecting {target} (criticality {criticality})",
    ),
    "provider_breach": Wording(
        ("target", "data"),
        "fuite de données chez {target}, qui traite {data}",
        "Datenleck bei {target}, der {data} verarbeitet",
        "data breach at {target}, which holds {data}",
    ),
    "breach": Wording(
        ("target",),
        "fuite de données chez {target}",
        "Datenleck bei {target}",
        "data breach at {target}",
    ),
    "campaign": Wording(
        ("topic",),
        "campagne en cours : {topic}",
        "laufende Kampagne: {topic}",
        "ongoing campaign: {topic}",
    ),
    "topic_info": Wording(
        ("topic",),
        "à suivre : {topic}",
        "zu beobachten: {topic}",
        "to follow: {topic}",
    ),
}

_LABELS: Final[Mapping[str, tuple[Label, ...]]] = {
    "sector": SECTORS,
    "topic": TOPICS,
    "severity": SEVERITIES,
    "higher": PRIORITIES,
    "lower": PRIORITIES,
}
# Values that are our own labels, worded per language.
VALUES: Final[Mapping[str, Mapping[str, Mapping[str, str]]]] = {
    "exposure": {
        "exposed": {"fr": "exposé à Internet", "de": "aus dem Internet erreichbar",
                    "en": "exposed to the internet"},
        "internal": {"fr": "interne", "de": "intern", "en": "internal"},
    },
    "field": {
        "title": {"fr": "dans le titre", "de": "im Titel", "en": "in the title"},
        "text": {"fr": "dans le texte", "de": "im Text", "en": "in the text"},
        "products": {"fr": "dans les produits touchés", "de": "in den betroffenen Produkten",
                     "en": "in the affected products"},
    },
    "term_kind": {
        "name": {"fr": "le nom", "de": "Name", "en": "name"},
        "alias": {"fr": "l'alias", "de": "Alias", "en": "alias"},
        "product": {"fr": "le produit", "de": "Produkt", "en": "product"},
    },
    "exploitation": {
        "active": {"fr": "exploitation active", "de": "aktive Ausnutzung",
                   "en": "active exploitation"},
        "poc": {"fr": "preuve de concept publique", "de": "öffentlicher Machbarkeitsnachweis",
                "en": "public proof of concept"},
        "none": {"fr": "aucune exploitation connue", "de": "keine bekannte Ausnutzung",
                 "en": "no known exploitation"},
    },
    "why": {
        "unreadable_version": {"fr": "format de version non reconnu",
                               "de": "Versionsformat nicht erkannt",
                               "en": "version format not recognised"},
        "no_ranges": {"fr": "l'avis n'indique pas les versions touchées",
                      "de": "die Meldung nennt keine betroffenen Versionen",
                      "en": "the advisory states no affected versions"},
        "unclear": {"fr": "les versions de l'avis ne permettent pas de trancher",
                    "de": "die Versionen der Meldung lassen keine Entscheidung zu",
                    "en": "the advisory's versions do not settle it"},
        "other_edition": {"fr": "l'avis vise d'autres éditions du produit",
                          "de": "die Meldung betrifft andere Editionen des Produkts",
                          "en": "the advisory names other editions of the product"},
    },
    "data": {
        "personal": {"fr": "des données personnelles", "de": "personenbezogene Daten",
                     "en": "personal data"},
        "health": {"fr": "des données de santé", "de": "Gesundheitsdaten", "en": "health data"},
        "financial": {"fr": "des données financières", "de": "Finanzdaten",
                      "en": "financial data"},
        "legal": {"fr": "des données juridiques", "de": "Rechtsdaten", "en": "legal data"},
        "children": {"fr": "des données d'enfants", "de": "Daten von Kindern",
                     "en": "children's data"},
        "credentials": {"fr": "des accès et mots de passe", "de": "Zugangsdaten",
                        "en": "credentials"},
        "other": {"fr": "d'autres données", "de": "weitere Daten", "en": "other data"},
    },
}  # fmt: skip
DATA_SEPARATOR: Final = ","
_PARAMS: Final = {code: wording.params for code, wording in CATALOGUE.items()}
_PARAM_SETS: Final = {code: frozenset(names) for code, names in _PARAMS.items()}


def placeholders(template: str) -> set[str]:
    """The parameter names a template uses ("{score:.1f}" uses "score")."""
    return {name for _, name, _, _ in Formatter().parse(template) if name}


def reason(code: str, **params: Value) -> Reason:
    """A Reason for a catalogue code; ValueError on an unknown code or wrong parameters."""
    names = _PARAMS.get(code)
    if names is None:
        raise ValueError(f"unknown reason code {code!r}")
    if params.keys() != _PARAM_SETS[code]:
        raise ValueError(f"reason {code!r} takes {names}, got {tuple(params)}")
    return Reason(code, tuple([(name, params[name]) for name in names]))


def render(item: Reason, language: str = "fr") -> str:
    """The reason as a sentence in `language` (fr, de, en; French for anything else)."""
    wording = CATALOGUE[item.code]
    template = {"fr": wording.fr, "de": wording.de, "en": wording.en}.get(language, wording.fr)
    lang = language if language in ("fr", "de", "en") else "fr"
    values = {name: _value(name, value, lang) for name, value in item.params}
    return template.format(**values)


def _value(name: str, value: Value, language: str) -> Value:
    """A parameter as shown: labels translated, dates localised, other values as they are."""
    if not isinstance(value, str):
        return value
    if name in _LABELS:
        label = next((lb for lb in _LABELS[name] if lb.key == value), None)
        return label.name(language) if label else value
    if name == "data":
        words = VALUES["data"]
        kinds = [k for k in value.split(DATA_SEPARATOR) if k]
        return ", ".join(words[k][language] if k in words else k for k in kinds)
    if name in VALUES:
        return VALUES[name].get(value, {}).get(language, value)
    if name == "date" and language in ("fr", "de"):
        try:
            return date.fromisoformat(value).strftime("%d.%m.%Y")
        except ValueError:
            return value
    return value
