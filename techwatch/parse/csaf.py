"""CSAF 2.0 advisories (OASIS) and the ROLIE feeds that list them.

One CSAF document is one advisory: a vendor's or a coordinator's (CISA, BSI...) statement about
vulnerabilities in products named by a product tree. The parser resolves the product ids that
each vulnerability's `product_status` names back to vendor / product / version, so that facts
say which products are affected and which versions fix them. VEX documents (category
`csaf_vex`) mostly say the opposite: products listed as `known_not_affected` are shown as such
in the text and are never turned into `Affected` entries.

Caps (a CSAF file can name thousands of product ids; facts stay complete up to these):
`MAX_FACTS` vulnerabilities per advisory, `MAX_AFFECTED` products per vulnerability,
`MAX_VERSIONS` versions per product. The readable text is capped much lower ("and N more").
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from functools import lru_cache
from typing import Any, Final

from techwatch.clean import canonical_url, normalize_language, resolve_http_url
from techwatch.errors import ParseError
from techwatch.parse.advisory import advisory_item, as_dict, as_list, as_text, parse_timestamp
from techwatch.parse.cvss import best_cvss, parse_cvss
from techwatch.parse.jsondoc import load_json
from techwatch.types import Affected, CvssScore, ParsedFeed, ParsedItem, VulnFacts

MAX_FACTS: Final = 2_000
MAX_AFFECTED: Final = 500
MAX_VERSIONS: Final = 250
MAX_REFERENCES: Final = 50
MAX_ALIASES: Final = 20
MAX_PREFIX_CHARS: Final = 24
MAX_IDENTITY_CHARS: Final = 500
TEXT_PRODUCTS: Final = 12
TEXT_VULNS: Final = 25
TEXT_REMEDIATIONS: Final = 8
TEXT_NOTE_CHARS: Final = 2_000
TEXT_LINE_CHARS: Final = 400

AFFECTED_STATUSES: Final = ("first_affected", "known_affected", "last_affected")
FIXED_STATUSES: Final = ("first_fixed", "fixed")
NOT_AFFECTED_STATUSES: Final = ("known_not_affected",)
INVESTIGATED_STATUSES: Final = ("under_investigation",)

# Notes that CISA ICS advisories carry as "other"; one real file spells "infastructure".
_CONTEXT_NOTES: Final = (
    (re.compile(r"critical\s+inf\w*\s+sectors?", re.I), "Critical infrastructure sectors"),
    (re.compile(r"countries\s*/\s*areas\s+deployed", re.I), "Countries/areas deployed"),
    (re.compile(r"company\s+headquarters\s+location", re.I), "Company headquarters location"),
)
_SUMMARY_NOTE_CATEGORIES: Final = ("summary", "description")
_REMEDIATION_LABELS: Final = {
    "vendor_fix": "Vendor fix",
    "workaround": "Workaround",
    "mitigation": "Mitigation",
    "no_fix_planned": "No fix planned",
    "none_available": "No fix available",
}
_CVE: Final = re.compile(r"^CVE-\d{4}-\d{4,}$")
_CWE: Final = re.compile(r"^CWE-\d{1,6}$")
# A v2 vector has no prefix: the key it sits under says its version.
_VERSION_HINTS: Final[dict[str, str | None]] = {"cvss_v2": "2.0", "cvss_v3": None, "cvss_v4": "4.0"}


# --- defensive access: every field may hold the wrong type (RELIABILITY 25) -----------------


def _strings(value: object) -> list[str]:
    return list(filter(None, map(as_text, as_list(value))))


def _unique(values: Iterable[str]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(filter(None, values)))


def _clip(text: str, limit: int = TEXT_LINE_CHARS) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def _capped_lines(lines: list[str], limit: int) -> list[str]:
    """A bulleted list of at most `limit` lines, with "and N more" for the rest."""
    shown = [f"- {line}" for line in lines[:limit]]
    if len(lines) > limit:
        shown.append(f"- and {len(lines) - limit} more")
    return shown


# --- the product tree -----------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Product:
    """One product id of the tree, resolved to what a reader (and a matcher) needs."""

    vendor: str
    product: str
    version: str | None
    name: str
    cpe: str | None = None
    purl: str | None = None
    platform: _Product | None = None  # relationships: the product this one runs on / is part of
    combined_name: str = ""  # relationships: "X installed on Y", as the document names it

    @property
    def label(self) -> str:
        if self.combined_name:
            return self.combined_name
        base = self.name or " ".join(p for p in (self.vendor, self.product, self.version) if p)
        return f"{base} (on {self.platform.label})" if self.platform else base


@dataclass(slots=True)
class _Branch:
    """What the branches above a product say about it."""

    vendor: str = ""
    family: str = ""
    product: str = ""
    version: str = ""


_VERSION_CATEGORIES: Final = (
    "product_version",
    "product_version_range",
    "service_pack",
    "patch_level",
)


def _descend(branch: _Branch, category: str, name: str) -> _Branch:
    if category == "vendor":
        return _Branch(vendor=name, family=branch.family, product=branch.product, version="")
    if category == "product_family":
        return _Branch(branch.vendor, family=name, product=branch.product, version=branch.version)
    if category == "product_name":
        return _Branch(branch.vendor, branch.family, product=name, version=branch.version)
    if category in _VERSION_CATEGORIES:
        return _Branch(branch.vendor, branch.family, branch.product, version=name)
    return branch  # architecture, language, legacy...: not part of what identifies a product


def _leaf(
    full: Mapping[str, Any], branch: _Branch, fallback_vendor: str
) -> tuple[str, _Product] | None:
    """A `full_product_name` object (in a branch or at top level) as a product id and product."""
    product_id, name = as_text(full.get("product_id")), as_text(full.get("name"))
    if not product_id:
        return None
    helper = as_dict(full.get("product_identification_helper"))
    product = branch.product or branch.family or name
    # Without a product name above it, a version branch names the whole package (Red Hat's NEVRA).
    version = branch.version if (branch.product or branch.family) else ""
    return product_id, _Product(
        vendor=branch.vendor or fallback_vendor,
        product=product,
        version=version or None,
        name=name,
        cpe=as_text(helper.get("cpe")) or None,
        purl=as_text(helper.get("purl")) or None,
    )


def _walk_branches(
    branches: object, branch: _Branch, fallback: str
) -> Iterator[tuple[str, _Product]]:
    """Every product of a branch list; depth is bounded by load_json's nesting limit."""
    for node in as_list(branches):
        node = as_dict(node)
        inner = _descend(branch, as_text(node.get("category")), as_text(node.get("name")))
        leaf = _leaf(as_dict(node.get("product")), inner, fallback)
        if leaf:
            yield leaf
        yield from _walk_branches(node.get("branches"), inner, fallback)


