"""CVE records in the CVE JSON 5.x format (cve.org, cvelistV5, CISA vulnrichment).

One record is one vulnerability: the CNA container says what is affected and how bad it is; the
ADP containers add what others know. CISA's ADP ("Vulnrichment") brings SSVC decision points,
CVSS and CWE where the CNA gave none, CPE-based affected entries, and KEV membership. Facts keep
both, each CVSS score labelled with who gave it; the text a consultant reads shows the CNA's view
first and the ADP's additions after it.

Accepted documents: one record; a JSON list of records; or a bundle object with the records under
"cveRecords" or "vulnerabilities" (the shape of delta dumps and of our own backfill exports).
REJECTED and RESERVED records yield no item, only a warning; so does a record too broken to name.

The text helpers below (`vuln_text`, `affected_line`, `cvss_score`, the `as_*` field readers)
are shared with the NVD and OSV parsers, which state the same kind of facts.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Sequence
from datetime import datetime
from typing import Any, Final

from techwatch.clean import normalize_language, truncate
from techwatch.errors import ParseError
from techwatch.parse.advisory import (
    advisory_item,
    as_dict,
    as_list,
    as_str,
    parse_date,
    parse_timestamp,
)
from techwatch.parse.cvss import parse_cvss
from techwatch.parse.jsondoc import load_json
from techwatch.types import (
    Affected,
    CvssScore,
    KevEntry,
    ParsedFeed,
    ParsedItem,
    VulnFacts,
    product_label,
)

# Caps on what facts keep, so that one hostile record cannot make an item of megabytes; far
# above what real records state (the largest real CVE record lists 43 products).
MAX_AFFECTED: Final = 500
MAX_VERSIONS: Final = 500
MAX_CPES: Final = 500
MAX_CVSS: Final = 20
MAX_CWES: Final = 50
MAX_REFERENCES: Final = 200
MAX_TEXT_CHARS: Final = 20_000  # per description or solution kept in facts
# What the text shows before "and N more".
TEXT_PRODUCTS: Final = 10
TEXT_VERSIONS: Final = 5
TEXT_REFERENCES: Final = 5
TITLE_SUMMARY_CHARS: Final = 120
MAX_WARNINGS: Final = 50

CVE_ID: Final = re.compile(r"^CVE-\d{4}-\d{4,}$")
CWE_ID: Final = re.compile(r"\bCWE-\d+\b")
_SENTENCE_END: Final = re.compile(r"(?<=[.!?])\s")
# "Tokio is a runtime for..." / "Foo Bar are the..." : a product introduction, not the flaw.
_INTRO: Final = re.compile(r"^(\S+(?: \S+){0,4}) (?:is|are) (?:a|an|the) ")
_METRIC_VERSIONS: Final = {
    "cvssV4_0": "4.0",
    "cvssV3_1": "3.1",
    "cvssV3_0": "3.0",
    "cvssV2_0": "2.0",
}
# Versions that mean "from the beginning" (or nothing at all) in CNA data.
_NO_VERSION: Final = frozenset({"", "0", "*", "-", "n/a", "unspecified", "unknown", "all"})
_UNNAMED: Final = frozenset({"", "n/a", "unknown", "unspecified"})
_SKIPPED_STATES: Final = frozenset({"REJECTED", "RESERVED"})
_BUNDLE_KEYS: Final = ("cveRecords", "vulnerabilities")
_SSVC_NAMES: Final = {
    "exploitation": "Exploitation",
    "automatable": "Automatable",
    "technicalimpact": "Technical Impact",
    "technical impact": "Technical Impact",
}


# --- field readers: every value of a hostile document may have any JSON type ------------------


def unique(values: Iterable[str], cap: int) -> tuple[str, ...]:
    """Non-empty values in first-seen order, without repeats, at most `cap` of them."""
    seen: dict[str, None] = {}
    for value in values:
        if value and value not in seen:
            seen[value] = None
            if len(seen) >= cap:
                break
    return tuple(seen)


def capped_warnings(warnings: Sequence[str]) -> tuple[str, ...]:
    """At most MAX_WARNINGS warnings, then a count: a hostile list of junk stays one line."""
    if len(warnings) <= MAX_WARNINGS:
        return tuple(warnings)
    return (*warnings[:MAX_WARNINGS], f"and {len(warnings) - MAX_WARNINGS} more records skipped")


def first_of_each(
    records: Sequence[Any],
    problem: Callable[[Any, int], tuple[str | None, str | None]],
    build: Callable[[Any, str], ParsedItem],
) -> tuple[tuple[ParsedItem, ...], tuple[str, ...]]:
    """The items `build` makes of the usable records, one per record id (the first record of
    an id is kept), and the warnings (capped) for the others: `problem` gives a record's id,
    or why it is skipped. The loop of every parser of a list of vulnerability records (CVE
    JSON 5, NVD, OSV)."""
    items: dict[str, ParsedItem] = {}
    warnings: list[str] = []
    for index, record in enumerate(records):
        record_id, skipped = problem(record, index)
        if record_id is None:
            warnings.append(skipped or f"record {index}: skipped")
        elif record_id in items:
            warnings.append(f"{record_id}: duplicate record, first kept")
        else:
            items[record_id] = build(record, record_id)
    return tuple(items.values()), capped_warnings(warnings)


def english_text(entries: object) -> tuple[str, str | None]:
    """The English value of a [{lang, value}] list (else the first one) and its language.

    Items are in one language; the other translations are dropped (the English one is what
    every CNA must give, the others are courtesy copies)."""
    candidates = [e for e in as_list(entries) if as_str(as_dict(e).get("value"))]
    if not candidates:
        return "", None
    languages = [normalize_language(as_str(e.get("lang"))) for e in candidates]
    chosen = languages.index("en") if "en" in languages else 0
    return truncate(as_str(candidates[chosen]["value"]), MAX_TEXT_CHARS), languages[chosen]


# --- CVSS -------------------------------------------------------------------------------------


def cvss_score(
    vector: object, *, version: str, stated_score: object = None, source: str | None = None
) -> CvssScore:
    """One CVSS assessment, scored from its vector by techwatch.parse.cvss (never raises).

    A stated score that is not a number is ignored: the vector is the assessment."""
    stated = stated_score if isinstance(stated_score, int | float) else None
    if isinstance(stated, bool):
        stated = None
    text = vector if isinstance(vector, str) else None
    return parse_cvss(text, version_hint=version, stated_score=stated, source=source)


def metric_scores(metrics: object, source: str | None) -> list[CvssScore]:
    """CVSS scores of a CVE 5 `metrics` list (cvssV2_0 ... cvssV4_0 entries)."""
    scores: list[CvssScore] = []
    for metric in as_list(metrics):
        for key, version in _METRIC_VERSIONS.items():
            data = as_dict(as_dict(metric).get(key))
            if data:
                scores.append(
                    cvss_score(
                        data.get("vectorString"),
                        version=version,
                        stated_score=data.get("baseScore"),
                        source=source,
                    )
                )
    return scores


# --- affected products ------------------------------------------------------------------------


def version_range(entry: dict[str, Any]) -> str:
    """One CVE 5 version entry as a readable range: "< 2.15.0", "2.0 - 2.4", ">= 1.2, < 1.9"."""
    start = as_str(entry.get("version"))
    less_than = as_str(entry.get("lessThan"))
    up_to = as_str(entry.get("lessThanOrEqual"))
    prefix = "git " if as_str(entry.get("versionType")).lower() == "git" else ""
    open_start = start.lower() in _NO_VERSION
    if less_than and less_than != "*":
        text = f"< {less_than}" if open_start else f">= {start}, < {less_than}"
    elif up_to and up_to != "*":
        text = f"<= {up_to}" if open_start else f"{start} - {up_to}"
    elif less_than or up_to:  # "*": from start on
        text = "all versions" if open_start else f">= {start}"
    else:
        text = "" if open_start else start
    return prefix + text if text else ""


def _fixed_versions(entry: dict[str, Any]) -> list[str]:
    """First fixed versions a CVE 5 version entry states: unaffected points and changes."""
    fixed = [
        as_str(as_dict(change).get("at"))
        for change in as_list(entry.get("changes"))
        if as_str(as_dict(change).get("status")) == "unaffected"
    ]
    start = as_str(entry.get("version"))
    if as_str(entry.get("status")) == "unaffected" and start.lower() not in _NO_VERSION:
        fixed.append(start)
    return fixed


def cve5_affected(entry: object) -> Affected | None:
    """One entry of a CVE 5 `affected` list; None when it names no product at all."""
    data = as_dict(entry)
    vendor = as_str(data.get("vendor"))
    product = as_str(data.get("product")) or as_str(data.get("packageName"))
    if vendor.lower() in _UNNAMED and product.lower() in _UNNAMED:
        return None
    versions = [as_dict(v) for v in as_list(data.get("versions"))]
    ranges = [version_range(v) for v in versions if as_str(v.get("status")) == "affected"]
    fixed = [f for v in versions for f in _fixed_versions(v)]
    if as_str(data.get("defaultStatus")) == "affected":
        ranges.append("all other versions" if versions else "all versions")
    cpes = (as_str(c) for c in as_list(data.get("cpes")))
    return Affected(
        vendor=vendor if vendor.lower() not in _UNNAMED else "",
        product=product if product.lower() not in _UNNAMED else "",
        versions=unique(ranges, MAX_VERSIONS),
        fixed=unique(fixed, MAX_VERSIONS),
        cpes=unique((c for c in cpes if c.startswith("cpe:")), MAX_CPES),
        purl=as_str(data.get("packageURL")) or None,
    )


def cve5_affected_list(entries: object) -> list[Affected]:
    found = (cve5_affected(e) for e in as_list(entries)[: MAX_AFFECTED * 2])
    return [a for a in found if a is not None][:MAX_AFFECTED]


# --- text shared by the vulnerability parsers -------------------------------------------------


def capped(values: Sequence[str], limit: int, sep: str = ", ") -> str:
    """'a, b, c and 4 more': long lists stay readable in the text (facts keep them all)."""
    shown = sep.join(values[:limit])
    rest = len(values) - limit
    return f"{shown} and {rest} more" if rest > 0 else shown


def product_name(affected: Affected) -> str:
    """'Fortinet FortiOS' rather than 'Fortinet Fortinet FortiOS' (types.product_label)."""
    return product_label(affected.vendor, affected.product)


def affected_line(affected: Affected) -> str:
    """'Apache Log4j2: >= 2.0-beta9, < 2.15.0 (fixed: 2.12.2, 2.3.1)'; '' when unnamed."""
    line = product_name(affected)
    if not line:
        return ""
    if affected.versions:
        line += ": " + capped(affected.versions, TEXT_VERSIONS, "; ")
    if affected.fixed:
        line += f" (fixed: {capped(affected.fixed, TEXT_VERSIONS)})"
    return line


def cvss_line(score: CvssScore) -> str:
    """'CVSS 3.1 9.8 CRITICAL by CISA-ADP', or 'CVSS 3.1 by X: unscored (<reason>)'."""
    source = f" by {score.source}" if score.source else ""
    if score.base_score is None:
        return f"CVSS {score.version}{source}: unscored ({score.problem})"
    return f"CVSS {score.version} {score.base_score:.1f} {score.severity}{source}"


def kev_line(kev: KevEntry) -> str:
    line = f"Known exploited: in the CISA KEV catalog since {kev.date_added.isoformat()}"
    if kev.due_date:
        line += f", remediation due {kev.due_date.isoformat()}"
    if kev.ransomware:
        line += ", used in ransomware campaigns"
    return line + "."


def vuln_text(
    facts: VulnFacts,
    *,
    action: str = "",
    notes: Sequence[str] = (),
    shown: Sequence[Affected] | None = None,
) -> str:
    """The plain text a consultant reads: what it is, what is affected, how bad, what to do.

    `shown` is the affected list to print when it should differ from the facts' full list."""
    lines = [facts.description or facts.title or facts.vuln_id]
    products = [affected_line(a) for a in (facts.affected if shown is None else shown)]
    products = [line for line in products if line]
    if products:
        lines.append("Affected: " + capped(products, TEXT_PRODUCTS, "; "))
    if facts.cvss:
        lines.append("Severity: " + "; ".join(cvss_line(s) for s in facts.cvss[:4]))
    if facts.cwes:
        lines.append("Weakness: " + capped(facts.cwes, TEXT_VERSIONS))
    if facts.ssvc:
        lines.append("CISA SSVC: " + ", ".join(f"{name} {value}" for name, value in facts.ssvc))
    if facts.kev:
        lines.append(kev_line(facts.kev))
    lines.extend(notes)
    if action:
        lines.append(f"What to do: {action}")
    if facts.references:
        lines.append("References: " + capped(facts.references, TEXT_REFERENCES, " "))
    return "\n".join(lines)


