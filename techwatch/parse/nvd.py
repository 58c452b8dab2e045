"""One page of the NVD CVE API 2.0 (`/rest/json/cves/2.0`): one item per CVE.

NVD restates the CVE record (descriptions, CNA scores) and adds its own analysis: CVSS scores
of type Primary (NVD's) or Secondary (the CNA's, CISA-ADP's), CWE from `weaknesses`, affected
products as CPE match criteria in `configurations`, and KEV fields (cisaExploitAdd...) for CVEs
in CISA's catalog. Identities are "cve:<CVE-ID>" like CVE records; they stay apart because they
belong to a different source. Rejected CVEs yield no item, only a warning.

`nvd_page_info` tells the caller where the page sits so that it can fetch the next one.
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any, Final

from techwatch.errors import ParseError
from techwatch.parse.advisory import (
    advisory_item,
    as_dict,
    as_list,
    as_str,
    parse_date,
    parse_timestamp,
)
from techwatch.parse.cve_json5 import (
    CVE_ID,
    CWE_ID,
    MAX_AFFECTED,
    MAX_CPES,
    MAX_CVSS,
    MAX_CWES,
    MAX_REFERENCES,
    MAX_VERSIONS,
    cve5_affected_list,
    cve_title,
    cvss_score,
    english_text,
    first_of_each,
    ssvc_pairs,
    unique,
    vuln_text,
)
from techwatch.parse.jsondoc import load_json
from techwatch.types import Affected, CvssScore, KevEntry, ParsedFeed, ParsedItem, VulnFacts

_METRICS: Final = {
    "cvssMetricV40": "4.0",
    "cvssMetricV31": "3.1",
    "cvssMetricV30": "3.0",
    "cvssMetricV2": "2.0",
}
# NVD names some scorers by organisation UUID; this one is CISA's ADP (Vulnrichment).
_SOURCES: Final = {"134c704f-9b21-4f2e-91b3-4a467353bcc0": "CISA-ADP"}
_UNESCAPED_COLON: Final = re.compile(r"(?<!\\):")
_ESCAPE: Final = re.compile(r"\\(.)")
_ANY: Final = frozenset({"", "*", "-"})


def _malformed(message: str, source_id: str, url: str) -> ParseError:
    return ParseError(message, kind="malformed_advisory", source_id=source_id, url=url)


def _page(document: object, *, source_id: str, url: str) -> dict[str, Any]:
    if not isinstance(document, dict) or not isinstance(document.get("vulnerabilities"), list):
        raise _malformed("not an NVD CVE API 2.0 page: no vulnerabilities list", source_id, url)
    return document


def nvd_page_info(body: bytes, *, source_id: str = "nvd", url: str = "") -> tuple[int, int, int]:
    """(startIndex, resultsPerPage, totalResults) of a page, for the caller's paging loop."""
    page = _page(load_json(body, source_id=source_id, url=url), source_id=source_id, url=url)
    numbers = [page.get(key) for key in ("startIndex", "resultsPerPage", "totalResults")]
    if not all(isinstance(n, int) and not isinstance(n, bool) and n >= 0 for n in numbers):
        raise _malformed("paging fields are missing or not counts", source_id, url)
    start, per_page, total = numbers
    return start, per_page, total


# --- CVSS, CWE, KEV, SSVC ---------------------------------------------------------------------


def _scorer(metric: dict[str, Any]) -> str | None:
    who = as_str(metric.get("source"))
    who = _SOURCES.get(who, who)
    kind = as_str(metric.get("type"))
    if who and kind:
        return f"{who} ({kind})"
    return who or kind or None


def _cvss(metrics: dict[str, Any]) -> list[CvssScore]:
    scores = []
    for key, version in _METRICS.items():
        for metric in as_list(metrics.get(key)):
            metric = as_dict(metric)
            data = as_dict(metric.get("cvssData"))
            scores.append(
                cvss_score(
                    data.get("vectorString"),
                    version=version,
                    stated_score=data.get("baseScore"),
                    source=_scorer(metric),
                )
            )
    return scores[:MAX_CVSS]