def _product_index(tree: Mapping[str, Any], fallback_vendor: str) -> dict[str, _Product]:
    """product_id -> product, from branches, top-level full_product_names and relationships."""
    index: dict[str, _Product] = dict(
        _walk_branches(tree.get("branches"), _Branch(), fallback_vendor)
    )
    for full in as_list(tree.get("full_product_names")):
        leaf = _leaf(as_dict(full), _Branch(), fallback_vendor)
        if leaf:
            index.setdefault(*leaf)
    for relationship in as_list(tree.get("relationships")):
        resolved = _relationship(as_dict(relationship), index, fallback_vendor)
        if resolved:
            index.setdefault(*resolved)
    return index


def _relationship(
    relationship: Mapping[str, Any], index: Mapping[str, _Product], fallback_vendor: str
) -> tuple[str, _Product] | None:
    """A combined product ("firmware X installed on device Y") is the component X on platform Y."""
    leaf = _leaf(as_dict(relationship.get("full_product_name")), _Branch(), fallback_vendor)
    if not leaf:
        return None
    product_id, combined = leaf
    component = index.get(as_text(relationship.get("product_reference")))
    platform = index.get(as_text(relationship.get("relates_to_product_reference")))
    if component is None:
        return leaf
    return product_id, _Product(
        vendor=component.vendor,
        product=component.product,
        version=component.version,
        name=component.name,
        cpe=component.cpe,
        purl=component.purl,
        platform=platform,
        combined_name=combined.name,
    )


# --- product status -> Affected ------------------------------------------------------------


