"""How advisories name products, made comparable: vendor keys, product words, CPEs, PURLs.

    vendor_key("Fortinet, Inc.")            -> "fortinet"
    product_forms("Microsoft Exchange Server", "microsoft")
        -> (("microsoft", "exchange", "server"), ("exchange", "server"))
    product_alternatives("iOS, iPadOS, and macOS") -> ("iOS", "iPadOS", "macOS")
    names_match(asset_forms, affected_forms)    one name is a run of words of the other
    parse_cpe("cpe:2.3:o:fortinet:fortios:7.2.3:*:...") -> Cpe(part, vendor, product, version)
    parse_purl("pkg:npm/%40scope/name@1.0") -> Purl(type, namespace, name, version)

Real advisories spell one vendor many ways ("Microsoft Corporation", "microsoft", "Palo Alto
Networks" / "paloaltonetworks", "Cloud Software Group" for Citrix NetScaler): vendor keys drop
case, accents, punctuation, spaces, corporate suffixes and trailing generic words, then go
through a small alias table built from spellings seen in CISA KEV, CVE 5, CSAF and CERT-FR data.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from typing import Final

from packageurl import PackageURL

from techwatch.scoring.text import fold, word_set

Words = tuple[str, ...]

# Dropped from the end of a vendor name, repeatedly ("Apache Software Foundation" -> "apache").
_VENDOR_SUFFIXES: Final = word_set(
    """
    inc incorporated corp corporation co company ltd limited llc llp plc ag gmbh mbh kg sa sas
    sarl srl spa bv nv ab as asa oy oyj se pty group holding holdings international
    networks networking systems software technologies technology electronics solutions labs
    foundation project
    """
)
_VENDOR_PREFIXES: Final = frozenset({"the"})
# Spellings of the same vendor seen in real advisories (vendor keys on both sides).
VENDOR_ALIASES: Final = {
    "paloaltonetworks": "paloalto",
    "arubanetworks": "aruba",
    "hpearuba": "aruba",
    "hewlettpackardenterprise": "hpe",
    "hewlettpackard": "hp",
    "cloudsoftwaregroup": "citrix",  # NetScaler advisories are published by its owner
    "pulsesecure": "ivanti",
    "synacor": "zimbra",
    "mitsubishi": "mitsubishielectric",
    "rockwell": "rockwellautomation",
    "schneider": "schneiderelectric",
    "vmwarebybroadcom": "vmware",
}
# Affected product names that name no product: the whole vendor is concerned.
VENDOR_WIDE: Final = frozenset({"", "multiple products", "multiple", "all products", "n a"})

_PARENS: Final = re.compile(r"\([^)]*\)")
_NON_WORD: Final = re.compile(r"[^a-z0-9]+")
_PRODUCT_CHARS: Final = re.compile(r"[^a-z0-9.+#]+")
_ALTERNATIVES: Final = re.compile(
    r"\s*(?:,\s*(?:and\s+|or\s+)?|\s+and\s+|\s+or\s+|\s*/\s*|\s+&\s+)", re.IGNORECASE
)
_CPE_ESCAPE: Final = re.compile(r"\\(.)")
_CPE_SPLIT: Final = re.compile(r"(?<!\\):")
_ANY: Final = frozenset({"*", "-", ""})
# OSV ecosystems -> PURL types (https://github.com/package-url/purl-spec), for OSV records
# that name a package without a PURL.
OSV_PURL_TYPES: Final = {
    "go": "golang",
    "pypi": "pypi",
    "npm": "npm",
    "maven": "maven",
    "crates.io": "cargo",
    "rubygems": "gem",
    "nuget": "nuget",
    "packagist": "composer",
    "hex": "hex",
    "pub": "pub",
}


@lru_cache(maxsize=65536)
def vendor_key(name: str) -> str:
    """One key per vendor however it is spelt ('' when nothing is left)."""
    words = _NON_WORD.sub(" ", fold(_PARENS.sub(" ", name))).split()
    while words and words[0] in _VENDOR_PREFIXES:
        words = words[1:]
    full = "".join(words)
    if full in VENDOR_ALIASES:
        return VENDOR_ALIASES[full]
    while len(words) > 1 and words[-1] in _VENDOR_SUFFIXES:
        words = words[:-1]
    key = "".join(words)
    return VENDOR_ALIASES.get(key, key)


@lru_cache(maxsize=65536)
def product_words(name: str) -> Words:
    """The words of a product name: folded; '.', '+' and '#' kept inside words ('.net', 'c++')."""
    words = _PRODUCT_CHARS.sub(" ", fold(name).replace("_", " ")).split()
    return tuple(w.rstrip(".") for w in words if w.rstrip("."))


@lru_cache(maxsize=65536)
def product_forms(name: str, vendor: str) -> tuple[Words, ...]:
    """The product's words, and the same without a leading vendor name when something
    meaningful is left ("Microsoft 365" keeps its vendor: "365" alone means nothing).

    A product named like its vendor ("7-Zip" of 7-Zip, "Joomla!", "Samba": 53 of the 1,404
    KEV entries) has its one form, which only an identical form matches (`forms_match`):
    "Microsoft" alone must not name "Microsoft 365"."""
    words = product_words(name)
    key = vendor_key(vendor) if vendor else ""
    if not words:
        return ()
    if _vendor_only(words, key):
        return (words,)
    forms = [words]
    vendor_words = _NON_WORD.sub(" ", fold(vendor)).split() if vendor else []
    for size in range(len(words) - 1, 0, -1):
        head = words[:size]
        if "".join(head) == key or list(head) == vendor_words[:size]:
            rest = words[size:]
            if not all(w.replace(".", "").isdigit() for w in rest):
                forms.append(rest)
            break
    return tuple(forms)


@lru_cache(maxsize=65536)
def product_alternatives(name: str) -> tuple[str, ...]:
    """'FortiOS and FortiProxy' -> ('FortiOS', 'FortiProxy'); KEV and CERT-FR list several
    products in one name. Parts that are only numbers ("4.6/4.6.2") are version notes, dropped."""
    parts = [p.strip() for p in _ALTERNATIVES.split(name) if p.strip()]
    kept = [p for p in parts if not all(w.replace(".", "").isdigit() for w in product_words(p))]
    return tuple(dict.fromkeys(kept)) or (name,)


@lru_cache(maxsize=65536)
def is_vendor_wide(product: str) -> bool:
    """KEV's "Multiple Products" (or no product at all): every product of the vendor."""
    return " ".join(_NON_WORD.sub(" ", fold(product)).split()) in VENDOR_WIDE


