"""What all items state about one CVE -> one row of the CVE table (pure rules, no I/O).

Which statement wins, and why:
- description: the CNA's English text (a CVE JSON 5 record) first: the CNA assigned the CVE
  and is usually the vendor, so it knows the product best, and the text is the reference
  others copy. Then NVD (it republishes the CNA's text, sometimes edited, sometimes later),
  then CISA KEV's short description (English, reliable, terse), then vendor CSAF, OSV (package
  centric) and CERT-FR (French, one text for a whole bulletin of CVEs). Within one kind the
  most recently modified statement wins, then the longest.
- title: KEV's vulnerability name (curated, short) first, then the same order.
- CVSS: `parse.cvss.best_cvss` over every assessment stated (newest version, then highest).
- KEV: earliest date added; due date, required action and ransomware use from the catalog's
  own entry when present (the CVE record's ADP only states the date).
- exploitation: the worst SSVC value stated (active > poc > none).
- products: every (vendor, product) stated, canonical (`enrich.names`), shown as the
  dictionary shows them.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import date, datetime
from functools import lru_cache
from itertools import chain
from typing import Final, NamedTuple

from techwatch.enrich.names import Named, fold_name, named_pairs, nicer
from techwatch.parse.cvss import best_cvss
from techwatch.types import CvssScore, KevEntry

#: Lower is preferred; unknown kinds (feeds) come last.
DESCRIPTION_RANK: Final = {
    "cve-json5": 0,
    "nvd-api": 1,
    "cisa-kev": 2,
    "csaf": 3,
    "osv": 4,
    "certfr-json": 5,
}
EXPLOITATION_RANK: Final = {"none": 0, "poc": 1, "active": 2}
#: NVD's placeholders say that no CWE was assigned; shown only when nothing else is known.
CWE_PLACEHOLDERS: Final = frozenset({"NVD-CWE-Other", "NVD-CWE-noinfo"})
MAX_PRODUCTS: Final = 50

Display = Callable[[tuple[str, str]], tuple[str, str] | None]
#: What the facts of a CVE state as affected: per fact, its (vendor, product) pairs and
#: whether they are packages (OSV).
Statements = tuple[tuple[tuple[tuple[str, str], ...], bool], ...]
#: Shown vendors and products by what each fact states: CVEs stated alike (a bulletin's CVEs)
#: are shown alike, so one refresh computes each once (see cve_records).
ProductsMemo = dict[Statements, tuple[tuple[str, ...], tuple[tuple[str, str], ...]]]


class CveFact(NamedTuple):
    """What one item states about one CVE, with where it comes from.

    This record and the others below are named tuples, immutable like the frozen dataclasses
    they were, but built at half their cost: when a refresh of the real advisories built 59k
    facts and 21k of each of the others, 0.39-0.41 s of CPU as frozen dataclasses (whose
    __init__ sets each field through object.__setattr__), 0.17-0.19 s as these. A refresh
    now builds only the distinct facts and one Stated per distinct list of them
    (enrich.cverows); `aggregate` and CveRecord are the one-CVE reference that the tests
    hold that path to."""

    cve_id: str
    item_id: str
    source_id: str
    kind: str | None
    title: str | None = None
    description: str | None = None
    published: datetime | None = None
    modified: datetime | None = None
    cvss: tuple[CvssScore, ...] = ()
    cwes: tuple[str, ...] = ()
    products: tuple[tuple[str, str], ...] = ()  # (vendor, product) as stated
    kev: KevEntry | None = None
    exploitation: str | None = None


class Sightings(NamedTuple):
    """The items that name a CVE (in their CVE list or their advisory facts), summed up:
    when they were first and last seen, which, and from which sources."""

    first_seen: datetime
    last_seen: datetime
    item_ids: tuple[str, ...]  # newest sighting first, ties by item id, descending
    sources: tuple[str, ...]  # sorted


class Stated(NamedTuple):
    """What the facts of a CVE state, whatever its sightings: a CveRecord's fields between
    its id and its sightings. CVEs stated by the same facts (a bulletin's CVEs) state the
    same, so a refresh computes this once per distinct list of facts (enrich.cverows)."""

    title: str | None
    description: str | None
    description_from: str | None
    published: datetime | None
    modified: datetime | None
    cvss: CvssScore | None
    cwes: tuple[str, ...]
    kev: KevEntry | None
    exploitation: str | None
    vendors: tuple[str, ...]
    products: tuple[tuple[str, str], ...]


class CveRecord(NamedTuple):
    """One row of the CVE table (EPSS is joined when read): its id, then the fields of
    Stated, then those of Sightings, in their order."""

    cve_id: str
    title: str | None
    description: str | None
    description_from: str | None
    published: datetime | None
    modified: datetime | None
    cvss: CvssScore | None
    cwes: tuple[str, ...]
    kev: KevEntry | None
    exploitation: str | None
    vendors: tuple[str, ...]
    products: tuple[tuple[str, str], ...]
    first_seen: datetime
    last_seen: datetime
    item_ids: tuple[str, ...]  # newest sighting first
    sources: tuple[str, ...]


def aggregate(
    cve_id: str,
    facts: Sequence[CveFact],
    seen: Sightings | None,
    display: Display | None = None,
    memo: ProductsMemo | None = None,
) -> CveRecord | None:
    """The CVE's row, or None when no item mentions it any more (its row goes); `memo`
    shares shown products between the CVEs of one refresh (same `display`)."""
    if seen is None:
        return None
    return CveRecord(cve_id, *stated(facts, display, memo), *seen)


def stated(
    facts: Sequence[CveFact], display: Display | None = None, memo: ProductsMemo | None = None
) -> Stated:
    """What `facts` (all those of one CVE, in their stored order) state about it; a fact's
    own CVE id is not read."""
    ranked = sorted(facts, key=_preference)
    description = next((f for f in ranked if f.description and f.description.strip()), None)
    vendors, products = affected_products(facts, display, memo)
    return Stated(
        title=best_title(ranked),
        description=description.description.strip()
        if description and description.description
        else None,
        description_from=description.source_id if description else None,
        published=min((f.published for f in facts if f.published), default=None),
        modified=max((f.modified for f in facts if f.modified), default=None),
        cvss=best_cvss(score for f in facts for score in f.cvss),
        cwes=best_cwes(ranked),
        kev=best_kev(facts),
        exploitation=worst_exploitation(facts),
        vendors=vendors,
        products=products,
    )


def _preference(fact: CveFact) -> tuple[int, float, int]:
    """Rank of the kind, then the newest statement, then the longest text."""
    rank = DESCRIPTION_RANK.get(fact.kind or "", len(DESCRIPTION_RANK))
    modified = -fact.modified.timestamp() if fact.modified else 0.0
    return rank, modified, -len(fact.description or "")


def best_title(ranked: Sequence[CveFact]) -> str | None:
    """KEV's vulnerability name, else the preferred statement's title."""
    for fact in ranked:
        if fact.kev is not None and fact.kev.name.strip():
            return fact.kev.name.strip()
    return next((f.title.strip() for f in ranked if f.title and f.title.strip()), None)


def best_cwes(ranked: Sequence[CveFact]) -> tuple[str, ...]:
    """Every CWE stated, the preferred statement's first; NVD placeholders only alone."""
    cwes = tuple(dict.fromkeys(cwe for fact in ranked for cwe in fact.cwes))
    real = tuple(c for c in cwes if c not in CWE_PLACEHOLDERS)
    return real or cwes


def best_kev(facts: Iterable[CveFact]) -> KevEntry | None:
    """One KEV entry: the catalog's own (most fields) with the earliest date added."""
    entries = [f.kev for f in facts if f.kev is not None]
    if not entries:
        return None
    main = max(entries, key=lambda k: (bool(k.required_action), bool(k.due_date), bool(k.vendor)))
    added: date = min(k.date_added for k in entries)
    ransomware = True if any(k.ransomware for k in entries) else main.ransomware
    return KevEntry(
        date_added=added,
        due_date=main.due_date,
        required_action=main.required_action,
        ransomware=ransomware,
        vendor=main.vendor,
        product=main.product,
        name=main.name,
        notes=main.notes,
    )


def worst_exploitation(facts: Iterable[CveFact]) -> str | None:
    values = [f.exploitation.lower() for f in facts if f.exploitation]
    known = [v for v in values if v in EXPLOITATION_RANK]
    return max(known, key=EXPLOITATION_RANK.__getitem__) if known else None


def affected_products(
    facts: Iterable[CveFact], display: Display | None = None, memo: ProductsMemo | None = None
) -> tuple[tuple[str, ...], tuple[tuple[str, str], ...]]:
    """(vendors, (vendor, product) pairs) stated as affected, canonical and deduplicated.

    KEV's vendorProject/product count too; OSV's (ecosystem, package) are packages.
    The memo is keyed by the statements, not by their canonical pairs: a CVE found there
    is neither canonicalised nor hashed a second time (its pairs' keys and names hash at
    three tuples a pair: ~0.14 s of the 0.21 s this took for the real advisories' 21k CVEs).
    """
    statements = tuple((_stated(fact), fact.kind == "osv") for fact in facts)
    found = memo.get(statements) if memo is not None else None
    if found is None:
        found = _shown((_canonical_all(*stated) for stated in statements), display)
        if memo is not None:
            memo[statements] = found
    return found


def _stated(fact: CveFact) -> tuple[tuple[str, str], ...]:
    if fact.kev is not None and fact.kev.vendor:
        return (*fact.products, (fact.kev.vendor, fact.kev.product))
    return fact.products


def _shown(
    stated_by_fact: Iterable[tuple[Named, ...]], display: Display | None
) -> tuple[tuple[str, ...], tuple[tuple[str, str], ...]]:
    """Vendors and products as shown (`display`, else the nicer spelling), sorted."""
    pairs: dict[tuple[str, str], tuple[str, str]] = {}
    vendors: dict[str, str] = {}
    for key, name in dict.fromkeys(chain.from_iterable(stated_by_fact)):
        shown = (display(key) if display else None) or name
        old = pairs.get(key)
        if old is None:
            pairs[key] = shown
        elif old != shown:
            pairs[key] = (nicer(old[0], shown[0]), nicer(old[1], shown[1]))
        vendor_shown = vendors.get(key[0])
        if vendor_shown != shown[0]:
            vendors[key[0]] = shown[0] if vendor_shown is None else nicer(vendor_shown, shown[0])
    products = tuple(sorted(pairs.values(), key=_folded))
    return tuple(sorted(vendors.values(), key=fold_name)), products[:MAX_PRODUCTS]


@lru_cache(maxsize=1 << 16)
def _folded(pair: tuple[str, str]) -> tuple[str, str]:
    """The sort key of a shown (vendor, product): cached whole, as the same pairs are sorted
    for CVE after CVE (85k sort keys for the real advisories' 21k CVEs)."""
    return fold_name(pair[0]), fold_name(pair[1])


@lru_cache(maxsize=1 << 14)
def _canonical_all(stated: tuple[tuple[str, str], ...], package: bool) -> tuple[Named, ...]:
    """(key, name) of every canonical pair of a statement's product list, without repeats;
    cached, as a bulletin states the same list for each of its CVEs."""
    found = (pair for vendor, product in stated for pair in named_pairs(vendor, product, package))
    return tuple(dict.fromkeys(found))


def display_from(names: Mapping[tuple[str, str], tuple[str, str]]) -> Display:
    """A `display` function over the dictionary's (vendor key, product key) -> names."""
    return names.get
