"""Finding client terms (asset names, aliases, providers, keywords) in item text, all at once.

    fold(text)              case-, accent- and dash-insensitive form of a text or a term
    plain(text)             case- and accent-insensitive form that keeps dashes (dates, versions)
    term_problem(term)      why a term is not searched in text (too short, too common), or None
    TermFinder(terms)       one Aho-Corasick automaton over every term of every client;
                            `find(folded)` gives (term number, start, end) of whole-word hits

Why one automaton: 200 clients x 30 assets x a few names each is ~20k terms; scanning each
item once for all of them (ahocorasick_rs) costs about as much as lower-casing the text, where
a regex per term would cost 20k scans per item.

Folding: casefold (so "ß" is "ss"), accents removed ("sécurité" = "securite"), dashes and
underscores read as spaces and runs of spaces as one ("Microsoft-365" = "Microsoft 365"),
ASCII only (letters of other scripts are dropped, from texts and terms alike).
Characters such as "+", "." and "#" are kept, so "C++", ".NET" and "M365" are terms like any
other. A hit counts only as a whole word: the characters around it are not letters or digits
("NAS" is not found in "nasty", ".NET" not in "example.net").

Variants searched for each term: the term without its spaces ("Office 365" also finds
"Office365"), and for single words of 5+ letters the simple French/German inflections
(+s, +x, +e, +es, +en, +n: "imprimantes", "Druckern").

Flood guard (`term_problem`): a term is not searched in text when, folded, it is shorter than
3 characters, only digits, a single common word (fr/de/en function words, generic IT nouns
such as "firewall", "serveur", "NAS", "cloud", and everyday words that are also product names:
"office", "teams", "exchange"), or several generic words only ("site web", "pare-feu"):
"Firewall" as an asset name would otherwise match half of all security news, while
"Exchange Server" and "Office 365" stay distinctive. Such terms still take part in
advisory product matching (vendor + product); the index lists them so `clients check` can
tell the consultant to add a distinctive alias.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence
from typing import Final

import ahocorasick_rs

MIN_TERM_CHARS: Final = 3
# Text read per story field: products, providers and dates are named early, and a 5 MB page
# must not cost seconds for every client run.
MAX_TEXT_CHARS: Final = 50_000
VARIANT_MIN_LETTERS: Final = 5
INFLECTIONS: Final = ("s", "x", "e", "es", "en", "n")

# Replaced before accents are removed: typographic punctuation (so "Fortinet’s" keeps its word
# boundary) and Latin letters that Unicode does not decompose.
_BEFORE_ASCII: Final = (
    *((c, " ") for c in "\u2010\u2011\u2012\u2013\u2014\u2015\u2212\u00ad\u00a0\u202f\u2009"),
    *((c, "'") for c in "\u2018\u2019\u02bc\u00b4"),
    *((c, '"') for c in "\u201c\u201d\u201e\u00ab\u00bb\u2039\u203a"),
    ("\u0153", "oe"),
    ("\u00e6", "ae"),
    ("\u00f8", "o"),
    ("\u0111", "d"),
    ("\u0142", "l"),
)
_DIGITS_ONLY: Final = re.compile(r"^[\d .,]+$")
_WORD: Final = re.compile(r"[^\W_]+")


def word_set(text: str) -> frozenset[str]:
    """The whitespace-separated words of a text block: long word lists stay readable."""
    return frozenset(text.split())


# Function words and generic IT nouns in fr/de/en: alone, or only with each other ("site
# web", "pare-feu"), they match far too many items.
GENERIC_WORDS: Final = word_set(
    """
    the and for with from this that are was not you all new our your its has have will can of
    le la les un une des du de et ou en au aux pour par sur dans avec est sont pas plus nous
    der die das ein eine und oder mit von fur auf ist sind nicht auch bei aus den dem des
    account admin app apps backup backups bank box browser client cloud computer data database
    device devices drive email emails file files firewall gateway home hosting internet laptop
    mail mobile nas network online pc phone portal printer router security server servers
    service services shop site software storage switch system systems team update updates user
    users vpn web website wifi work
    imprimante ordinateur serveur routeur pare feu messagerie sauvegarde comptabilite reseau
    logiciel telephone poste cabinet donnees stockage courriel boutique
    drucker rechner netzwerk datensicherung buchhaltung telefon webseite speicher konto
    """
)
# Product names that are also everyday words: not searched alone ("teams", "word", "edge"), but
# distinctive next to another word ("Exchange Server", "Office 365", "Microsoft Teams").
EVERYDAY_PRODUCT_WORDS: Final = word_set("access edge exchange office teams word")
COMMON_WORDS: Final = GENERIC_WORDS | EVERYDAY_PRODUCT_WORDS


def fold(text: str) -> str:
    """The searchable form of a text or a term: see the module docstring."""
    folded = " ".join(_ascii(text).replace("-", " ").replace("_", " ").split())
    return folded


def plain(text: str) -> str:
    """Casefolded, accents removed, spaces collapsed; dashes kept (dates, version ranges)."""
    return " ".join(_ascii(text).split())


def _ascii(text: str) -> str:
    """Casefolded ASCII: accents removed; letters of other scripts are dropped (client terms
    are written in Latin script in this market, and text and terms are folded alike).
    Plain string methods only: a regex pass per character costs 10x more on long texts."""
    folded = text.casefold()
    if folded.isascii():
        return folded
    for char, replacement in _BEFORE_ASCII:
        if char in folded:
            folded = folded.replace(char, replacement)
    return unicodedata.normalize("NFKD", folded).encode("ascii", "ignore").decode("ascii")


def term_problem(term: str) -> str | None:
    """Why `term` is not searched in text ("too_short", "numeric", "common"), or None."""
    folded = fold(term)
    if len(folded.replace(" ", "")) < MIN_TERM_CHARS:
        return "too_short"
    if _DIGITS_ONLY.match(folded):
        return "numeric"
    words = _WORD.findall(folded)
    if len(words) == 1 and words[0] in COMMON_WORDS:
        return "common"
    if not words or all(w in GENERIC_WORDS or w.isdigit() for w in words):
        return "common"
    return None


def variants(folded: str) -> tuple[str, ...]:
    """The folded term and the other spellings searched for it (see the module docstring)."""
    found = [folded]
    if " " in folded:
        found.append(folded.replace(" ", ""))
    elif folded.isalpha() and len(folded) >= VARIANT_MIN_LETTERS:
        found.extend(folded + suffix for suffix in INFLECTIONS)
    return tuple(dict.fromkeys(found))


class TermFinder:
    """Whole-word search of many folded terms at once; term numbers index `terms`."""

    __slots__ = ("_automaton", "_owners", "terms")

    def __init__(self, terms: Sequence[str]) -> None:
        self.terms = tuple(terms)
        owners: dict[str, list[int]] = {}
        for number, term in enumerate(self.terms):
            for variant in variants(term):
                owners.setdefault(variant, []).append(number)
        self._owners = [tuple(numbers) for numbers in owners.values()]
        self._automaton = ahocorasick_rs.AhoCorasick(list(owners)) if owners else None

    def find(self, folded: str) -> list[tuple[int, int, int]]:
        """(term number, start, end) of every whole-word hit in an already folded text."""
        if self._automaton is None or not folded:
            return []
        hits = self._automaton.find_matches_as_indexes(folded, overlapping=True)
        size = len(folded)
        return [
            (number, start, end)
            for pattern, start, end in hits
            if (start == 0 or not folded[start - 1].isalnum())
            and (end == size or not folded[end].isalnum())
            for number in self._owners[pattern]
        ]