@dataclass(slots=True)
class _Gathered:
    versions: dict[str, None] = field(default_factory=dict)
    fixed: dict[str, None] = field(default_factory=dict)
    cpes: dict[str, None] = field(default_factory=dict)
    purl: str | None = None


@dataclass(frozen=True, slots=True)
class _Status:
    """A vulnerability's product_status, read once: product ids per kind of status."""

    affected: tuple[str, ...] = ()
    fixed: tuple[str, ...] = ()
    not_affected: tuple[str, ...] = ()
    investigated: tuple[str, ...] = ()

    def all_ids(self) -> Iterator[str]:
        yield from self.affected
        yield from self.fixed
        yield from self.not_affected
        yield from self.investigated


def _status(vulnerability: Mapping[str, Any]) -> _Status:
    status = as_dict(vulnerability.get("product_status"))

    def ids(categories: tuple[str, ...]) -> tuple[str, ...]:
        return _unique(pid for c in categories for pid in _strings(status.get(c)))

    return _Status(
        affected=ids(AFFECTED_STATUSES),
        fixed=ids(FIXED_STATUSES),
        not_affected=ids(NOT_AFFECTED_STATUSES),
        investigated=ids(INVESTIGATED_STATUSES),
    )


def _affected(status: _Status, index: Mapping[str, _Product]) -> tuple[Affected, ...]:
    """Affected entries for the affected and fixed products; not-affected ones never appear."""
    gathered: dict[tuple[str, str], _Gathered] = {}
    for product in (index[p] for p in status.affected if p in index):
        entry = _gather(gathered, product)
        if product.version and len(entry.versions) < MAX_VERSIONS:
            entry.versions[product.version] = None
        if product.platform:  # the device or distribution that carries the flaw is affected too
            _gather(gathered, product.platform)
    for product in (index[p] for p in status.fixed if p in index):
        entry = _gather(gathered, product)
        fixed = product.version or (product.name if _names_version(product) else "")
        if fixed and len(entry.fixed) < MAX_VERSIONS:
            entry.fixed[fixed] = None
    return tuple(
        Affected(
            vendor=vendor,
            product=name,
            versions=tuple(entry.versions),
            fixed=tuple(entry.fixed),
            cpes=tuple(entry.cpes),
            purl=entry.purl,
        )
        for (vendor, name), entry in list(gathered.items())[:MAX_AFFECTED]
    )


def _names_version(product: _Product) -> bool:
    """A versionless product whose own name carries the version (Red Hat's package NEVRA)."""
    return product.name == product.product and any(c.isdigit() for c in product.name)


def _gather(gathered: dict[tuple[str, str], _Gathered], product: _Product) -> _Gathered:
    entry = gathered.setdefault((product.vendor, product.product), _Gathered())
    if product.cpe and len(entry.cpes) < MAX_VERSIONS:
        entry.cpes[product.cpe] = None
    entry.purl = entry.purl or product.purl
    return entry


@dataclass(frozen=True, slots=True)
class _Vuln:
    """One vulnerability object of the document and its product status, read once."""

    record: Mapping[str, Any]
    status: _Status


# --- CVSS ------------------------------------------------------------------------------------


def _scores(vulnerability: Mapping[str, Any], source: str | None) -> tuple[CvssScore, ...]:
    found: dict[tuple[str, str | None], CvssScore] = {}
    for score in as_list(vulnerability.get("scores")):
        for key in ("cvss_v4", "cvss_v3", "cvss_v2"):
            if isinstance(as_dict(score).get(key), dict):
                stated = score[key]
                cvss = parse_cvss(
                    stated.get("vectorString"),
                    version_hint=as_text(stated.get("version")) or _VERSION_HINTS[key],
                    stated_score=stated.get("baseScore"),
                    source=source,
                )
                found.setdefault((cvss.version, cvss.vector), cvss)
    return tuple(found.values())


# --- one vulnerability -----------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Document:
    """What every vulnerability of one advisory shares."""

    tracking_id: str
    publisher: str
    published: datetime | None
    modified: datetime | None
    index: Mapping[str, _Product]


