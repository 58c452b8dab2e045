"""CERT-FR avis and alertes in their JSON form (cert.ssi.gouv.fr/<kind>/<reference>/json/).

CERT-FR writes in French and does not map systems to CVEs: an avis lists risks, affected
systems (vendor + a French description such as "Firefox versions antérieures à 134") and a CVE
list. Each CVE therefore gets every affected system of the avis. An alerte means active
exploitation or an imminent threat; VulnFacts has no exploitation field, so this is stated
in `ssvc` as ("Exploitation", "active"), the SSVC decision point that means the same.

Caps: `MAX_FACTS` CVEs per document (the largest real avis lists 1,924), `MAX_AFFECTED`
systems per document (the largest lists 140); the text shows far fewer ("et N autres").
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Final

from techwatch.clean import normalize_language, resolve_http_url
from techwatch.errors import ParseError
from techwatch.parse.advisory import advisory_item, as_dict, as_list, as_text, parse_timestamp
from techwatch.parse.cve_ids import all_cve_ids
from techwatch.parse.jsondoc import load_json
from techwatch.types import Affected, ParsedFeed, ParsedItem, SharedFacts, VulnFacts

MAX_FACTS: Final = 5_000
MAX_AFFECTED: Final = 500
MAX_REFERENCES: Final = 50
MAX_REFERENCE_CHARS: Final = 100
TEXT_SYSTEMS: Final = 15
TEXT_CVES: Final = 30
TEXT_ADVISORIES: Final = 8
SITE: Final = "https://www.cert.ssi.gouv.fr"
EXPLOITED: Final = (("Exploitation", "active"),)

_REFERENCE: Final = re.compile(r"^CERT(?:FR|A)-\d{4}-([A-Z]{2,4})-\d{3,6}$")
_PAGES: Final = {"AVI": "avis", "ALE": "alerte", "ACT": "actualite", "IOC": "ioc", "CTI": "cti"}
_CVE: Final = re.compile(r"^CVE-\d{4}-\d{4,}$")
# "EDR-810 Series versions antérieures à 3.14" -> product "EDR-810 Series", versions "< 3.14".
_VERSION_PART: Final = re.compile(
    r"\s+(?=s?versions?\b|toutes\s+versions\b|sans\s+les?\b|antérieures?\s+à\b)", re.I
)
_BEFORE: Final = re.compile(r"^s?versions?\s+antérieures?\s+à\s+(\S+)$", re.I)
_HEADING: Final = re.compile(r"^#+\s*", re.M)
# A plain absolute link (host of letters, digits, dots, hyphens; no port, no user info, no
# space) needs no further checking: tens of thousands of cve.org links per run go this way.
_PLAIN_URL: Final = re.compile(r"https?://[A-Za-z0-9.-]+(?:[/?][^\s\x00-\x1f\x7f]*)?")
_PLAIN_URL_LINES: Final = re.compile(rf"(?:{_PLAIN_URL.pattern}\n)*{_PLAIN_URL.pattern}")


# --- defensive access: every field may hold the wrong type (RELIABILITY 25) -----------------


def _unique(values: Iterable[str]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(filter(None, values)))


def _capped_lines(lines: list[str], limit: int) -> list[str]:
    shown = [f"- {line}" for line in lines[:limit]]
    if len(lines) > limit:
        shown.append(f"- et {len(lines) - limit} autres")
    return shown


def _cve_ids(values: Iterable[str]) -> tuple[str, ...]:
    return _unique(v.upper() for v in values if _CVE.match(v.upper()))


def _http_url(text: str) -> str | None:
    """An absolute http(s) URL or None, with a fast path for plain links."""
    if _PLAIN_URL.fullmatch(text):
        return text
    return resolve_http_url(text, None) if text else None


def _malformed(message: str, source_id: str, url: str) -> ParseError:
    return ParseError(message, kind="malformed_advisory", source_id=source_id, url=url)


def page_url(reference: str) -> str | None:
    """The HTML page of a CERT-FR publication: CERTFR-2025-AVI-0001 -> <site>/avis/<ref>/."""
    match = _REFERENCE.match(reference)
    page = _PAGES.get(match.group(1)) if match else None
    return f"{SITE}/{page}/{reference}/" if page else None


# --- affected systems ------------------------------------------------------------------------


def _affected_system(system: Mapping[str, Any]) -> Affected | None:
    """vendor + product; the French version phrase kept readable ("< 3.14" when it is simple).

    When CERT-FR names the product ("Firefox"), the description's head ("Firefox ESR") stays
    in the version text, since it says which edition is affected.
    """
    product = as_dict(system.get("product"))
    vendor = as_text(as_dict(product.get("vendor")).get("name"))
    description = as_text(system.get("description"))
    named = as_text(product.get("name"))
    named = "" if named.upper() == "N/A" else named
    head, _, phrase = _VERSION_PART.sub("\x00", description, count=1).partition("\x00")
    before = _BEFORE.match(phrase)
    version = f"< {before.group(1)}" if before else phrase
    if named and head and head.casefold() != named.casefold():
        version = f"{head} {version}".strip()
    name = named or head
    if not name and not vendor:
        return None
    return Affected(vendor=vendor, product=name or vendor, versions=(version,) if version else ())


def _affected(systems: list[Mapping[str, Any]]) -> tuple[Affected, ...]:
    found = (_affected_system(s) for s in systems[:MAX_AFFECTED])
    return tuple(dict.fromkeys(a for a in found if a))


def _system_line(system: Mapping[str, Any]) -> str:
    product = as_dict(system.get("product"))
    vendor = as_text(as_dict(product.get("vendor")).get("name"))
    description = as_text(system.get("description")) or as_text(product.get("name"))
    return f"{vendor} : {description}" if vendor and description else vendor or description


def _scada_vendors(systems: list[Mapping[str, Any]]) -> tuple[str, ...]:
    return _unique(
        as_text(as_dict(as_dict(s.get("product")).get("vendor")).get("name"))
        for s in systems
        if as_dict(as_dict(s.get("product")).get("vendor")).get("scada") is True
    )


@dataclass(frozen=True, slots=True)
class _Shared:
    """What every CVE of one avis shares: CERT-FR states nothing per CVE."""

    published: datetime | None
    modified: datetime | None
    affected: tuple[Affected, ...]
    ssvc: tuple[tuple[str, str], ...]
    references: tuple[str, ...]


# --- one avis / alerte -----------------------------------------------------------------------


def parse_certfr(
    source_id: str,
    body: bytes,
    *,
    url: str,
    fetched_at: datetime,
    declared_language: str | None = None,
) -> ParsedFeed:
    """One CERT-FR avis or alerte (JSON form) -> one item, one VulnFacts per CVE it lists.

    Fails (malformed_advisory) when the document has no `reference` or no `title`; the text
    stays in French, as published. `fetched_at` is unused: revisions date the document.
    """
    del fetched_at
    root = load_json(body, source_id=source_id, url=url)
    document = as_dict(root)
    reference, title = as_text(document.get("reference")), as_text(document.get("title"))
    if not reference or not title:
        missing = "reference" if not reference else "title"
        raise _malformed(f"not a CERT-FR publication: no {missing}", source_id, url)
    if len(reference) > MAX_REFERENCE_CHARS:
        raise _malformed(f"reference longer than {MAX_REFERENCE_CHARS} characters", source_id, url)
    warnings: list[str] = []
    systems = _records(document.get("affected_systems"), "affected system", reference, warnings)
    revisions = _revision_dates(document.get("revisions"))
    cves, links = _listed_cves(document.get("cves"), reference, warnings)
    alerte = "-ALE-" in reference
    shared = _Shared(
        published=revisions[0] if revisions else None,
        modified=revisions[-1] if revisions else None,
        affected=_affected(systems),
        ssvc=EXPLOITED if alerte else (),
        references=_vendor_links(document.get("vendor_advisories")),
    )
    facts = SharedFacts(_template(shared), cves, links)
    language = normalize_language(declared_language) or "fr"
    kind = "alerte" if alerte else "avis"
    item = advisory_item(
        source_id,
        identity=f"certfr:{reference}",
        title=f"CERT-FR {kind} : {title} ({reference})",
        text=_text(document, systems, cves, alerte),
        url=page_url(reference) or resolve_http_url(url, None),
        published=shared.published,
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


def _records(
    value: object, what: str, reference: str, warnings: list[str]
) -> list[Mapping[str, Any]]:
    records = as_list(value)
    broken = sum(1 for r in records if not isinstance(r, dict))
    if broken:
        warnings.append(f"{reference}: {broken} {what} record(s) skipped: not objects")
    return [r for r in records if isinstance(r, dict)]


def _revision_dates(value: object) -> list[datetime]:
    return sorted(
        d for d in (parse_timestamp(as_dict(r).get("revision_date")) for r in as_list(value)) if d
    )


def _listed_cves(
    value: object, reference: str, warnings: list[str]
) -> tuple[tuple[str, ...], tuple[str | None, ...]]:
    """The well-formed CVE ids of the `cves` list and their cve.org links, first mention kept."""
    records = as_list(value)
    found = _plain_cves(records)
    if found is None:
        found = _checked_cves(records, reference, warnings)
    if len(found) > MAX_FACTS:
        warnings.append(f"{reference}: {len(found) - MAX_FACTS} CVEs beyond {MAX_FACTS} skipped")
    return tuple(found)[:MAX_FACTS], tuple(found.values())[:MAX_FACTS]


def _plain_cves(records: list[Any]) -> dict[str, str | None] | None:
    """`_checked_cves` of a list as CERT-FR writes it, or None when it is not: every record
    an object whose name is a CVE id as stored and whose link is plain, each checked by one
    regex pass over them all: the real avis' 55k CVEs took ~0.11 s of CPU record by record,
    ~0.06 s so."""
    try:
        names = [record["name"] for record in records]
        links = "\n".join([record["url"] for record in records])
        if not all_cve_ids(names) or not _PLAIN_URL_LINES.fullmatch(links):
            return None
    except (KeyError, TypeError):  # not an object, a field missing or not a string
        return None
    urls: list[str | None] = list(links.split("\n"))
    if len(urls) != len(names):  # a link holding a line break
        return None
    found = dict(zip(names, urls, strict=True))
    if len(found) < len(names):  # a CVE listed twice: dict() kept its last link
        first = dict(zip(reversed(names), reversed(urls), strict=True))
        found = {name: first[name] for name in found}
    return found


def _checked_cves(records: list[Any], reference: str, warnings: list[str]) -> dict[str, str | None]:
    """(CVE id, cve.org link) for each well-formed CVE of the `cves` list, first mention kept."""
    found: dict[str, str | None] = {}
    bad = 0
    for record in records:
        name = as_text(as_dict(record).get("name")).upper() if isinstance(record, dict) else ""
        if not _CVE.match(name):
            bad += 1
            continue
        found.setdefault(name, _http_url(as_text(record.get("url"))))
    if bad:
        warnings.append(f"{reference}: {bad} CVE record(s) skipped: no valid CVE id")
    return found


def _vendor_links(value: object) -> tuple[str, ...]:
    urls = (_http_url(as_text(as_dict(a).get("url"))) for a in as_list(value))
    return _unique(u for u in urls if u)[:MAX_REFERENCES]


def _template(shared: _Shared) -> VulnFacts:
    """What each CVE of the avis states: the same fact but for its id and its own link (the
    CVE's cve.org page, put before the vendor links unless it is one of them)."""
    return VulnFacts(
        vuln_id="",
        published=shared.published,
        modified=shared.modified,
        affected=shared.affected,
        ssvc=shared.ssvc,
        references=shared.references,
    )


def _text(
    document: Mapping[str, Any],
    systems: list[Mapping[str, Any]],
    cves: tuple[str, ...],
    alerte: bool,
) -> str:
    sections = [
        "Alerte : le CERT-FR signale une exploitation active ou une menace imminente."
        if alerte
        else "",
        as_text(document.get("summary")),
        _bullets(
            "Risques",
            [as_text(as_dict(r).get("description")) for r in as_list(document.get("risks"))],
            10,
        ),
        _bullets("Systèmes affectés", [_system_line(s) for s in systems], TEXT_SYSTEMS),
        as_text(document.get("affected_systems_content")),
        _scada_line(systems),
        _HEADING.sub("", as_text(document.get("content"))),
        _bullets(
            "Bulletins de l'éditeur",
            _advisory_lines(document.get("vendor_advisories")),
            TEXT_ADVISORIES,
        ),
        _cve_line(cves),
    ]
    return "\n\n".join(s for s in sections if s)


def _bullets(heading: str, lines: list[str], limit: int) -> str:
    lines = list(_unique(lines))
    return "\n".join([f"{heading} :", *_capped_lines(lines, limit)]) if lines else ""


def _scada_line(systems: list[Mapping[str, Any]]) -> str:
    vendors = _scada_vendors(systems)
    return f"Systèmes industriels (SCADA) : {', '.join(vendors)}" if vendors else ""


def _advisory_lines(value: object) -> list[str]:
    lines = []
    for advisory in (as_dict(a) for a in as_list(value)):
        title, link = as_text(advisory.get("title")), _http_url(as_text(advisory.get("url")))
        when = as_text(advisory.get("published_at"))[:10]
        label = f"{title} ({when})" if title and when else title or when
        lines.append(f"{label} : {link}" if label and link else label or link or "")
    return lines


def _cve_line(cves: tuple[str, ...]) -> str:
    if not cves:
        return ""
    shown = ", ".join(cves[:TEXT_CVES])
    more = f" et {len(cves) - TEXT_CVES} autres" if len(cves) > TEXT_CVES else ""
    return f"CVE : {shown}{more}"


# --- the index of alertes --------------------------------------------------------------------


def parse_certfr_alertes_index(
    source_id: str,
    body: bytes,
    *,
    url: str,
    fetched_at: datetime,
    declared_language: str | None = None,
) -> ParsedFeed:
    """A list of CERT-FR alertes with their CVEs ([{"alert", "published_at", "cves"}...]) ->
    one item per alerte, each CVE marked as actively exploited.

    Fails (malformed_advisory) unless the document is a JSON list; broken records are skipped
    with a warning naming them.
    """
    del fetched_at
    root = load_json(body, source_id=source_id, url=url)
    if not isinstance(root, list):
        raise _malformed("not a list of CERT-FR alertes", source_id, url)
    language = normalize_language(declared_language) or "fr"
    items: dict[str, ParsedItem] = {}
    warnings: list[str] = []
    for position, record in enumerate(root):
        item = _alerte_item(source_id, record, language)
        if item is None:
            warnings.append(f"alerte #{position + 1} skipped: no valid 'alert' reference")
        elif item.identity in items:
            warnings.append(f"{item.identity}: listed twice, second skipped")
        else:
            items[item.identity] = item
    return ParsedFeed(
        source_id=source_id,
        items=tuple(items.values()),
        entries_total=len(root),
        title="CERT-FR : alertes",
        language=language,
        warnings=tuple(warnings),
    )


def _alerte_item(source_id: str, record: object, language: str) -> ParsedItem | None:
    record = as_dict(record)
    reference = as_text(record.get("alert"))
    if not _REFERENCE.match(reference):
        return None
    published = parse_timestamp(record.get("published_at"))
    cves = _cve_ids(as_text(c) for c in as_list(record.get("cves")))[:MAX_FACTS]
    link = page_url(reference)
    template = VulnFacts(
        vuln_id="", published=published, ssvc=EXPLOITED, references=(link,) if link else ()
    )
    facts = SharedFacts(template, cves, (None,) * len(cves))
    return advisory_item(
        source_id,
        identity=f"certfr:{reference}",
        title=f"CERT-FR alerte : exploitation active {_cve_summary(cves)}({reference})",
        text=_alerte_text(reference, cves, link),
        url=link,
        published=published,
        language=language,
        facts=facts,
    )


def _cve_summary(cves: tuple[str, ...]) -> str:
    if not cves:
        return ""
    if len(cves) == 1:
        return f"de {cves[0]} "
    return f"de {cves[0]} et {len(cves) - 1} autre{'s' if len(cves) > 2 else ''} CVE "


def _alerte_text(reference: str, cves: tuple[str, ...], link: str | None) -> str:
    lines = [
        f"Le CERT-FR a publié l'alerte {reference} : une alerte signale une exploitation "
        "active ou une menace imminente ; appliquer les correctifs ou mesures de contournement "
        "sans délai.",
        _cve_line(cves),
        f"Détails : {link}" if link else "",
    ]
    return "\n\n".join(line for line in lines if line)
