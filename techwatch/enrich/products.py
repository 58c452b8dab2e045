"""The vendor/product dictionary, learnt from advisories, and its recognition in free text.

Advisories name products (KEV vendorProject/product, CVE `affected`, CSAF product trees, OSV
packages); `names` reduces each to a canonical (vendor, product). The dictionary keeps every
spelling seen and turns them into terms; one Aho-Corasick automaton (ahocorasick_rs) finds
every term of an item in one pass, so news that names "FortiGate" without a CPE still
matches FortiOS.

Flood guard (a term that matches everywhere would tie every item to a product):
- whole words only: terms and text are folded (case, accents, punctuation) and padded by spaces;
- a name made only of generic words ("Server", "Portal", "App", "Web Server", "Kernel") is
  never a term alone: only "vendor + name" is ("Linux Kernel");
- one ordinary-looking word ("Survey", "Director", "Exchange") must be capitalised in the text
  (an all-capitals one, "LOGO!", in capitals) and, unless it is a well-known product
  ("Windows", "Firefox"), the same item must name the vendor; so must a name shorter than
  4 characters ("ASA", "DSM") and a name two products share ("IOS": Apple and Cisco).
  Distinctive spellings ("FortiOS", "Log4j", "PAN-OS") and names of several words count alone;
- vendor names that are ordinary words ("Progress", "Nice", "Orange") never count alone;
- a package name (OSV: "requests", "express") counts only where its ecosystem is named.
"""

from __future__ import annotations

import pickle
import re
import unicodedata
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Final, NamedTuple

import ahocorasick_rs

from techwatch import gcpacing
from techwatch.enrich import aliases
from techwatch.enrich.names import (
    Statement,
    distinctive,
    fold,
    fold_name,
    known_pairs,
    named_pairs,
    nicer,
    product_key,
)


def _words(text: str) -> frozenset[str]:
    return frozenset(text.split())


#: Text read per field: a product is named early; a 1 MB page must not cost a second.
MAX_TEXT_CHARS: Final = 20_000
MIN_TERM_CHARS: Final = 4
MAX_NAMES: Final = 8  # spellings kept per product
#: Short names distinctive enough alone (upper-case acronyms of vendors).
SHORT_ALLOWED: Final = frozenset({"sap", "ibm", "amd", "hpe", "iis", "f5"})

GENERIC_WORDS: Final = _words(
    """
    server servers service services portal app apps application applications client clients
    agent agents manager management console gateway router routers switch switches firewall
    camera cameras printer printers kernel system systems platform suite cloud web api
    library framework driver drivers plugin plugins module modules core base connect center
    centre hub studio designer workstation controller controllers monitor monitoring viewer
    player reader editor browser mobile desktop enterprise professional pro standard express
    update updates tool tools utility utilities network networks security data analytics
    engine runtime sdk interface device devices appliance appliances firmware software
    product products edition solution solutions storage backup database directory access
    control panel dashboard admin administration remote online free plus lite home business
    basic advanced premium ultimate open source file files mail email messaging chat video
    audio print scan scanner wireless wifi lan vpn http https ftp smtp dns ip usb bluetooth
    pc series model models version support settings media premise premises prem sd wan radius
    configuration installer setup component components package packages extension extensions
    add on addon integration connector bridge proxy cache balancer sensor sensors terminal
    terminals node nodes cluster host hosts virtual machine machines container containers
    image images operating os ui user users identity authentication auth login account
    accounts multiple the for of and de la le les des du et pour serveur serveurs logiciel
    logiciels portail passerelle routeur pare feu systeme systemes plateforme gestion
    gestionnaire reseau reseaux securite donnees mise mises jour produit produits multiples
    outil outils poste travail imprimante noyau dienst dienste anwendung anwendungen
    verwaltung netzwerk sicherheit daten produkt produkte systeme plattform werkzeug drucker
    kamera kern
    """
)
#: Vendor names that are ordinary words even when capitalised (a sentence may start with them).
COMMON_WORDS: Final = _words(
    """
    progress nice orange free post bank box zoom sage slack signal ring nest go arc element
    matrix focus pulse spark atlas compass canvas vision insight shield guard fortress opera
    brave mint target axis cloud open data meta jenkins
    """
)
#: Single ordinary-looking words that name one well-known product without its vendor.
WELL_KNOWN: Final = _words(
    """
    windows android chrome chromium firefox thunderbird kubernetes docker tomcat
    struts joomla drupal moodle nextcloud owncloud zimbra roundcube grafana wordpress
    """
)