def _cwes(cve: dict[str, Any]) -> tuple[str, ...]:
    """CWE ids of `weaknesses`; NVD-CWE-Other and NVD-CWE-noinfo say nothing and are dropped."""
    values = (
        as_str(as_dict(d).get("value"))
        for weakness in as_list(cve.get("weaknesses"))
        for d in as_list(as_dict(weakness).get("description"))
    )
    return unique((cwe for value in values for cwe in CWE_ID.findall(value)), MAX_CWES)


def _kev(cve: dict[str, Any]) -> KevEntry | None:
    """KEV fields NVD copies from CISA's catalog (vendor, product and ransomware use are not)."""
    added = parse_date(cve.get("cisaExploitAdd"))
    if added is None:
        return None
    return KevEntry(
        date_added=added,
        due_date=parse_date(cve.get("cisaActionDue")),
        required_action=as_str(cve.get("cisaRequiredAction")),
        ransomware=None,
        vendor="",
        product="",
        name=as_str(cve.get("cisaVulnerabilityName")),
    )


def _ssvc(metrics: dict[str, Any]) -> tuple[tuple[str, str], ...]:
    pairs = (
        pair
        for key, entries in metrics.items()
        if key.lower().startswith("ssvc")
        for entry in as_list(entries)
        for pair in ssvc_pairs(as_dict(as_dict(entry).get("ssvcData")).get("options"))
    )
    return tuple(dict.fromkeys(pairs))


# --- affected products from CPE match criteria ------------------------------------------------


def cpe_fields(cpe: str) -> list[str]:
    """The fields of a CPE 2.3 formatted string, unescaped ("cpe:2.3:a:vendor:product:...")."""
    return [_ESCAPE.sub(r"\1", field) for field in _UNESCAPED_COLON.split(cpe)]


def match_range(match: dict[str, Any], version: str, update: str) -> str:
    """One cpeMatch as a readable range: ">= 2.0, < 2.15.0", "<= 1.4", "2.4.4 p1"."""
    low_in = as_str(match.get("versionStartIncluding"))
    low_out = as_str(match.get("versionStartExcluding"))
    high_in = as_str(match.get("versionEndIncluding"))
    high_out = as_str(match.get("versionEndExcluding"))
    if low_in and high_in:
        return f"{low_in} - {high_in}"
    bounds = [f">= {low_in}" if low_in else "", f"> {low_out}" if low_out else ""]
    bounds += [f"<= {high_in}" if high_in else "", f"< {high_out}" if high_out else ""]
    if any(bounds):
        return ", ".join(b for b in bounds if b)
    if version in _ANY:
        return "all versions" if version == "*" else ""
    return f"{version} {update}" if update not in _ANY else version


def _matches(configurations: object) -> list[dict[str, Any]]:
    """Vulnerable cpeMatch entries; non-vulnerable ones only name the platform they run on."""
    return [
        as_dict(match)
        for configuration in as_list(configurations)
        for node in as_list(as_dict(configuration).get("nodes"))
        for match in as_list(as_dict(node).get("cpeMatch"))
        if as_dict(match).get("vulnerable") is True
    ]


def configuration_affected(configurations: object) -> list[Affected]:
    """Affected products from NVD configurations, one per CPE vendor:product, ranges merged."""
    grouped: dict[tuple[str, str], tuple[list[str], list[str]]] = {}
    for match in _matches(configurations):
        criteria = as_str(match.get("criteria"))
        fields = cpe_fields(criteria)
        if len(fields) < 7 or fields[:2] != ["cpe", "2.3"]:
            continue
        key = (fields[3], fields[4])
        if key not in grouped and len(grouped) >= MAX_AFFECTED:
            continue
        ranges, cpes = grouped.setdefault(key, ([], []))
        ranges.append(match_range(match, fields[5], fields[6]))
        cpes.append(criteria)
    return [
        Affected(
            vendor=vendor,
            product=product,
            versions=unique(ranges, MAX_VERSIONS),
            cpes=unique(cpes, MAX_CPES),
        )
        for (vendor, product), (ranges, cpes) in grouped.items()
    ]