def _vuln_id(
    vulnerability: Mapping[str, Any], position: int, doc: _Document
) -> tuple[str, tuple[str, ...]]:
    """The CVE id when stated, else the first of the format's ids, else the advisory's id + rank."""
    cve = as_text(vulnerability.get("cve")).upper()
    ids = [as_text(as_dict(i).get("text")) for i in as_list(vulnerability.get("ids"))]
    ids = [i for i in ids if i and len(i) <= 200]
    vuln_id = cve or (ids[0] if ids else f"{doc.tracking_id}#{position + 1}")
    aliases = tuple(i for i in _unique(ids) if i != vuln_id)[:MAX_ALIASES]
    return vuln_id, aliases


def _description(notes: object) -> str | None:
    texts = [
        as_text(as_dict(n).get("text"))
        for wanted in ("description", "summary", "details", "general")
        for n in as_list(notes)
        if as_text(as_dict(n).get("category")) == wanted
    ]
    return "\n\n".join(_unique(texts)) or None


def _cwes(vulnerability: Mapping[str, Any]) -> tuple[str, ...]:
    """CSAF 2.0 states one `cwe`; CSAF 2.1 a `cwes` list: both are read."""
    stated = [vulnerability.get("cwe"), *as_list(vulnerability.get("cwes"))]
    ids = (as_text(as_dict(c).get("id")).upper() for c in stated)
    return _unique(i for i in ids if _CWE.match(i))


@lru_cache(maxsize=4096)
def _http_url(text: str) -> str | None:
    """An absolute http(s) URL or None; cached, as ICS advisories repeat the same links."""
    return resolve_http_url(text, None) if text else None


def _references(value: object) -> tuple[str, ...]:
    urls = (_http_url(as_text(as_dict(r).get("url"))) for r in as_list(value))
    return _unique(u for u in urls if u)[:MAX_REFERENCES]


def _vuln_facts(vuln: _Vuln, position: int, doc: _Document) -> VulnFacts:
    vulnerability = vuln.record
    vuln_id, aliases = _vuln_id(vulnerability, position, doc)
    return VulnFacts(
        vuln_id=vuln_id,
        aliases=aliases,
        title=as_text(vulnerability.get("title")) or None,
        description=_description(vulnerability.get("notes")),
        published=parse_timestamp(vulnerability.get("release_date")) or doc.published,
        modified=doc.modified,
        cvss=_scores(vulnerability, doc.publisher or None),
        cwes=_cwes(vulnerability),
        affected=_affected(vuln.status, doc.index),
        references=_references(vulnerability.get("references")),
    )


# --- the readable text -----------------------------------------------------------------------


def _document_notes(notes: object) -> tuple[list[str], list[str]]:
    """(summary paragraphs, context lines such as "Critical infrastructure sectors: Energy")."""
    summaries: list[str] = []
    context: dict[str, str] = {}
    for note in (as_dict(n) for n in as_list(notes)):
        text, title = as_text(note.get("text")), as_text(note.get("title"))
        label = next((name for pattern, name in _CONTEXT_NOTES if pattern.fullmatch(title)), None)
        if label and text:
            context.setdefault(label, _clip(text))
        elif as_text(note.get("category")) in _SUMMARY_NOTE_CATEGORIES and text:
            summaries.append(_clip(text, TEXT_NOTE_CHARS))
    ordered = [f"{name}: {context[name]}" for _, name in _CONTEXT_NOTES if name in context]
    return list(_unique(summaries)), ordered


def _product_lines(vulns: list[_Vuln], kind: str, doc: _Document) -> list[str]:
    """Readable names of the products with one kind of status, across all vulnerabilities."""
    ids = _unique(pid for v in vulns for pid in getattr(v.status, kind))
    return list(_unique(doc.index[p].label if p in doc.index else p for p in ids))