@dataclass(frozen=True, slots=True)
class Entry:
    """One product of the dictionary (or a vendor alone when `product` is empty)."""

    vendor: str
    product: str
    names: tuple[str, ...] = ()  # spellings advisories used, family-reduced
    package: bool = False  # known only as a package of a registry (OSV)

    @property
    def key(self) -> tuple[str, str]:
        """(vendor key, product key): spellings with one key are one entry."""
        product = product_key(self.vendor, self.product) if self.product else ""
        return fold_name(self.vendor), product


@dataclass(frozen=True, slots=True)
class Mention:
    """A vendor or product named by an item; `product` is empty when only the vendor is."""

    vendor: str
    product: str
    term: str
    field: str  # title, text, affected


def learn(statements: Iterable[Statement]) -> list[Entry]:
    """(vendor, product, is_package) as advisories state them -> dictionary entries, merged.

    A statement repeated (12,170 of the real advisories' statements are 5,127 distinct ones)
    is learnt once, at its first place: merging an entry into one that already holds it
    changes nothing (`merge` keeps the first spellings, the nicer names and the package flag
    whatever the order), so the entries are the same at less than half the cost."""
    found: dict[tuple[str, str], Entry] = {}
    for vendor, product, package in dict.fromkeys(statements):
        for key, (name_vendor, name) in named_pairs(vendor, product, package):
            found[key] = merge(found.get(key), Entry(name_vendor, name, (name,), package))
    return list(found.values())


class Learnt(NamedTuple):
    """What `relearn` gives: all entries and the new or changed ones, by key; from a worker
    (`offloaded_relearn`), the statements' canonical pairs besides."""

    entries: dict[tuple[str, str], Entry]
    changed: dict[tuple[str, str], Entry]
    pairs: bytes = b""  # pickled names.known_pairs, for names.adopt in other workers


def relearn(known: Iterable[Entry], statements: Iterable[Statement]) -> Learnt:
    """The dictionary's `known` entries with what `statements` teach merged in. Pure and
    light to import: an import runs it in a parse worker (`offloaded_relearn`), whose caches
    then hold the names' keys, which cost the parent ~0.2 s to compute again (Entry.key)."""
    by_key = {e.key: e for e in known}
    changed: dict[tuple[str, str], Entry] = {}
    for entry in learn(statements):
        merged = merge(by_key.get(entry.key), entry)
        if merged != by_key.get(entry.key):
            by_key[entry.key] = changed[entry.key] = merged
    return Learnt(by_key, changed)


def offloaded_relearn(known: Iterable[Entry], statements: Sequence[Statement]) -> Learnt:
    """`relearn` in a worker, with the canonical pairs of the statements, which the workers
    that aggregate CVEs then need not compute again (enrich.cverows). They are pickled here:
    the parent only forwards them, and as objects they cost it ~0.024 s more to receive and
    send on (the import's busiest process), as bytes nothing measurable. The collector is
    paused meanwhile."""
    with gcpacing.paused():
        learnt = relearn(known, statements)
        return learnt._replace(pairs=pickle.dumps(known_pairs(statements), pickle.HIGHEST_PROTOCOL))


def merge(old: Entry | None, new: Entry) -> Entry:
    """One entry of both: the nicer spellings shown, every spelling kept (a few), and a
    package only while no advisory names it as a product."""
    if old is None:
        return new
    names = tuple(dict.fromkeys((*old.names, *new.names)))[:MAX_NAMES]
    return Entry(
        vendor=nicer(old.vendor, new.vendor),
        product=nicer(old.product, new.product) if old.product else new.product,
        names=names,
        package=old.package and new.package,
    )


