"""Rows about stories (see `techwatch.storage.evidence`) -> one Evidence per story (pure).

A story's topics are those most of its items have (see `_topics`; `off_topic` only when no
item says anything else), its sectors the union of its items', its severity the highest any
item has; its text is its items' titles and texts, newest source last, capped, so that a
product named by any source is found.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from typing import Any, Final

from techwatch.scoring.evidence import Evidence
from techwatch.taxonomy import EXCLUSIVE_TOPIC, SECTOR_KEYS, SEVERITY_KEYS, TOPIC_KEYS
from techwatch.types import Affected, CvssScore, EpssScore, KevEntry, VulnFacts

TEXT_CHARS: Final = 6000
ALWAYS_KEPT: Final = frozenset({"exploited"})


def evidences(rows: Mapping[str, Sequence[Mapping[str, Any]]]) -> dict[str, Evidence]:
    items = _grouped(rows["items"])
    facts = _grouped(rows["facts"])
    epss = {r["cve_id"]: _epss(r) for r in rows["epss"]}
    found: dict[str, Evidence] = {}
    for story in rows["stories"]:
        sid = story["story_id"]
        members = items.get(sid, [])
        if not members:
            continue
        cves = tuple(story["cves"] or ())
        found[sid] = Evidence(
            story_id=sid,
            title=story["title"],
            text=_text(story["title"], members),
            first_seen=story["first_seen"],
            published=min((m["published"] for m in members if m["published"]), default=None),
            language=members[0]["language"],
            item_ids=tuple(m["item_id"] for m in members),
            source_ids=_unique(m["source_id"] for m in members),
            categories=_unique(m["category"] for m in members),
            urls=_unique(m["url"] for m in members if m["url"]),
            topics=_topics(members),
            sectors=_ordered((s for m in members for s in m["sectors"] or ()), SECTOR_KEYS),
            severity=_severity(members),
            cves=cves,
            vulns=tuple(_vuln(f) for f in facts.get(sid, ())),
            epss=tuple(epss[c] for c in cves if c in epss),
        )
    return found


def last_seen(rows: Mapping[str, Sequence[Mapping[str, Any]]]) -> dict[str, datetime]:
    return {s["story_id"]: s["last_seen"] for s in rows["stories"]}


def _grouped(rows: Iterable[Mapping[str, Any]]) -> dict[str, list[Mapping[str, Any]]]:
    grouped: defaultdict[str, list[Mapping[str, Any]]] = defaultdict(list)
    for row in rows:
        grouped[row["story_id"]].append(row)
    return grouped


def _text(title: str, members: Sequence[Mapping[str, Any]]) -> str:
    parts: list[str] = []
    for member in members:
        if member["title"] != title:
            parts.append(member["title"])
        parts.append(member["text"] or "")
    return "\n".join(p for p in parts if p)[:TEXT_CHARS]


def _topics(members: Sequence[Mapping[str, Any]]) -> tuple[str, ...]:
    """Topics at least half of the items have, plus `exploited` from any of them: a weekly
    round-up that also mentions phishing does not make a flaw a phishing story, but one source
    reporting attacks is evidence enough."""
    counts = Counter(t for m in members for t in set(m["topics"] or ()))
    kept = [t for t, n in counts.items() if 2 * n >= len(members) or t in ALWAYS_KEPT]
    topics = _ordered(kept, TOPIC_KEYS)
    meaningful = tuple(t for t in topics if t != EXCLUSIVE_TOPIC)
    return meaningful or topics


def _severity(members: Sequence[Mapping[str, Any]]) -> str | None:
    known = [m["severity"] for m in members if m["severity"] in SEVERITY_KEYS]
    return max(known, key=SEVERITY_KEYS.index) if known else None


def _ordered(values: Iterable[str], order: Sequence[str]) -> tuple[str, ...]:
    present = set(values)
    return tuple(key for key in order if key in present)


def _unique(values: Iterable[str]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(values))


def _epss(row: Mapping[str, Any]) -> EpssScore:
    return EpssScore(row["cve_id"], row["score"], row["percentile"], row["date"])


def _vuln(row: Mapping[str, Any]) -> VulnFacts:
    kev = None
    if row["kev_date_added"] is not None:
        kev = KevEntry(
            date_added=row["kev_date_added"],
            due_date=row["kev_due_date"],
            required_action=row["kev_required_action"] or "",
            ransomware=row["kev_ransomware"],
            vendor=row["kev_vendor"] or "",
            product=row["kev_product"] or "",
            name=row["kev_name"] or "",
            notes=row["kev_notes"] or "",
        )
    return VulnFacts(
        vuln_id=row["vuln_id"],
        aliases=tuple(row["aliases"] or ()),
        title=row["title"],
        description=row["description"],
        published=row["published"],
        modified=row["modified"],
        cvss=tuple(CvssScore(**c) for c in row["cvss"] or ()),
        cwes=tuple(row["cwes"] or ()),
        affected=tuple(
            Affected(
                vendor=a["vendor"] or "",
                product=a["product"] or "",
                versions=tuple(a["versions"] or ()),
                fixed=tuple(a["fixed"] or ()),
                cpes=tuple(a["cpes"] or ()),
                purl=a["purl"],
            )
            for a in row["affected"] or ()
        ),
        kev=kev,
        ssvc=tuple((s["point"], s["value"]) for s in row["ssvc"] or ()),
        references=tuple(row["refs"] or ()),
    )
