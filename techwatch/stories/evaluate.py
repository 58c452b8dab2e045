"""Measure grouping on labelled pairs: does it put together what tells one event, and only that?

The pairs (tests/data/stories/pairs.jsonl) name items by reference, `<file under realdata>#<item
identity>` or `constructed#<id>`: the real texts stay in the real-data corpus, never in the
repository. The whole corpus is grouped (every item is a distractor for the others), in the
order a nightly run would see it, then each pair is scored as same story or not.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from pathlib import Path
from typing import Any

from techwatch.dedupe import item_id
from techwatch.parse.certfr import parse_certfr_alertes_index
from techwatch.parse.registry import parse_document
from techwatch.stories import grouping
from techwatch.stories.evidence import DEFAULT, Thresholds
from techwatch.stories.grouping import StoryItem
from techwatch.stories.neardup import lead, text_signs
from techwatch.types import ParsedItem

#: Where each part of the corpus comes from: glob under realdata, parser kind, source id.
CORPUS: tuple[tuple[str, str, str], ...] = (
    ("advisories/cisa-kev/known_exploited_vulnerabilities.json", "cisa-kev", "cisa-kev"),
    ("feeds/security/netsec-rss_kev-aggregate_500items.xml", "feed", "netsec-kev"),
    ("advisories/cert-fr-avis/*/*.json", "certfr-json", "certfr-avis"),
    ("advisories/cert-fr-alertes/cert-fr-ale_with_cves.json", "certfr-alertes", "certfr-alertes"),
    ("advisories/cve-json5-vulnrichment/*/*.json", "cve-json5", "cve"),
    ("advisories/csaf-cisa/*-2024/*.json", "csaf", "cisa-csaf"),
    (
        "advisories/cert-fr-derived/certfr_rss_items_avis-alertes_2025-06.csv",
        "certfr-rss",
        "certfr-rss",
    ),
    ("feeds/security/bleepingcomputer_2026-07.xml", "feed", "bleepingcomputer"),
    ("feeds/security/darkreading_2026-07.xml", "feed", "darkreading"),
    ("feeds/security/securityweek_2026-07.xml", "feed", "securityweek"),
    ("feeds/security/thehackernews_2026-07.xml", "feed", "thehackernews"),
)
PARSED_AT = datetime(2026, 9, 1, tzinfo=UTC)


@dataclass(frozen=True, slots=True)
class Pair:
    """Two items by reference, whether they tell one event, and the kind of case."""

    a: str
    b: str
    same: bool
    category: str
    note: str = ""


@dataclass(frozen=True, slots=True)
class Scores:
    """Pairwise confusion counts of one category (or of all pairs)."""

    tp: int = 0
    fp: int = 0
    fn: int = 0
    tn: int = 0

    @property
    def precision(self) -> float:
        return self.tp / (self.tp + self.fp) if self.tp + self.fp else 1.0

    @property
    def recall(self) -> float:
        return self.tp / (self.tp + self.fn) if self.tp + self.fn else 1.0

    def add(self, same: bool, grouped: bool) -> Scores:
        field = {(True, True): "tp", (False, True): "fp", (True, False): "fn"}.get(
            (same, grouped), "tn"
        )
        return replace(self, **{field: getattr(self, field) + 1})


@dataclass(frozen=True, slots=True)
class Corpus:
    """Every item to group, and the item id behind each reference."""

    items: tuple[StoryItem, ...]
    ids: Mapping[str, str]


def read_pairs(path: Path) -> list[Pair]:
    """The labelled pairs, one JSON object per line."""
    lines = path.read_text(encoding="utf-8").splitlines()
    return [Pair(**json.loads(line)) for line in lines if line.strip()]


def load_corpus(realdata: Path, constructed: Path) -> Corpus:
    """Parse the corpus files with techwatch's own parsers, plus the constructed items."""
    items: list[StoryItem] = []
    ids: dict[str, str] = {}
    for pattern, kind, source_id in CORPUS:
        for path in sorted(realdata.glob(pattern)):
            relative = path.relative_to(realdata).as_posix()
            for parsed in _parse(kind, source_id, path):
                story_item = _story_item(parsed)
                items.append(story_item)
                ids[f"{relative}#{parsed.identity}"] = story_item.item_id
    for record in _jsonl(constructed):
        story_item = _constructed(record)
        items.append(story_item)
        ids[f"constructed#{record['id']}"] = story_item.item_id
    return Corpus(tuple(items), ids)