class _Target(NamedTuple):
    """What a term names. This and _Term are named tuples, not frozen dataclasses: built
    and pickled at a fraction of their cost (a worker's dictionary holds ~7k of each)."""

    vendor: str
    product: str
    vendor_key: str
    needs_vendor: bool


class _Term(NamedTuple):
    text: str
    case: int  # NO_CASE, CAPITAL or UPPER: how the text must write it (see _case)
    targets: tuple[_Target, ...]
    vendors: frozenset[str] = frozenset()  # vendor keys its match says are meant


@dataclass
class Dictionary:
    """The terms of all entries and aliases, compiled into one automaton."""

    entries: Sequence[Entry]
    _terms: list[_Term] = field(init=False, default_factory=list)
    _automaton: ahocorasick_rs.AhoCorasick | None = field(init=False, default=None)

    def __post_init__(self) -> None:
        self._terms = _terms(self.entries)
        if self._terms:
            self._automaton = ahocorasick_rs.AhoCorasick([f" {t.text} " for t in self._terms])

    def __len__(self) -> int:
        return len(self._terms)

    def recognise(self, fields: Sequence[tuple[str, str]]) -> list[Mention]:
        """Vendors and products named in (field name, text) pairs, each once per field.

        A vendor named only alongside one of its products is not listed alone.
        """
        if self._automaton is None:
            return []
        matched: list[tuple[str, _Term]] = []
        present: set[str] = set()
        for name, text in fields:
            text = text[:MAX_TEXT_CHARS]
            hits = self._automaton.find_matches_as_indexes(f" {fold(text)} ", overlapping=True)
            kept = set(_outermost(hits))
            cased = _Cased(text)
            for index in dict.fromkeys(index for index, _, _ in hits):
                term = self._terms[index]
                if term.case and not cased.has(term.text, term.case):
                    continue
                present |= term.vendors
                if index in kept:
                    matched.append((name, term))
        return _mentions(matched, present)


def _names_vendor(target: _Target) -> bool:
    """A vendor's name, or a product that only that vendor makes, says the vendor is meant."""
    return not target.product or not target.needs_vendor


def _outermost(hits: list[tuple[int, int, int]]) -> list[int]:
    """Matches not inside a longer one: "windows" in "microsoft windows server" is not kept."""
    kept: list[int] = []
    reach = -1
    for index, _, end in sorted(hits, key=lambda h: (h[1], -h[2])):
        if end <= reach:
            continue
        kept.append(index)
        reach = end
    return kept


NO_CASE, CAPITAL, UPPER = 0, 1, 2


def _case(spelling: str) -> int:
    """How a text must write a one-word name for it to count: an ordinary-looking word
    ("Survey", "Director") capitalised, an all-capitals one ("LOGO!", "CSA") in capitals
    ("neues Logo" is no Siemens LOGO!); distinctive spellings ("FortiOS") and phrases any way."""
    words = spelling.split()
    if len(words) != 1:
        return NO_CASE
    letters = "".join(c for c in words[0] if c.isalpha())
    if len(letters) >= 2 and letters.isupper():
        return UPPER
    return CAPITAL if not distinctive(words[0]) else NO_CASE


class _Cased:
    r"""The text with its case but without accents ("Électro" -> "Electro"), and that in
    lower case, made on demand: where a one-word name stands as a whole word, written as
    `_case` requires.

    A word is found with str.find, then its neighbours checked, which is what the regex
    `(?<!\w)W(?i:ord)(?!\w)` finds (tests/enrich/test_recognition_fast_paths.py): compiling
    that regex for each name cost a parse worker ~0.15 s of its ~0.35 s of recognition over
    the real advisories' 1,941 items of a chunk (598 names)."""

    def __init__(self, text: str) -> None:
        self._text = text
        self._plain: str | None = None
        self._lower: str | None = None

    def has(self, word: str, case: int) -> bool:
        """Whether `word` (folded: a-z, 0-9, spaces) is written in capitals (UPPER) or
        with a capital first letter, then in any case."""
        if self._plain is None:
            self._plain = without_accents(self._text)
        if case == UPPER:
            return _whole_word(self._plain, self._plain, word.upper(), word[0].upper())
        if self._lower is None:
            self._lower = _lower(self._plain)
        return _whole_word(self._plain, self._lower, word, word[0].upper())


