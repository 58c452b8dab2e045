"""What the client should do about a story, in the client's language.

Most specific first: the action CISA requires for a KEV entry (quoted as published, with its
due date), then the fixed version an advisory names for the client's product, then one
recommendation per topic. Advice is written for a small organisation without an IT department:
concrete, short, and never a vendor's sales pitch.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

TOPIC_ADVICE: dict[str, dict[str, str]] = {
    "exploited": {
        "fr": "Traiter en priorité : cette faille est déjà utilisée par des attaquants. "
        "Appliquer le correctif ou la mesure de contournement sans attendre.",
        "de": "Vorrangig behandeln: Diese Lücke wird bereits von Angreifern ausgenutzt. "
        "Update oder Workaround ohne Verzögerung einspielen.",
        "en": "Treat first: attackers already use this flaw. Apply the update or the "
        "workaround without waiting.",
    },
    "vulnerability": {
        "fr": "Installer la mise à jour de sécurité du fabricant et vérifier que les mises à "
        "jour automatiques sont actives.",
        "de": "Das Sicherheitsupdate des Herstellers installieren und prüfen, dass "
        "automatische Updates aktiv sind.",
        "en": "Install the vendor's security update and check that automatic updates are on.",
    },
    "ransomware": {
        "fr": "Vérifier qu'une sauvegarde récente existe hors ligne et qu'elle a été testée ; "
        "rappeler aux collaborateurs de signaler tout message suspect.",
        "de": "Prüfen, dass eine aktuelle Offline-Sicherung existiert und getestet wurde; "
        "Mitarbeitende erinnern, verdächtige Nachrichten zu melden.",
        "en": "Check that a recent offline backup exists and has been tested; remind staff "
        "to report any suspicious message.",
    },
    "breach": {
        "fr": "Changer le mot de passe du service concerné, activer la double authentification "
        "et vérifier quelles données vous y avez confiées.",
        "de": "Das Passwort des betroffenen Dienstes ändern, die Zwei-Faktor-"
        "Authentifizierung aktivieren und prüfen, welche Daten Sie dort gespeichert haben.",
        "en": "Change the password of the service concerned, turn on two-factor "
        "authentication and check which data you entrusted to it.",
    },
    "phishing_fraud": {
        "fr": "Prévenir les collaborateurs ; confirmer par téléphone, à un numéro connu, "
        "toute demande inhabituelle de paiement ou de changement de coordonnées bancaires.",
        "de": "Mitarbeitende warnen; ungewöhnliche Zahlungs- oder Kontoänderungsanfragen "
        "telefonisch über eine bekannte Nummer bestätigen.",
        "en": "Warn staff; confirm any unusual payment or bank-detail change by phone, on a "
        "number you already know.",
    },
    "outage": {
        "fr": "Vérifier si votre activité est touchée et comment travailler sans ce service "
        "en attendant son rétablissement.",
        "de": "Prüfen, ob Ihr Betrieb betroffen ist und wie Sie ohne diesen Dienst "
        "weiterarbeiten, bis er wieder verfügbar ist.",
        "en": "Check whether your work is affected and how to carry on without the service "
        "until it is back.",
    },
    "end_of_life": {
        "fr": "Planifier le remplacement ou la migration avant la fin du support : après "
        "cette date, plus aucune faille ne sera corrigée.",
        "de": "Ersatz oder Migration vor dem Supportende einplanen: danach werden keine "
        "Sicherheitslücken mehr behoben.",
        "en": "Plan the replacement or migration before support ends: after that date no "
        "flaw will be fixed any more.",
    },
    "pricing_licensing": {
        "fr": "Vérifier l'effet sur votre contrat et votre budget avant le prochain "
        "renouvellement ; nous pouvons comparer les alternatives avec vous.",
        "de": "Die Auswirkung auf Vertrag und Budget vor der nächsten Verlängerung prüfen; "
        "wir vergleichen gerne Alternativen mit Ihnen.",
        "en": "Check the effect on your contract and budget before the next renewal; we can "
        "compare alternatives with you.",
    },
    "regulation": {
        "fr": "Vérifier avec nous si vos pratiques restent conformes ; aucune mesure "
        "technique immédiate n'est nécessaire.",
        "de": "Mit uns prüfen, ob Ihre Praxis weiterhin konform ist; sofortige technische "
        "Massnahmen sind nicht nötig.",
        "en": "Check with us whether your practices remain compliant; no immediate technical "
        "step is needed.",
    },
}
GENERIC: dict[str, str] = {
    "fr": "Aucune action immédiate : à garder en tête lors de la prochaine revue.",
    "de": "Keine sofortige Massnahme: bei der nächsten Überprüfung berücksichtigen.",
    "en": "No immediate action: keep in mind for the next review.",
}
KEV: dict[str, str] = {
    "fr": "Mesure exigée par la CISA pour {cve} (à appliquer avant le {due}) : « {action} »",
    "de": "Von der CISA verlangte Massnahme für {cve} (umzusetzen bis {due}): «{action}»",
    "en": 'Action CISA requires for {cve} (due {due}): "{action}"',
}
KEV_NO_DUE: dict[str, str] = {
    "fr": "Mesure exigée par la CISA pour {cve} : « {action} »",
    "de": "Von der CISA verlangte Massnahme für {cve}: «{action}»",
    "en": 'Action CISA requires for {cve}: "{action}"',
}
FIX: dict[str, str] = {
    "fr": "Mettre à jour {product} vers la version {version} ou plus récente.",
    "de": "{product} auf Version {version} oder neuer aktualisieren.",
    "en": "Update {product} to version {version} or later.",
}
# Topics in the order their advice is given: the most urgent kind of step first.
ORDER = tuple(TOPIC_ADVICE)


@dataclass(frozen=True, slots=True)
class KevAction:
    cve: str
    action: str
    due: date | None = None


@dataclass(frozen=True, slots=True)
class Fix:
    product: str
    version: str


def actions(
    topics: tuple[str, ...],
    language: str,
    kev: tuple[KevAction, ...] = (),
    fixes: tuple[Fix, ...] = (),
    limit: int = 3,
) -> tuple[str, ...]:
    """At most `limit` steps, most specific first; always at least one."""
    lang = language if language in GENERIC else "fr"
    steps = [_kev_step(k, lang) for k in kev]
    steps += [FIX[lang].format(product=f.product, version=f.version) for f in fixes]
    steps += [TOPIC_ADVICE[t][lang] for t in ORDER if t in topics]
    if not steps:
        steps.append(GENERIC[lang])
    return tuple(dict.fromkeys(steps))[:limit]


def _kev_step(kev: KevAction, lang: str) -> str:
    action = " ".join(kev.action.split())
    if kev.due is None:
        return KEV_NO_DUE[lang].format(cve=kev.cve, action=action)
    return KEV[lang].format(cve=kev.cve, action=action, due=_date(kev.due, lang))


def _date(d: date, lang: str) -> str:
    return d.isoformat() if lang == "en" else d.strftime("%d.%m.%Y")