def _not_affected_lines(vulns: list[_Vuln], doc: _Document) -> list[str]:
    """'ABC 4.2: CVE-2021-44228 (vulnerable code not present)': per product, the CVEs it is not
    affected by and why, since a product may be affected by one CVE and not by another."""
    per_product: dict[str, dict[str, None]] = {}
    why: dict[str, str] = {}
    for position, vuln in enumerate(vulns):
        vuln_id, _ = _vuln_id(vuln.record, position, doc)
        for pid in vuln.status.not_affected:
            per_product.setdefault(pid, {})[vuln_id] = None
        why.update(_justifications(vuln.record, why))
    lines = []
    for pid, vuln_ids in per_product.items():
        label = doc.index[pid].label if pid in doc.index else pid
        reason = f" ({why[pid]})" if pid in why else ""
        lines.append(f"{label}: {', '.join(list(vuln_ids)[:TEXT_VULNS])}{reason}")
    return lines


def _justifications(record: Mapping[str, Any], known: Mapping[str, str]) -> dict[str, str]:
    """product id -> VEX flag label ("component not present"...); the first one stated wins."""
    found: dict[str, str] = {}
    for flag in (as_dict(f) for f in as_list(record.get("flags"))):
        label = as_text(flag.get("label")).replace("_", " ")
        for pid in _strings(flag.get("product_ids")) if label else ():
            if pid not in known:
                found.setdefault(pid, label)
    return found


def _vuln_line(facts: VulnFacts) -> str:
    parts = [facts.vuln_id]
    best = best_cvss(facts.cvss)
    if best:
        parts.append(f"CVSS {best.version} {best.base_score:g} {best.severity or ''}".rstrip())
    parts.extend(facts.cwes)
    head = " · ".join(parts)
    about = facts.title if facts.title and facts.title != facts.vuln_id else facts.description
    return f"{head}: {_clip(about)}" if about else head


def _remediation_lines(vulns: list[_Vuln]) -> list[str]:
    """What to do, deduplicated across vulnerabilities (ICS advisories repeat it per CVE),
    vendor fixes first."""
    found: dict[str, dict[str, None]] = {category: {} for category in _REMEDIATION_LABELS}
    for remediation in (as_dict(r) for v in vulns for r in as_list(v.record.get("remediations"))):
        category, details = (
            as_text(remediation.get("category")),
            as_text(remediation.get("details")),
        )
        if category in found and details:
            link = _http_url(as_text(remediation.get("url")))
            line = f"{_REMEDIATION_LABELS[category]}: {_clip(details)}"
            found[category][f"{line} ({link})" if link else line] = None
    return [line for lines in found.values() for line in lines]


def _text(
    document: Mapping[str, Any], vulns: list[_Vuln], facts: tuple[VulnFacts, ...], doc: _Document
) -> str:
    summaries, context = _document_notes(document.get("notes"))
    sections = [*summaries, "\n".join(context)]
    for heading, kind in (
        ("Affected products", "affected"),
        ("Fixed products", "fixed"),
        ("Not affected", "not_affected"),
        ("Under investigation", "investigated"),
    ):
        if kind == "not_affected":
            lines = _not_affected_lines(vulns, doc)
        else:
            lines = _product_lines(vulns, kind, doc)
        if lines:
            sections.append("\n".join([f"{heading}:", *_capped_lines(lines, TEXT_PRODUCTS)]))
    if facts:
        lines = [_vuln_line(f) for f in facts]
        sections.append("\n".join(["Vulnerabilities:", *_capped_lines(lines, TEXT_VULNS)]))
    remedies = _remediation_lines(vulns)
    if remedies:
        sections.append("\n".join(["What to do:", *_capped_lines(remedies, TEXT_REMEDIATIONS)]))
    sections.append(_provenance(document, doc))
    return "\n\n".join(s for s in sections if s)


def _provenance(document: Mapping[str, Any], doc: _Document) -> str:
    tracking = as_dict(document.get("tracking"))
    version, status = as_text(tracking.get("version")), as_text(tracking.get("status"))
    detail = ", ".join(p for p in (f"version {version}" if version else "", status) if p)
    category = as_text(document.get("category"))
    line = f"Advisory {doc.tracking_id}" + (f" ({detail})" if detail else "")
    line += f" by {doc.publisher}" if doc.publisher else ""
    return line + (f", CSAF category {category}." if category else ".")


# --- the document ----------------------------------------------------------------------------