def short_summary(text: str) -> str:
    """The first sentence of a description, short enough for a title.

    GitHub-style descriptions open with "X is a library for..."; the sentence after it says
    what the flaw is, so the title becomes "X: <that sentence>"."""
    first, rest = _first_sentence(text)
    intro = _INTRO.match(first)
    if intro and rest:
        return _clip(f"{intro.group(1)}: {_first_sentence(rest)[0]}")
    return _clip(first)


def _first_sentence(text: str) -> tuple[str, str]:
    """(first sentence, the rest)."""
    parts = _SENTENCE_END.split(text.strip(), maxsplit=1)
    return parts[0], parts[1].strip() if len(parts) > 1 else ""


def _clip(sentence: str) -> str:
    sentence = " ".join(sentence.split()).rstrip(".")
    if len(sentence) <= TITLE_SUMMARY_CHARS:
        return sentence
    return sentence[: TITLE_SUMMARY_CHARS - 1].rsplit(" ", 1)[0] + "…"


def ssvc_pairs(options: object) -> list[tuple[str, str]]:
    """SSVC options ([{"Exploitation": "active"}, ...]) as (decision point, lower-case value).

    Names are unified to the CVE 5 spelling (NVD writes "technicalImpact"); values vary in
    case between CISA's records ("Active", "active") and mean the same."""
    pairs = []
    for option in as_list(options):
        for name, value in as_dict(option).items():
            text = as_str(value).lower()
            if text:
                pairs.append((_SSVC_NAMES.get(name.strip().lower(), name.strip()), text))
    return pairs


