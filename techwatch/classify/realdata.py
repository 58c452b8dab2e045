"""Real labelled advisories (../shared/realdata/labeled) as examples: training and evaluation.

The three CSV files carry their publishers' own labels, mapped to our taxonomy here, once, for
the default model's training and for bench/classify_realdata.py. An axis a file says nothing
about stays unknown (None), as in a labels file:

    vulnrichment_cve_descriptions_severity.csv (CVE descriptions, English)
        severity  cvss_base_severity lower-cased: critical/high/medium/low (NONE, empty: none)
        topics    vulnerability, plus exploited when in_cisa_kev = yes
    certfr_avis_2016-2026_risks_fr.csv (CERT-FR avis, French)
        topics    vulnerability (every avis announces flaws and their fixes)
    cisa_ics_advisories_sectors.csv (CISA ICS advisories, English)
        topics    vulnerability; severity max_cvss_v3_severity lower-cased
        sectors   CISA's critical-infrastructure sectors through weak.map_sectors (the store's
                  own mapping); 'Multiple' or empty: unknown

A CVE document is titled as the product titles a CVE item (parse/cve_json5.cve_title: the
record's title, else "<product> vulnerability", else the description's first sentence, then
the CVE id): a bare id as title made the seed model read every CVE as `info`.

Caps keep training time reasonable and keep these advisories from drowning the seed corpus on
the axes where they are one-sided: every CVE row teaches severity (up to SEVERITY_CAP), but
only TOPICS_CAP rows per file teach topics (all "vulnerability"), drawn in a stable hashed
order. Taking KEV rows first made `exploited` half of the CVE topic examples (0.6 % of CVEs),
and the model then called many CVE descriptions exploited (topics micro-F1 0.71 on them).

These rows speak one style (advisories), so they teach the news items little and can mislead
them (bench/classify_realnews.py, DEV half): 400 topic rows per file made release notes and
blog posts read as `vulnerability` (precision 0.58 on news), and 21k severity rows at full
weight made most of them medium or high (severity accuracy 0.56). Hence 100 topic rows per
file (ICS industry recall needs some: with none, advisories fell off topic and lost their
sectors) and a SEVERITY_WEIGHT of 0.03 per row (21k rows weigh about 650 hand-written ones):
news severity 0.56 -> 0.85 (with predict.py's rules), CVE severity unchanged (0.731 -> 0.735).
"""

from __future__ import annotations

import csv
import hashlib
import io
import os
import re
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import replace
from pathlib import Path
from typing import Final, TextIO

from techwatch.classify.corpus import Document, Example
from techwatch.classify.documents import DOCUMENT_CHARS
from techwatch.classify.model import is_heldout
from techwatch.classify.weak import map_sectors
from techwatch.parse.cve_json5 import short_summary
from techwatch.taxonomy import SEVERITY_KEYS
from techwatch.types import product_label

CVE_FILE: Final = "vulnrichment_cve_descriptions_severity.csv"
CERTFR_FILE: Final = "certfr_avis_2016-2026_risks_fr.csv"
ICS_FILE: Final = "cisa_ics_advisories_sectors.csv"
# Per file: at most this many rows teach topics (the rest teach only their other axes).
TOPICS_CAP: Final = 100
# CVE rows teaching severity: all of them today (about 26k, 21k of them train rows).
SEVERITY_CAP: Final = 30_000
# How much one of these rows counts when severity is fitted (a hand-written example counts 1).
SEVERITY_WEIGHT: Final = 0.03
_TAGS: Final = re.compile(r"<[^>]+>")
_MISSING: Final = {"", "n/a", "unknown"}

Row = Mapping[str, str]


def default_root() -> Path:
    """The realdata folder: $TECHWATCH_REALDATA, else ../shared/realdata (may be absent)."""
    root = os.environ.get("TECHWATCH_REALDATA")
    return Path(root) if root else Path(__file__).resolve().parents[3] / "shared" / "realdata"


def default_folder() -> Path | None:
    """The labelled folder (default_root()/labeled) when present; its parent holds the feeds
    and html pages of the hand-labelled news items (realnews.py)."""
    folder = default_root() / "labeled"
    return folder if folder.is_dir() else None


def severity(value: str | None) -> str | None:
    """CVSS severity words -> ours; None for NONE or nothing (the axis stays unknown)."""
    label = (value or "").strip().lower()
    return label if label in SEVERITY_KEYS and label != "info" else None


def cve_title(row: Row) -> str:
    """As the product titles a CVE item: '<summary> (CVE-...)'."""
    vendor, product = (_present(row.get(k)) for k in ("vendor", "product"))
    named = product_label(vendor, product) if product else ""
    summary = _clean(row.get("title")) or (f"{named} vulnerability" if named else "")
    summary = summary or short_summary(_clean(row.get("description_en")))
    return f"{summary} ({row['cve_id']})" if summary else row["cve_id"]