def parse_csaf(
    source_id: str,
    body: bytes,
    *,
    url: str,
    fetched_at: datetime,
    declared_language: str | None = None,
) -> ParsedFeed:
    """One CSAF 2.0 advisory -> one item with one VulnFacts per vulnerability it states.

    Fails (malformed_advisory) only when the document is not CSAF: no `document` object, no
    `document.tracking.id` or no `document.publisher.namespace`, the identity's two parts.
    `fetched_at` is unused: a CSAF document dates itself.
    """
    del fetched_at
    root = load_json(body, source_id=source_id, url=url)
    document = _require_document(root, source_id, url)
    doc, namespace = _read_header(root, document, source_id, url)
    vulns, warnings = _vulnerabilities(root.get("vulnerabilities"), doc.tracking_id)
    facts = _all_facts(vulns, doc, warnings)
    warnings.extend(_unknown_products(vulns, doc))
    language = (
        normalize_language(as_text(document.get("lang")))
        or normalize_language(declared_language)
        or "en"
    )
    title = as_text(document.get("title")) or doc.tracking_id
    item = advisory_item(
        source_id,
        identity=f"csaf:{namespace}:{doc.tracking_id}",
        title=_title(title, doc.tracking_id, doc.publisher, as_text(document.get("category"))),
        text=_text(document, vulns, facts, doc),
        url=_item_url(document, url),
        published=doc.published or doc.modified,
        language=language,
        facts=facts,
    )
    return ParsedFeed(
        source_id=source_id,
        items=(item,),
        entries_total=1,
        title=title,
        language=language,
        warnings=tuple(warnings),
    )


def _require_document(root: object, source_id: str, url: str) -> Mapping[str, Any]:
    if isinstance(root, dict) and isinstance(root.get("document"), dict):
        return root["document"]
    if isinstance(root, dict) and isinstance(root.get("feed"), dict):
        raise _malformed("a ROLIE feed, not a CSAF advisory (use parse_rolie_feed)", source_id, url)
    raise _malformed("not a CSAF advisory: no 'document' object", source_id, url)


def _read_header(
    root: Mapping[str, Any], document: Mapping[str, Any], source_id: str, url: str
) -> tuple[_Document, str]:
    """What all vulnerabilities share, and the publisher namespace (half of the identity)."""
    tracking, publisher = as_dict(document.get("tracking")), as_dict(document.get("publisher"))
    tracking_id, namespace = as_text(tracking.get("id")), _namespace(publisher.get("namespace"))
    if not tracking_id or not namespace:
        missing = "document.tracking.id" if not tracking_id else "document.publisher.namespace"
        raise _malformed(f"not a CSAF advisory: no {missing}", source_id, url)
    if len(tracking_id) + len(namespace) > MAX_IDENTITY_CHARS:
        raise _malformed(f"identity longer than {MAX_IDENTITY_CHARS} characters", source_id, url)
    name = as_text(publisher.get("name"))
    # Products named outside any vendor branch belong to the publisher when it is the vendor.
    fallback_vendor = name if as_text(publisher.get("category")) == "vendor" else ""
    doc = _Document(
        tracking_id=tracking_id,
        publisher=name,
        published=parse_timestamp(tracking.get("initial_release_date")),
        modified=parse_timestamp(tracking.get("current_release_date")),
        index=_product_index(as_dict(root.get("product_tree")), fallback_vendor),
    )
    return doc, namespace


def _namespace(value: object) -> str:
    """The publisher namespace as an identity part: 'https://x.org/' and 'https://x.org' agree."""
    text = as_text(value)
    return (canonical_url(text) or text).rstrip("/")


def _vulnerabilities(value: object, tracking_id: str) -> tuple[list[_Vuln], list[str]]:
    records = as_list(value)
    warnings = [
        f"{tracking_id}: vulnerability #{i + 1} skipped: not an object"
        for i, v in enumerate(records)
        if not isinstance(v, dict)
    ]
    kept = [v for v in records if isinstance(v, dict)]
    if len(kept) > MAX_FACTS:
        warnings.append(
            f"{tracking_id}: {len(kept) - MAX_FACTS} vulnerabilities beyond {MAX_FACTS} skipped"
        )
    return [_Vuln(v, _status(v)) for v in kept[:MAX_FACTS]], warnings