#: Characters that a regex's ignore-case matches to "i" or "s" though their str.lower()
#: is not that (checked over every code point); "İ".lower() is besides two characters long,
#: the only one that lowers to more than one.
_CASE_FIXES: Final = str.maketrans({"\u0130": "i", "\u0131": "i", "\u017f": "s"})


def _lower(text: str) -> str:
    """`text` in lower case as a regex's ignore-case compares it, letter for letter (the same
    length: an index of one is an index of the other)."""
    if any(c in text for c in "\u0130\u0131\u017f"):
        text = text.translate(_CASE_FIXES)
    return text.lower()


def _whole_word(text: str, searched: str, word: str, first: str) -> bool:
    """Whether `word` is in `searched` (`text` or a form of it of the same length) where
    `text` writes `first` as its first letter, with no word character of `text` (a regex's
    \\w) just before or after it."""
    size, at = len(word), searched.find(word)
    while at >= 0:
        end = at + size
        if (
            text[at] == first
            and (at == 0 or not _is_word(text[at - 1]))
            and (end == len(text) or not _is_word(text[end]))
        ):
            return True
        at = searched.find(word, at + 1)
    return False


def _is_word(char: str) -> bool:
    """A regex's \\w for one character."""
    return char.isalnum() or char == "_"


def without_accents(text: str) -> str:
    """`text` decomposed (NFKD) without its combining marks. The marks are found among the
    text's distinct characters, then removed in one pass of a regex of them: a
    character-by-character filter cost ~2 s over a bulk import's items, `str.translate` (a
    dictionary lookup per character of a decomposed, no longer Latin-1, text) ~0.16 s, this
    ~0.07 s."""
    if text.isascii():
        return text
    decomposed = unicodedata.normalize("NFKD", text)
    marks = "".join(sorted(c for c in set(decomposed) if unicodedata.combining(c)))
    return _marks_pattern(marks).sub("", decomposed) if marks else decomposed


@lru_cache(maxsize=256)
def _marks_pattern(marks: str) -> re.Pattern[str]:
    """Any of `marks`: texts of one language carry the same few, so a handful of these."""
    return re.compile(f"[{re.escape(marks)}]")


def _mentions(matched: Iterable[tuple[str, _Term]], present: set[str]) -> list[Mention]:
    found: dict[tuple[str, str, str], Mention] = {}
    for where, term in matched:
        for target in term.targets:
            if target.needs_vendor and (not target.product or target.vendor_key not in present):
                continue
            key = (target.vendor, target.product, where)
            found.setdefault(key, Mention(target.vendor, target.product, term.text, where))
    with_products = {m.vendor for m in found.values() if m.product}
    return [m for m in found.values() if m.product or m.vendor not in with_products]