# --- one CVE ----------------------------------------------------------------------------------


def _references(cve: dict[str, Any]) -> tuple[str, ...]:
    urls = (as_str(as_dict(ref).get("url")) for ref in as_list(cve.get("references")))
    return unique((u for u in urls if u.startswith(("https://", "http://"))), MAX_REFERENCES)


def _facts(cve: dict[str, Any], cve_id: str) -> tuple[VulnFacts, str | None, int]:
    """The facts of one CVE, the language of its description, and how many affected entries
    are the CNA's own (CVE 5 style `affected`, first) before the CPE-derived ones."""
    metrics = as_dict(cve.get("metrics"))
    description, language = english_text(cve.get("descriptions"))
    stated = [
        a
        for block in as_list(cve.get("affected"))
        for a in cve5_affected_list(as_dict(block).get("affectedData"))
    ]
    affected = stated + configuration_affected(cve.get("configurations"))
    facts = VulnFacts(
        vuln_id=cve_id,
        description=description or None,
        published=parse_timestamp(cve.get("published")),
        modified=parse_timestamp(cve.get("lastModified")),
        cvss=tuple(_cvss(metrics)),
        cwes=_cwes(cve),
        affected=tuple(affected[:MAX_AFFECTED]),
        kev=_kev(cve),
        ssvc=_ssvc(metrics),
        references=_references(cve),
    )
    return facts, language, len(stated)


def _item(source_id: str, cve: dict[str, Any], cve_id: str, language: str | None) -> ParsedItem:
    facts, stated_language, from_cna = _facts(cve, cve_id)
    shown = facts.affected[:from_cna] or facts.affected
    kev_name = facts.kev.name if facts.kev else ""
    title = f"{kev_name} ({cve_id})" if kev_name else cve_title(facts, shown)
    status = as_str(cve.get("vulnStatus"))
    return advisory_item(
        source_id,
        identity=f"cve:{cve_id}",
        title=title,
        text=vuln_text(
            facts,
            action=facts.kev.required_action if facts.kev else "",
            notes=[f"NVD analysis status: {status}."] if status else [],
            shown=shown,
        ),
        url=f"https://nvd.nist.gov/vuln/detail/{cve_id}",
        published=facts.published,
        language=stated_language or language or "en",
        facts=(facts,),
    )


def _problem(entry: object, index: int) -> tuple[str | None, str | None]:
    """(CVE id, None) for a usable entry, (None, warning) for one to skip."""
    cve = as_dict(as_dict(entry).get("cve"))
    cve_id = as_str(cve.get("id")).upper()
    if not CVE_ID.match(cve_id):
        return None, f"vulnerability {index}: no valid cve.id, skipped"
    if as_str(cve.get("vulnStatus")).lower() == "rejected":
        return None, f"{cve_id}: rejected, skipped"
    return cve_id, None


def parse_nvd(
    source_id: str,
    body: bytes,
    *,
    url: str,
    fetched_at: datetime,
    declared_language: str | None = None,
) -> ParsedFeed:
    """One ParsedItem per CVE of the page (identity "cve:<CVE-ID>"); rejected CVEs warned.

    `fetched_at` is unused: NVD states its own dates."""
    del fetched_at
    page = _page(load_json(body, source_id=source_id, url=url), source_id=source_id, url=url)
    entries = page["vulnerabilities"]
    items, warnings = first_of_each(
        entries,
        _problem,
        lambda entry, cve_id: _item(
            source_id, as_dict(as_dict(entry).get("cve")), cve_id, declared_language
        ),
    )
    return ParsedFeed(
        source_id=source_id,
        items=items,
        entries_total=len(entries),
        title="NVD CVE API 2.0",
        language="en",
        warnings=warnings,
    )