# --- one CVE record ---------------------------------------------------------------------------


def _cwes(containers: Iterable[dict[str, Any]]) -> tuple[str, ...]:
    found = []
    for container in containers:
        for problem in as_list(container.get("problemTypes")):
            for entry in as_list(as_dict(problem).get("descriptions")):
                entry = as_dict(entry)
                cwe = as_str(entry.get("cweId")).upper()
                found.extend(CWE_ID.findall(cwe or as_str(entry.get("description"))))
    return unique(found, MAX_CWES)


def _adp_other(adp: dict[str, Any], kind: str) -> list[dict[str, Any]]:
    """The `content` of an ADP's metrics[].other entries of one type (ssvc, kev)."""
    others = (as_dict(as_dict(m).get("other")) for m in as_list(adp.get("metrics")))
    return [as_dict(o.get("content")) for o in others if as_str(o.get("type")).lower() == kind]


def _kev(adps: Sequence[dict[str, Any]]) -> tuple[KevEntry | None, list[str]]:
    """KEV membership from CISA's ADP: only the date added and a link are stated there.

    The KevEntry is partial (no due date, action, vendor or name: those come from the KEV
    catalog itself, which enrichment joins); its reference goes to the facts' references."""
    for adp in adps:
        for content in _adp_other(adp, "kev"):
            added = parse_date(content.get("dateAdded"))
            if added:
                reference = as_str(content.get("reference"))
                entry = KevEntry(added, None, "", None, "", "", "", notes=reference)
                return entry, [reference] if reference else []
    return None, []


