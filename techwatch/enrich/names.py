"""Vendor and product names as advisories write them -> one canonical name per thing.

KEV says ("Microsoft", "Win32k"), a CVE record ("Microsoft", "Windows 10 Version 1809"), the
ADP's CPE ("microsoft", "windows_10"), CERT-FR ("Microsoft", "Windows Server 2019 (Server Core
installation)"). An advisor thinks "Microsoft Windows": versions live in `affected.versions`,
so a product name is reduced to its family (parenthesised notes, version markers and trailing
model or version numbers dropped), then the alias table (`aliases`) merges the remaining
spellings. Names compare by `fold`: case, accents and punctuation removed.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Mapping
from functools import lru_cache
from typing import Final

from techwatch.enrich import aliases

#: Byte table of `fold`: a-z and 0-9 kept, every other byte a space.
_ALNUM_OR_SPACE: Final = bytes(
    c if chr(c) in "abcdefghijklmnopqrstuvwxyz0123456789" else 0x20 for c in range(256)
)
_PARENTHESES: Final = re.compile(r"\([^()]*\)|\[[^\[\]]*\]")
_SPLIT: Final = re.compile(r"\s+and\s+|\s*[,;]\s+", re.IGNORECASE)
#: A token from which the rest of a product name is a version: "Version 1809", "SP4", "V8"...
_VERSION_FROM: Final = re.compile(
    r"^(versions?|ver|release|build|before|prior|through|until|sp\d*|v\d.*|r\d+|\d+(\.\d+)+.*)$"
)
_HAS_DIGIT: Final = re.compile(r"\d")
#: Phrases from which the rest is an edition: "Windows 7 Service Pack 1", "... for x64-based".
_EDITION_FROM: Final = re.compile(
    r"\s+(?:service\s+pack\b|for\s+(?:x64|x86|32|64|arm|itanium)).*$", re.IGNORECASE
)
#: Legal forms and the like: "Fortinet, Inc." is Fortinet.
LEGAL_SUFFIXES: Final = frozenset(
    [
        "inc",
        "incorporated",
        "corp",
        "corporation",
        "co",
        "company",
        "ltd",
        "limited",
        "llc",
        "llp",
        "gmbh",
        "ag",
        "sa",
        "sas",
        "sarl",
        "srl",
        "spa",
        "bv",
        "nv",
        "plc",
        "kg",
        "oy",
        "oyj",
        "ab",
        "pty",
        "kk",
        "se",
        "foundation",
    ]
)
#: Trailing words that name a kind of thing, not the product: "IOS XE Software" is IOS XE.
KIND_SUFFIXES: Final = frozenset(
    ["software", "firmware", "product", "products", "series", "family", "edition", "editions"]
)
#: Names that stand for no product at all.
PLACEHOLDERS: Final = frozenset(
    {
        "",
        "n a",
        "na",
        "none",
        "unknown",
        "unspecified",
        "not applicable",
        "other",
        "all",
        "all products",
        "multiple",
        "multiple products",
        "multiple vendors",
        "various",
        "various products",
    }
)
#: Hosts whose module paths read host/owner/repo (Go modules): the owner is the vendor.
CODE_HOSTS: Final = frozenset({"github com", "gitlab com", "bitbucket org"})
_PATH_SKIP: Final = re.compile(r"^(v\d+|server|client|pkg|cmd|internal|api|sdk|lib)$")


def fold(text: str) -> str:
    """'Citrix NetScaler® ADC (Gateway)' -> 'citrix netscaler adc gateway': the comparison form.

    casefold before NFKD so that 'ß' becomes 'ss'; letters without an ASCII form (other
    scripts) vanish, which is harmless: the dictionary holds Latin-script names.

    Each byte other than a-z and 0-9 becomes a space, then runs of spaces one: what
    `[^a-z0-9]+` -> " " and strip give, at half the cost on an item's text (recognition folds
    every text it reads).
    """
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    folded = decomposed.encode("ascii", "ignore").translate(_ALNUM_OR_SPACE).decode("ascii")
    return " ".join(folded.split())


@lru_cache(maxsize=1 << 17)
def fold_name(name: str) -> str:
    """`fold` for names, which repeat by the thousand: cached."""
    return fold(name)


@lru_cache(maxsize=1 << 16)
def _tidy(raw: str) -> str:
    """Display form: CPE underscores as spaces, notes in parentheses dropped, spaces collapsed.
    Cached, like `_alias`: learning the real advisories' 5.1k statements tidied 7.4k
    distinct names in 16k calls, and asked `_alias` for 6.5k distinct ones in 10k."""
    text = _PARENTHESES.sub(" ", raw.replace("_", " "))
    return " ".join(text.split()).strip(" ,.;:-")


_VENDOR_ALIASES: Final = {
    fold_name(alias): name
    for name, spellings in aliases.VENDORS.items()
    for alias in (name, *spellings)
}
_PRODUCT_ALIASES: Final = {
    (fold_name(vendor), key): product
    for vendor, product, spellings in aliases.PRODUCTS
    for alias in (product, *spellings)
    for key in (fold_name(alias), fold_name(alias).removeprefix(fold_name(vendor) + " "))
}


@lru_cache(maxsize=65536)
def vendor_name(raw: str) -> str | None:
    """The canonical vendor, or None for a placeholder ("n/a")."""
    key = fold_name(raw)
    if key in _VENDOR_ALIASES:
        return _VENDOR_ALIASES[key]
    tokens = _tidy(raw).split()
    if tokens and fold_name(tokens[0]) == "the" and len(tokens) > 1:
        tokens = tokens[1:]
    while len(tokens) > 1 and fold_name(tokens[-1]) in LEGAL_SUFFIXES:
        tokens.pop()
    name = " ".join(tokens).strip(" ,.")
    if fold_name(name) in PLACEHOLDERS:
        return None
    return _VENDOR_ALIASES.get(fold_name(name), name)


@lru_cache(maxsize=65536)
def product_names(vendor: str, raw: str) -> tuple[str, ...]:
    """Canonical product families that `raw` names for a canonical `vendor` (often one).

    "IOS and IOS XE Software" names two; "Multiple Products" none.
    """
    alias = _alias(vendor, raw)
    if alias is not None:
        return (alias,)
    found: list[str] = []
    for part in _SPLIT.split(raw):
        name = _family(vendor, part)
        if name and name not in found:
            found.append(name)
    return tuple(found)


def canonical_pairs(vendor: str, product: str, *, package: bool = False) -> list[tuple[str, str]]:
    """(vendor, product) as an advisory states it -> canonical (vendor, product) pairs.

    `package` marks OSV entries (vendor = ecosystem, product = package name): a Go module
    path "github.com/owner/repo" names its owner as the vendor.
    """
    if package:
        return _package_pair(vendor, product)
    name = vendor_name(vendor) if vendor else None
    if name is None:
        return []
    return [(name, p) for p in product_names(name, product)]


#: (vendor, product, is a package) as an advisory states it.
Statement = tuple[str, str, bool]
#: A canonical pair with its key: ((vendor key, product key), (vendor, product)), the key
#: being the dictionary's (products.Entry.key).
Named = tuple[tuple[str, str], tuple[str, str]]
#: `named_pairs` by statement, and the most it holds before it starts again.
_NAMED: dict[Statement, tuple[Named, ...]] = {}
NAMED_LIMIT: Final = 1 << 17


def named_pairs(vendor: str, product: str, package: bool = False) -> tuple[Named, ...]:
    """`canonical_pairs` with their keys, memoised per statement: a refresh asks for each
    of its few thousand statements in every process that learns, recognises or aggregates."""
    statement = (vendor, product, package)
    found = _NAMED.get(statement)
    if found is None:
        if len(_NAMED) >= NAMED_LIMIT:
            _NAMED.clear()
        found = _NAMED[statement] = tuple(
            ((fold_name(v), product_key(v, p)), (v, p))
            for v, p in canonical_pairs(vendor, product, package=package)
        )
    return found


def known_pairs(statements: Iterable[Statement]) -> dict[Statement, tuple[Named, ...]]:
    """`named_pairs` of each statement, to hand to another process (`adopt`)."""
    return {statement: named_pairs(*statement) for statement in statements}


def adopt(known: Mapping[Statement, tuple[Named, ...]]) -> None:
    """Take `named_pairs` that another process computed (`known_pairs`) with this same code:
    an import's worker that learnt the dictionary hands them to the workers that aggregate
    CVEs, which would otherwise canonicalise the same statements again."""
    if len(_NAMED) + len(known) > NAMED_LIMIT:
        _NAMED.clear()
    _NAMED.update(known)


def distinctive(word: str) -> bool:
    """A spelling that is no ordinary word: a capital inside (FortiOS, iOS), a digit (Log4j),
    or punctuation (PAN-OS)."""
    return not word[1:].islower() or not word.isalpha()


@lru_cache(maxsize=1 << 17)
def product_key(vendor: str, name: str) -> str:
    """The comparison form of a product, without a leading vendor name: "Microsoft Windows"
    and "Windows" are one product of Microsoft ("Microsoft 365" keeps its vendor word)."""
    key, prefix = fold_name(name), fold_name(vendor)
    rest = key[len(prefix) + 1 :] if prefix and key.startswith(prefix + " ") else ""
    return rest if rest and not rest[0].isdigit() else key


def nicer(a: str, b: str) -> str:
    """The better of two spellings to show: mixed case over CPE lower case, then the shorter."""

    def rank(name: str) -> tuple[bool, int, str]:
        return (name == name.lower() or name == name.upper(), len(name), name)

    return min(a, b, key=rank)


@lru_cache(maxsize=1 << 16)
def _alias(vendor: str, raw: str) -> str | None:
    """The alias table's product that `raw` names for `vendor`, if any."""
    vendor_fold = fold_name(vendor)
    for candidate in (raw, _tidy(raw)):
        for key in (fold_name(candidate), product_key(vendor, candidate)):
            hit = _PRODUCT_ALIASES.get((vendor_fold, key))
            if hit is not None:
                return hit
    return None