def _all_facts(vulns: list[_Vuln], doc: _Document, warnings: list[str]) -> tuple[VulnFacts, ...]:
    """One VulnFacts per vulnerability; a CVE stated twice keeps its first statement."""
    facts: dict[str, VulnFacts] = {}
    for position, vuln in enumerate(vulns):
        stated = _vuln_facts(vuln, position, doc)
        if stated.vuln_id in facts:
            warnings.append(f"{doc.tracking_id}: {stated.vuln_id} stated twice, second skipped")
            continue
        facts[stated.vuln_id] = stated
    return tuple(facts.values())


def _unknown_products(vulns: list[_Vuln], doc: _Document) -> list[str]:
    unknown = _unique(pid for v in vulns for pid in v.status.all_ids() if pid not in doc.index)
    if not unknown:
        return []
    sample = ", ".join(unknown[:5])
    return [f"{doc.tracking_id}: {len(unknown)} product ids not in the product tree ({sample})"]


def _title(title: str, tracking_id: str, publisher: str, category: str) -> str:
    """'CISA: Rockwell Automation FactoryTalk Activation (ICSA-24-004-01)'; the publisher is
    left out when the title already names it (vendors) or when its name is too long to help."""
    lowered = title.lower()
    named = not publisher or publisher.split()[0].lower() in lowered
    prefix = "" if named or len(publisher) > MAX_PREFIX_CHARS else publisher
    if category == "csaf_vex" and "vex" not in lowered:
        prefix = f"{prefix} VEX".strip()
    suffix = "" if tracking_id.lower() in title.lower() else f" ({tracking_id})"
    return f"{prefix}: {title}{suffix}" if prefix else f"{title}{suffix}"


def _item_url(document: Mapping[str, Any], fetched_url: str) -> str | None:
    """The advisory's human-readable page when it names one, else the document's own URL."""
    selves = [
        _http_url(as_text(as_dict(r).get("url")))
        for r in as_list(document.get("references"))
        if as_text(as_dict(r).get("category")) == "self"
    ]
    selves = [s for s in selves if s]
    pages = [s for s in selves if not s.lower().endswith(".json")]
    return (pages or selves or [resolve_http_url(fetched_url, None)])[0]


def _malformed(message: str, source_id: str, url: str) -> ParseError:
    return ParseError(message, kind="malformed_advisory", source_id=source_id, url=url)


# --- ROLIE ---------------------------------------------------------------------------------


def parse_rolie_feed(
    body: bytes, *, url: str, source_id: str = ""
) -> list[tuple[str, datetime | None]]:
    """The advisories a ROLIE feed lists: (https URL, updated), so that the caller can fetch the
    ones that changed since the last run. Entries without an https link are left out: CSAF
    trusted providers must serve over TLS, and anything else is not worth following.
    """
    root = load_json(body, source_id=source_id, url=url)
    feed = as_dict(as_dict(root).get("feed"))
    if not isinstance(feed.get("entry"), list):
        raise _malformed("not a ROLIE feed: no feed.entry list", source_id, url)
    listed: dict[str, datetime | None] = {}
    for entry in (as_dict(e) for e in feed["entry"]):
        link = _entry_link(entry, url)
        if link and link not in listed:
            listed[link] = parse_timestamp(entry.get("updated")) or parse_timestamp(
                entry.get("published")
            )
    return list(listed.items())


def _entry_link(entry: Mapping[str, Any], base: str) -> str | None:
    hrefs = [
        as_text(as_dict(link).get("href"))
        for link in as_list(entry.get("link"))
        if as_text(as_dict(link).get("rel")) == "self"
    ]
    hrefs.append(as_text(as_dict(entry.get("content")).get("src")))
    for href in hrefs:
        resolved = resolve_http_url(href, base) if href else None
        if resolved and resolved.lower().startswith("https://"):
            return resolved
    return None


def item_sectors(item: ParsedItem) -> tuple[str, ...]:
    """The critical infrastructure sectors a CISA ICS advisory's text states, for classifiers."""
    for line in item.text.splitlines():
        if line.startswith("Critical infrastructure sectors:"):
            return tuple(s.strip() for s in line.split(":", 1)[1].split(",") if s.strip())
    return ()