def forms_match(asset: Words, affected: Words, vendor: str) -> bool:
    """`names_match` of two product forms of the vendor keyed `vendor`, except that a form
    naming the vendor alone matches only itself (see product_forms)."""
    if _vendor_only(asset, vendor) or _vendor_only(affected, vendor):
        return asset == affected
    return names_match(asset, affected)


def _vendor_only(words: Words, vendor: str) -> bool:
    """Whether a product form is its vendor's name (key) alone."""
    return "".join(words) == vendor


def names_match(asset: Words, affected: Words) -> bool:
    """True when the asset's name is a run of words of the advisory's ("Windows 10" in
    "Windows 10 Version 1809"), or the advisory's a leading part of the asset's ("Windows"
    for "Windows 10": the advisory is about every edition)."""
    if not asset or not affected:
        return False
    size = len(asset)
    if size <= len(affected):
        first = asset[0]
        for start in range(len(affected) - size + 1):
            if affected[start] == first and affected[start : start + size] == asset:
                return True
        return False
    return asset[: len(affected)] == affected


@dataclass(frozen=True, slots=True)
class Cpe:
    """The fields of a CPE name that matching compares; `version` None when any (* or -)."""

    part: str
    vendor: str
    product: str
    version: str | None

    @property
    def key(self) -> tuple[str, Words]:
        return vendor_key(self.vendor), product_words(self.product)


@lru_cache(maxsize=65536)
def parse_cpe(text: str) -> Cpe | None:
    """A CPE 2.3 formatted string or a CPE 2.2 URI ('cpe:/a:vendor:product:version'); None when
    it is neither or names no vendor and product."""
    text = text.strip()
    if text.lower().startswith("cpe:2.3:"):
        fields = [_CPE_ESCAPE.sub(r"\1", f) for f in _CPE_SPLIT.split(text)[2:]]
    elif text.lower().startswith("cpe:/"):
        fields = text[5:].split(":")
    else:
        return None
    fields += [""] * (4 - len(fields))
    part, vendor, product, version = (f.strip().lower() for f in fields[:4])
    if vendor in _ANY or product in _ANY:
        return None
    return Cpe(part, vendor, product, None if version in _ANY else version)


@dataclass(frozen=True, slots=True)
class Purl:
    type: str
    namespace: str
    name: str
    version: str | None

    @property
    def key(self) -> tuple[str, str, str]:
        return self.type, self.namespace, self.name


@lru_cache(maxsize=65536)
def parse_purl(text: str) -> Purl | None:
    """A package URL read by packageurl-python, compared case-insensitively; None if invalid."""
    try:
        purl = PackageURL.from_string(text.strip())
    except ValueError:
        return None
    return Purl(
        type=purl.type.lower(),
        namespace=(purl.namespace or "").lower(),
        name=purl.name.lower(),
        version=purl.version or None,
    )


def osv_purl(ecosystem: str, package: str) -> Purl | None:
    """The PURL of an OSV package that states none ('Go', 'golang.org/x/net' ->
    pkg:golang/golang.org/x/net); None for ecosystems without a PURL type here."""
    kind = OSV_PURL_TYPES.get(ecosystem.split(":")[0].strip().lower())
    if kind is None or not package:
        return None
    if kind == "maven" and ":" in package:
        group, _, artifact = package.partition(":")
        return Purl(kind, group.lower(), artifact.lower(), None)
    namespace, _, name = package.rpartition("/")
    if kind == "golang":
        return Purl(kind, namespace.lower(), name.lower(), None)
    return Purl(kind, namespace.lower(), name.lower(), None)