def _references(containers: Iterable[dict[str, Any]]) -> list[str]:
    urls = (
        as_str(as_dict(ref).get("url"))
        for container in containers
        for ref in as_list(container.get("references"))
    )
    return [u for u in urls if u.startswith(("https://", "http://"))]


def _provider(container: dict[str, Any], default: str) -> str:
    return as_str(as_dict(container.get("providerMetadata")).get("shortName")) or default


def record_facts(record: dict[str, Any], cve_id: str) -> tuple[VulnFacts, str | None, int]:
    """What a CVE record states about its CVE, the language of its description, and how many
    of the affected entries are the CNA's (they come first; the ADP's CPE-based ones follow)."""
    meta = as_dict(record.get("cveMetadata"))
    containers = as_dict(record.get("containers"))
    cna = as_dict(containers.get("cna"))
    adps = [as_dict(a) for a in as_list(containers.get("adp"))]
    description, language = english_text(cna.get("descriptions"))
    cvss = metric_scores(cna.get("metrics"), _provider(cna, "CNA"))
    for adp in adps:
        cvss.extend(metric_scores(adp.get("metrics"), _provider(adp, "ADP")))
    affected = cve5_affected_list(cna.get("affected"))
    from_cna = len(affected)
    for adp in adps:
        affected.extend(cve5_affected_list(adp.get("affected")))
    ssvc = [
        pair
        for adp in adps
        for content in _adp_other(adp, "ssvc")
        for pair in ssvc_pairs(content.get("options"))
    ]
    kev, kev_refs = _kev(adps)
    facts = VulnFacts(
        vuln_id=cve_id,
        title=as_str(cna.get("title")) or None,
        description=description or None,
        published=parse_timestamp(meta.get("datePublished")),
        modified=parse_timestamp(meta.get("dateUpdated")),
        cvss=tuple(cvss[:MAX_CVSS]),
        cwes=_cwes([cna, *adps]),
        affected=tuple(affected[:MAX_AFFECTED]),
        kev=kev,
        ssvc=tuple(dict.fromkeys(ssvc)),
        references=unique([*_references([cna, *adps]), *kev_refs], MAX_REFERENCES),
    )
    return facts, language, from_cna