def _terms(entries: Iterable[Entry]) -> list[_Term]:
    """Every term and what it names; a standalone name shared by two products needs its
    vendor; a one-word name its case (`_case`: the loosest of its spellings).

    An entry's key is computed once and a target built only for a term's first entry of a
    key: each parse worker builds the real advisories' dictionary (3.7k entries, 7.4k terms)
    once per import, ~0.1 s of CPU, a third of it in such repeats."""
    found: dict[str, dict[tuple[str, str], _Target]] = defaultdict(dict)
    case: dict[str, int] = {}
    vendors: dict[str, str] = {}
    makers: set[str] = set()  # vendors of products, not only of packages (ecosystems, owners)
    for entry in entries:
        key = entry.key
        vendor_key = key[0]
        # The nicest spelling of all its entries, whatever their order (a store's order is not
        # the order an import learnt them in): its case decides how the vendor alone matches.
        shown = vendors.get(vendor_key, entry.vendor)
        vendors[vendor_key] = shown if shown == entry.vendor else nicer(shown, entry.vendor)
        if not entry.package:
            makers.add(vendor_key)
        for spelling, term, needs_vendor in _product_terms(entry, key):
            targets = found[term]
            if key not in targets:
                targets[key] = _Target(entry.vendor, entry.product, vendor_key, needs_vendor)
            wanted = NO_CASE if entry.package else _case(spelling)  # packages: lower case
            case[term] = min(case.get(term, UPPER), wanted)
    for vendor_key, vendor in vendors.items():
        for spelling in (vendor, *aliases.VENDORS.get(vendor, ())):
            term = fold_name(spelling)
            if not term:
                continue
            standalone = vendor_key in makers and _vendor_alone(term)
            found[term].setdefault(
                (vendor_key, ""), _Target(vendor, "", vendor_key, not standalone)
            )
            case[term] = min(case.get(term, UPPER), _case(spelling))
    return [_term(term, case[term], tuple(by_key.values())) for term, by_key in found.items()]


def _term(text: str, case: int, targets: tuple[_Target, ...]) -> _Term:
    if len(targets) > 1:
        targets = _disambiguated(targets)
    named = frozenset(t.vendor_key for t in targets if _names_vendor(t))
    return _Term(text, case, targets, named)


def _disambiguated(targets: tuple[_Target, ...]) -> tuple[_Target, ...]:
    products = [t for t in targets if t.product]
    if len(products) < 2:
        return targets
    return tuple(t._replace(needs_vendor=True) if t.product else t for t in targets)


def _product_terms(entry: Entry, key: tuple[str, str]) -> list[tuple[str, str, bool]]:
    """(spelling, term, needs the vendor in the same item) for each spelling of a product
    (`key`: the entry's)."""
    if not entry.product:
        return []
    vendor = key[0]
    aliased = _ALIAS_NAMES.get(key, ())
    spellings = {fold_name(n): n for n in (*aliased, *entry.names, entry.product)}
    terms: list[tuple[str, str, bool]] = []
    for name, spelling in sorted(spellings.items()):
        if not name or name == vendor:
            continue
        qualified = name.startswith(vendor + " ")
        if not qualified:
            terms.append((f"{entry.vendor} {spelling}", f"{vendor} {name}", False))
        if _generic(name) and not qualified:
            continue
        alone = qualified or _standalone(name, spelling)
        terms.append((spelling, name, entry.package or not alone))
    return terms


_ALIAS_NAMES: Final = {
    (fold_name(vendor), product_key(vendor, product)): spellings
    for vendor, product, spellings in aliases.PRODUCTS
}


def _generic(name: str) -> bool:
    """Only generic words, numbers and letters: "Web Server", "Series A", "Portal 2"."""
    for word in name.split():
        if word not in GENERIC_WORDS and not word.isdigit() and len(word) != 1:
            return False
    return True


def _plain(spelling: str) -> bool:
    """One ordinary-looking word ("Survey", "Director"), as opposed to "FortiOS" or "Log4j"."""
    words = spelling.split()
    return len(words) == 1 and not distinctive(words[0])


def _vendor_alone(term: str) -> bool:
    """A vendor's name that may stand for the vendor in a text: no ordinary word, not short."""
    if term in SHORT_ALLOWED:
        return True
    return len(term) >= MIN_TERM_CHARS and not _generic(term) and term not in COMMON_WORDS


def _standalone(term: str, spelling: str) -> bool:
    """Distinctive enough to name its product (or vendor) without the vendor nearby."""
    if term in SHORT_ALLOWED or term in WELL_KNOWN:
        return True
    if len(term) < MIN_TERM_CHARS or _generic(term):
        return False
    return " " in term or not _plain(spelling)
