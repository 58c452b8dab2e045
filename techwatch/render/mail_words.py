"""Words of the client risk summary email in fr, de and en (French when unknown).

Kept apart from `i18n.WORDS` (the briefing's words) so that the two catalogues can change
independently; period and priority names still come from `i18n` and the taxonomy.
"""

from __future__ import annotations

from techwatch.render.i18n import lang_of

MAIL_WORDS: dict[str, dict[str, str]] = {
    "fr": {
        "tag": "[Veille]",
        "dash": "-",
        "nothing_subject": "Rien à signaler",
        "greeting": "Bonjour,",
        "intro": "Voici votre veille technologique et sécurité.",
        "checked": "{checked} sources vérifiées, {watched} articles et avis analysés.",
        "what": "Ce qui s'est passé",
        "means": "Ce que cela signifie pour vous",
        "we_do": "Ce que nous faisons",
        "you_do": "Ce que vous devez faire",
        "unconfirmed": "À confirmer : le produit est nommé, mais sa version n'a pas pu être "
        "vérifiée.",
        "renewed": "Signalé à nouveau : nouvel élément depuis le dernier envoi.",
        "more": "{n} autre(s) sujet(s) figurent dans la veille complète jointe.",
        "attached": "La veille complète est jointe à ce message (fichier HTML).",
        "questions": "Une question ? Répondez simplement à ce message.",
        "why_mail": "Vous recevez ce message parce que {client} bénéficie d'une veille "
        "technologique. Pour ne plus le recevoir, répondez à ce message.",
        "light": "Priorité",
        "colon": "\u00a0:",
    },
    "de": {
        "tag": "[Monitoring]",
        "dash": "-",
        "nothing_subject": "Nichts zu melden",
        "greeting": "Guten Tag",
        "intro": "Hier ist Ihr Technologie- und Sicherheits-Monitoring.",
        "checked": "{checked} Quellen geprüft, {watched} Artikel und Meldungen ausgewertet.",
        "what": "Was ist passiert",
        "means": "Was es für Sie bedeutet",
        "we_do": "Was wir tun",
        "you_do": "Was Sie tun müssen",
        "unconfirmed": "Zu bestätigen: Das Produkt wird genannt, aber die Version konnte nicht "
        "geprüft werden.",
        "renewed": "Erneut gemeldet: neue Erkenntnisse seit der letzten Meldung.",
        "more": "{n} weitere(s) Thema/Themen finden Sie im beigefügten vollständigen Bericht.",
        "attached": "Der vollständige Bericht ist dieser Nachricht beigefügt (HTML-Datei).",
        "questions": "Fragen? Antworten Sie einfach auf diese Nachricht.",
        "why_mail": "Sie erhalten diese Nachricht, weil {client} ein Technologie-Monitoring "
        "bezieht. Um sie nicht mehr zu erhalten, antworten Sie auf diese Nachricht.",
        "light": "Priorität",
        "colon": ":",
    },
    "en": {
        "tag": "[Watch]",
        "dash": "-",
        "nothing_subject": "Nothing to report",
        "greeting": "Hello,",
        "intro": "Here is your technology and security watch.",
        "checked": "{checked} sources checked, {watched} articles and advisories reviewed.",
        "what": "What happened",
        "means": "What it means for you",
        "we_do": "What we do",
        "you_do": "What you must do",
        "unconfirmed": "To be confirmed: the product is named, but its version could not be "
        "checked.",
        "renewed": "Reported again: new evidence since the last report.",
        "more": "{n} more topic(s) are in the full briefing attached.",
        "attached": "The full briefing is attached to this message (HTML file).",
        "questions": "Any question? Simply reply to this message.",
        "why_mail": "You receive this message because {client} subscribes to a technology "
        "watch. To stop receiving it, reply to this message.",
        "light": "Priority",
        "colon": ":",
    },
}

# Subject counts per priority: (one, many). Swiss German spells "ss", never "ß". The subject's
# dash is an ASCII hyphen in every language: one form, "[Veille] 2 actions immédiates - semaine 48".
HEADLINES: dict[str, dict[str, tuple[str, str]]] = {
    "fr": {
        "act_now": ("1 action immédiate", "{n} actions immédiates"),
        "act_soon": ("1 action à prévoir rapidement", "{n} actions à prévoir rapidement"),
        "plan": ("1 sujet à planifier", "{n} sujets à planifier"),
        "watch": ("1 sujet à surveiller", "{n} sujets à surveiller"),
    },
    "de": {
        "act_now": ("1 Sofortmassnahme", "{n} Sofortmassnahmen"),
        "act_soon": ("1 zeitnahe Massnahme", "{n} zeitnahe Massnahmen"),
        "plan": ("1 Thema zum Einplanen", "{n} Themen zum Einplanen"),
        "watch": ("1 Thema zum Beobachten", "{n} Themen zum Beobachten"),
    },
    "en": {
        "act_now": ("1 immediate action", "{n} immediate actions"),
        "act_soon": ("1 action to take soon", "{n} actions to take soon"),
        "plan": ("1 item to plan", "{n} items to plan"),
        "watch": ("1 item to watch", "{n} items to watch"),
    },
}

# The traffic light: a colour name always shown next to the colour itself.
LIGHTS: dict[str, dict[str, str]] = {
    "fr": {"act_now": "Rouge", "act_soon": "Orange", "plan": "Jaune", "watch": "Vert"},
    "de": {"act_now": "Rot", "act_soon": "Orange", "plan": "Gelb", "watch": "Grün"},
    "en": {"act_now": "Red", "act_soon": "Orange", "plan": "Yellow", "watch": "Green"},
}

# What the advisor does about a story of each priority: the promise the email makes.
WE_DO: dict[str, dict[str, str]] = {
    "fr": {
        "act_now": "Nous vous contactons sans attendre pour convenir de l'intervention.",
        "act_soon": "Nous prévoyons l'intervention avec vous dans les prochains jours.",
        "plan": "Nous l'inscrivons à la prochaine maintenance planifiée.",
        "watch": "Nous suivons l'évolution et vous prévenons si la situation change.",
    },
    "de": {
        "act_now": "Wir kontaktieren Sie umgehend, um den Eingriff zu vereinbaren.",
        "act_soon": "Wir planen den Eingriff mit Ihnen in den nächsten Tagen.",
        "plan": "Wir nehmen es in die nächste geplante Wartung auf.",
        "watch": "Wir verfolgen die Entwicklung und melden uns, falls sich die Lage ändert.",
    },
    "en": {
        "act_now": "We are contacting you right away to arrange the fix.",
        "act_soon": "We will schedule the fix with you in the coming days.",
        "plan": "We add it to the next planned maintenance.",
        "watch": "We follow it and will tell you if the situation changes.",
    },
}


def mail_word(language: str, key: str, **values: object) -> str:
    """One email phrase; a missing key or placeholder is a bug and raises."""
    return MAIL_WORDS[lang_of(language)][key].format(**values)


def headline(language: str, priority: str, n: int) -> str:
    one, many = HEADLINES[lang_of(language)][priority]
    return one if n == 1 else many.format(n=n)