def _action(cna: dict[str, Any]) -> str:
    """What the CNA says to do: its solution, else its workaround."""
    solution, _ = english_text(cna.get("solutions"))
    if solution:
        return solution
    workaround, _ = english_text(cna.get("workarounds"))
    return f"workaround: {workaround}" if workaround else ""


def cve_title(facts: VulnFacts, shown: Sequence[Affected] = ()) -> str:
    """'Apache Log4j2 JNDI features do not protect... (CVE-2021-44228)'; without a stated
    title, the first product `shown` ("ConnectWise ScreenConnect vulnerability")."""
    summary = facts.title
    if not summary:
        named = [name for name in map(product_name, shown) if name]
        summary = f"{named[0]} vulnerability" if named else short_summary(facts.description or "")
    return f"{summary} ({facts.vuln_id})" if summary else facts.vuln_id


def _record_item(
    source_id: str, record: dict[str, Any], cve_id: str, *, declared_language: str | None
) -> ParsedItem:
    facts, language, from_cna = record_facts(record, cve_id)
    cna = as_dict(as_dict(record.get("containers")).get("cna"))
    # The ADP's CPE entries repeat the CNA's products in CPE spelling: shown only instead of them.
    shown = facts.affected[:from_cna] or facts.affected
    return advisory_item(
        source_id,
        identity=f"cve:{cve_id}",
        title=cve_title(facts, shown),
        text=vuln_text(facts, action=_action(cna), shown=shown),
        url=f"https://www.cve.org/CVERecord?id={cve_id}",
        published=facts.published,
        language=language or declared_language or "en",
        facts=(facts,),
    )


def _record_problem(record: object, index: int) -> tuple[str | None, str | None]:
    """(CVE id, None) for a usable record, (None, warning) for one to skip."""
    if not isinstance(record, dict):
        return None, f"record {index}: not a JSON object, skipped"
    meta = as_dict(record.get("cveMetadata"))
    cve_id = as_str(meta.get("cveId")).upper()
    if not CVE_ID.match(cve_id):
        return None, f"record {index}: no valid cveMetadata.cveId, skipped"
    state = as_str(meta.get("state")).upper()
    if state in _SKIPPED_STATES:
        return None, f"{cve_id}: {state} record, skipped"
    if not as_dict(as_dict(record.get("containers")).get("cna")):
        return None, f"{cve_id}: no CNA container, skipped"
    return cve_id, None


def _records(document: object, *, source_id: str, url: str) -> list[Any]:
    """The records of a document: one record, a list of them, or a bundle object."""
    if isinstance(document, list):
        if document and not any(isinstance(r, dict) and "cveMetadata" in r for r in document):
            raise ParseError(
                "a list without any CVE record (no cveMetadata)",
                kind="malformed_advisory",
                source_id=source_id,
                url=url,
            )
        return document
    if isinstance(document, dict):
        if "cveMetadata" in document:
            return [document]
        for key in _BUNDLE_KEYS:
            if isinstance(document.get(key), list):
                return _records(document[key], source_id=source_id, url=url)
    raise ParseError(
        "not a CVE JSON 5 record: no cveMetadata (nor a list of records)",
        kind="malformed_advisory",
        source_id=source_id,
        url=url,
    )


def parse_cve_json5(
    source_id: str,
    body: bytes,
    *,
    url: str,
    fetched_at: datetime,
    declared_language: str | None = None,
) -> ParsedFeed:
    """One ParsedItem per published CVE record (identity "cve:<CVE-ID>"); others are warnings.

    `fetched_at` is unused: a CVE record carries its own dates."""
    del fetched_at
    records = _records(load_json(body, source_id=source_id, url=url), source_id=source_id, url=url)
    items, warnings = first_of_each(
        records,
        _record_problem,
        lambda record, cve_id: _record_item(
            source_id, record, cve_id, declared_language=declared_language
        ),
    )
    return ParsedFeed(
        source_id=source_id,
        items=items,
        entries_total=len(records),
        title="CVE records",
        language="en",
        warnings=warnings,
    )