def _family(vendor: str, raw: str) -> str | None:
    """'Windows Server 2019 (Server Core installation)' -> 'Windows Server'; None if nothing."""
    tokens = _EDITION_FROM.sub("", _tidy(raw)).split()
    if not tokens:
        return None
    folded = [fold_name(t) for t in tokens]
    for index, token in enumerate(folded[1:], start=1):
        if _VERSION_FROM.match(token):
            tokens, folded = tokens[:index], folded[:index]
            break
    while len(tokens) > 1 and _HAS_DIGIT.search(folded[-1]):
        tokens.pop()
        folded.pop()
    # "IOS XE Software" is IOS XE, but "Trusted Firmware" is not "Trusted".
    while folded[-1] in KIND_SUFFIXES and (len(tokens) > 2 or distinctive(tokens[0])):
        tokens.pop()
        folded.pop()
    name = " ".join(tokens).strip(" ,.;:-")
    if fold_name(name) in PLACEHOLDERS:
        return None
    return _alias(vendor, name) or name


def _package_pair(ecosystem: str, package: str) -> list[tuple[str, str]]:
    parts = [p for p in package.strip().split("/") if p]
    if len(parts) >= 3 and fold_name(parts[0]) in CODE_HOSTS:
        owner = vendor_name(parts[1])
        names = [p for p in parts[2:] if not _PATH_SKIP.match(p.lower())] or parts[2:3]
        return [(owner, names[-1])] if owner else []
    name = package.strip()
    if not ecosystem.strip() or fold_name(name) in PLACEHOLDERS:
        return []
    return [(ecosystem.strip(), name)]