def cve_example(row: Row) -> Example:
    topics = ("vulnerability", "exploited") if row.get("in_cisa_kev") == "yes" else None
    return Example(
        _document(row["cve_id"], cve_title(row), row.get("description_en"), "en"),
        topics=topics or ("vulnerability",),
        severity=severity(row.get("cvss_base_severity")),
    )


def certfr_example(row: Row) -> Example:
    document = _document(row["reference"], row.get("title_fr"), row.get("summary_fr"), "fr")
    return Example(document, topics=("vulnerability",))


def ics_example(row: Row) -> Example:
    stated = row.get("critical_infrastructure_sectors") or ""
    return Example(
        _document(row["advisory_id"], row.get("title"), row.get("risk_summary"), "en"),
        topics=("vulnerability",),
        sectors=map_sectors([stated]) if stated.strip() else None,
        severity=severity(row.get("max_cvss_v3_severity")),
    )


# name in reports and origins -> (file, row mapping)
SETS: Final[dict[str, tuple[str, Callable[[Row], Example]]]] = {
    "cve_descriptions": (CVE_FILE, cve_example),
    "certfr_avis_fr": (CERTFR_FILE, certfr_example),
    "cisa_ics": (ICS_FILE, ics_example),
}


def read_rows(handle: TextIO, limit: int | None = None) -> Iterator[dict[str, str]]:
    """CSV rows as dicts (fields can be long: CVE descriptions, HTML summaries)."""
    csv.field_size_limit(10**7)
    for n, row in enumerate(csv.DictReader(handle)):
        if limit is not None and n >= limit:
            return
        yield row


def parse(name: str, text: str, limit: int | None = None) -> list[Example]:
    """One set's examples from its CSV text (tests give inline strings)."""
    _, mapping = SETS[name]
    return [mapping(row) for row in read_rows(io.StringIO(text, newline=""), limit)]


def load(folder: Path, *, part: str = "all", limit: int | None = None) -> dict[str, list[Example]]:
    """Every set present in `folder`, restricted to the split's 'train' or 'test' part if asked."""
    result = {}
    for name, (file, mapping) in SETS.items():
        if not (folder / file).is_file():
            continue
        with (folder / file).open(encoding="utf-8", newline="") as handle:
            examples = [mapping(row) for row in read_rows(handle, limit)]
        result[name] = [e for e in examples if _in_part(e.document.id, part)]
    return result


def for_training(
    sets: Mapping[str, Iterable[Example]],
    *,
    topics_cap: int = TOPICS_CAP,
    severity_cap: int = SEVERITY_CAP,
    severity_weight: float = SEVERITY_WEIGHT,
) -> dict[str, list[Example]]:
    """The capped examples for a training, per set; rows that teach nothing left out.

    Caps apply before the split, so the held-out rows (is_heldout, never trained on) keep
    their share and the model's held-out metrics weigh each origin as its training does.
    """
    out: dict[str, list[Example]] = {}
    for name, examples in sets.items():
        ordered = sorted(examples, key=lambda e: _rank(e.document.id))
        kept, topics_left, severity_left = [], topics_cap, severity_cap
        for example in ordered:
            keep_topics, topics_left = topics_left > 0, topics_left - 1
            keep_severity = severity_left > 0 and example.severity is not None
            severity_left -= keep_severity
            example = replace(
                example,
                topics=example.topics if keep_topics else None,
                severity=example.severity if keep_severity else None,
                weight=severity_weight,
            )
            if any(example.knows(axis) for axis in ("topics", "sectors", "severity")):
                kept.append(example)
        out[name] = kept
    return out


def origins(sets: Mapping[str, list[Example]]) -> dict[str, int]:
    """Rows per set ('realdata:<set>'), held-out ones included as for every other origin."""
    return {f"realdata:{name}": len(examples) for name, examples in sets.items()}


def _rank(example_id: str) -> bytes:
    """A stable pseudo-random order: capped rows spread over the years and vendors of a file
    (files are sorted by id, so their head is the 1990s) and keep KEV rows at their share."""
    return hashlib.sha256(f"cap:{example_id}".encode()).digest()


def _in_part(example_id: str, part: str) -> bool:
    if part == "all":
        return True
    if part not in ("train", "test"):
        raise ValueError(f"unknown part {part!r}: all, train or test")
    return is_heldout(example_id) == (part == "test")


def _document(doc_id: str, title: str | None, text: str | None, language: str) -> Document:
    return Document(doc_id, _clean(title) or doc_id, _clean(text)[:DOCUMENT_CHARS], language)


def _clean(value: str | None) -> str:
    return " ".join(_TAGS.sub("", value or "").split())


def _present(value: str | None) -> str:
    value = (value or "").strip()
    return "" if value.lower() in _MISSING else value