def group_all(
    items: Sequence[StoryItem], thresholds: Thresholds = DEFAULT, *, with_urls: bool = True
) -> dict[str, str]:
    """Story of each item when all arrive as one night's items, oldest first."""
    ordered = sorted(items, key=lambda i: (i.seen, i.item_id))
    if not with_urls:
        ordered = [replace(i, canonical_url=None) for i in ordered]
    keys, grams = text_signs([lead(i.title, i.text) for i in ordered])
    pending = [(replace(i, bands=k), None) for i, k in zip(ordered, keys, strict=True)]
    texts = {i.item_id: g for i, g in zip(ordered, grams, strict=True)}
    result = grouping.plan(pending, [], [], thresholds, grams=texts)
    return {join.item_id: join.story_id for join in result.joins}


def score(
    pairs: Iterable[Pair], ids: Mapping[str, str], story_of: Mapping[str, str]
) -> dict[str, Scores]:
    """Confusion counts per category and for `all`; a reference that resolves to no item is a
    broken label and raises KeyError."""
    scores: dict[str, Scores] = {}
    for pair in pairs:
        a, b = story_of[ids[pair.a]], story_of[ids[pair.b]]
        for key in (pair.category, "all"):
            scores[key] = scores.get(key, Scores()).add(pair.same, a == b)
    return scores


def _parse(kind: str, source_id: str, path: Path) -> tuple[ParsedItem, ...]:
    body = path.read_bytes()
    url = path.as_uri()
    if kind == "certfr-alertes":
        return parse_certfr_alertes_index(source_id, body, url=url, fetched_at=PARSED_AT).items
    if kind == "certfr-rss":
        return tuple(_certfr_rss(source_id, body))
    return parse_document(kind, source_id, body, url=url, fetched_at=PARSED_AT).items


def _certfr_rss(source_id: str, body: bytes) -> Iterable[ParsedItem]:
    """The CERT-FR RSS items a third party saved as CSV (title, description, date, link)."""
    for row in csv.DictReader(io.StringIO(body.decode("utf-8"))):
        reference, title = (row.get("id_anssi") or "").strip(), (row.get("title") or "").strip()
        if not reference or not title or not row.get("published"):
            continue
        link = (row.get("link") or "").strip() or None
        yield ParsedItem(
            source_id=source_id,
            identity=reference,
            url=link,
            canonical_url=link,
            title=title,
            text=(row.get("description") or "").replace("\\[", "[").replace("\\]", "]"),
            html="",
            published=parsedate_to_datetime(row["published"]),
            language="fr",
        )


def _story_item(parsed: ParsedItem) -> StoryItem:
    return StoryItem(
        item_id=item_id(parsed.source_id, parsed.identity),
        source_id=parsed.source_id,
        title=parsed.title,
        text=parsed.text,
        canonical_url=parsed.canonical_url,
        cves=frozenset(parsed.cves),
        seen=min(parsed.published or PARSED_AT, PARSED_AT),
    )


def _constructed(record: Mapping[str, Any]) -> StoryItem:
    source_id, identity = str(record["source"]), f"constructed:{record['id']}"
    return StoryItem(
        item_id=item_id(source_id, identity),
        source_id=source_id,
        title=str(record["title"]),
        text=str(record.get("text") or ""),
        canonical_url=str(record["url"]) if record.get("url") else None,
        cves=frozenset(str(c) for c in record.get("cves") or ()),
        seen=datetime.fromisoformat(str(record["published"])),
    )


def _jsonl(path: Path) -> list[dict[str, Any]]:
    if not path.is_file():
        return []
    return [json.loads(line) for line in path.read_text("utf-8").splitlines() if line.strip()]
