"""The current model on real news items labelled by hand (bench/labels/realnews.jsonl), per axis.

The labels file holds only pointers and labels ({"file", "identity", "topics", "sectors",
"severity"}), never the publishers' text: the items are re-parsed here from ../shared/realdata
with techwatch's own parsers (feeds: parse_feed; html pages: parse_html_page with the selector
sets the parse tests use, else one item per page from its title and paragraphs), then joined
with the labels by (file, identity). See bench/labels/README.md for how the labels were made.

Targets (issue 4): topics micro-F1 >= 0.85 and macro-F1 >= 0.80; sectors macro-F1 >= 0.65 on
items that are not off_topic; severity accuracy >= 0.80.

    .venv/bin/python bench/classify_realnews.py --models var/models [--part dev|test|all]
        [--json] [--errors]

To stay honest, the items are split into a DEV half (diagnose and tune on it) and a TEST half
(report only) by `part(key)`: a stable hash of "file#identity", so an item keeps its side as
labels are added. Seed examples must never paraphrase an evaluation item of either half.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Final

from bs4 import BeautifulSoup

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from techwatch.classify import Document, Example, classify, evaluate, load_current
from techwatch.classify.documents import DOCUMENT_CHARS
from techwatch.clean import normalize_line, normalize_text
from techwatch.parse.feeds import parse_feed
from techwatch.parse.html_page import parse_html_page
from techwatch.types import HtmlSelectors

REALDATA: Final = Path(__file__).resolve().parents[2] / "shared" / "realdata"
LABELS: Final = Path(__file__).resolve().parent / "labels" / "realnews.jsonl"
FETCHED_AT: Final = datetime(2026, 11, 28, tzinfo=UTC)
# Listing pages read as a configured html source would read them (tests/parse/test_html_page.py):
# their address (links resolve against it, so it is part of the identities) and selectors.
SELECTORS: Final = {
    "html/cert-fr_homepage_captured-2022.html": (
        "https://www.cert.ssi.gouv.fr/",
        HtmlSelectors(entry="div.items-list div.item", title=".item-title", date=".item-date"),
    ),
    "html/vendor_sqlite-release-history.html": (
        "https://www.sqlite.org/changes.html",
        HtmlSelectors(entry="h3", title="h3", date="h3"),
    ),
    "html/blog-en_daringfireball_home.html": (
        "https://daringfireball.net/",
        HtmlSelectors(entry="div.article", title="h1", date=".dateline", summary="p"),
    ),
}
PAGE_CHARS: Final = 4_000
PARTS: Final = ("dev", "test", "all")


def part(key: str) -> str:
    """'dev' or 'test' for an item key (file#identity): half of the keys each, by their hash."""
    digest = hashlib.sha256(f"realnews-part:{key}".encode()).digest()
    return "dev" if digest[0] < 128 else "test"


@dataclass(frozen=True, slots=True)
class RealItem:
    """One item of a realdata file as techwatch reads it; `file` is relative to realdata."""

    file: str
    identity: str
    title: str
    text: str
    language: str | None

    @property
    def key(self) -> str:
        return f"{self.file}#{self.identity}"


def read_items(realdata: Path, file: str) -> list[RealItem]:
    """The items of one feed or html file under realdata."""
    body = (realdata / file).read_bytes()
    if file.startswith("html/"):
        if file not in SELECTORS:
            return [page_item(file, body)]
        url, selectors = SELECTORS[file]
        feed = parse_html_page(
            "realnews", body, url=url, selectors=selectors, fetched_at=FETCHED_AT
        )
    else:
        url = f"https://realdata.invalid/{file}"  # only relative links resolve against it
        feed = parse_feed("realnews", body, url=url, fetched_at=FETCHED_AT)
    return [RealItem(file, i.identity, i.title, i.text, i.language) for i in feed.items]


def page_item(file: str, body: bytes) -> RealItem:
    """An article page as one item: its headline and the text of its paragraphs.

    The identity is the page's canonical link when it declares one, else a hash of the file
    name: stable across runs, as the labels need."""
    soup = BeautifulSoup(body, "lxml")
    og = soup.find("meta", property="og:title")
    h1 = soup.find("h1")
    title = (
        (og.get("content") if og is not None else None)
        or (h1.get_text(" ") if h1 is not None else None)
        or (soup.title.get_text(" ") if soup.title is not None else "")
    )
    canonical = soup.find("link", rel="canonical")
    href = canonical.get("href") if canonical is not None else None
    identity = str(href) if href else "sha256:" + hashlib.sha256(file.encode()).hexdigest()
    paragraphs = (normalize_line(p.get_text(" ")) for p in soup.find_all("p"))
    text = normalize_text("\n".join(p for p in paragraphs if len(p) > 40))
    main = soup.find("article") or soup.find("main")
    if not text and main is not None:  # pages whose text is not in <p> elements
        text = normalize_text(main.get_text(" "))
    lang = soup.html.get("lang") if soup.html is not None else None
    language = str(lang) if lang else None
    return RealItem(file, identity, normalize_line(str(title)), text[:PAGE_CHARS], language)


def read_labels(path: Path = LABELS) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line]


def examples(realdata: Path, labels: list[dict[str, Any]]) -> tuple[list[Example], list[str]]:
    """Labelled examples joined with their re-parsed items, and the keys that found no item."""
    files = sorted({row["file"] for row in labels})
    items = {i.key: i for f in files for i in read_items(realdata, f)}
    out, missing = [], []
    for row in labels:
        key = f"{row['file']}#{row['identity']}"
        item = items.get(key)
        if item is None:
            missing.append(key)
            continue
        doc = Document(key, item.title or key, item.text[:DOCUMENT_CHARS], item.language)
        out.append(Example(doc, tuple(row["topics"]), tuple(row["sectors"]), row["severity"]))
    return out, missing


def summary(metrics: dict[str, Any]) -> dict[str, Any]:
    """The figures to read: micro/macro F1, accuracy, within-one, P/R/F1 per label, confusion."""
    out: dict[str, Any] = {}
    for axis, report in metrics.items():
        keep = ("examples", "micro_f1", "macro_f1", "accuracy", "within_one")
        out[axis] = {k: report[k] for k in keep if k in report}
        out[axis]["per_label"] = {
            k: f"P {v['precision']:.2f} R {v['recall']:.2f} F1 {v['f1']:.2f} n={v['support']}"
            for k, v in report.get("per_label", {}).items()
        }
        if "confusion" in report:
            labels = report["confusion"]["labels"]
            rows = report["confusion"]["rows_truth_columns_predicted"]
            out[axis]["confusion"] = {
                "columns (predicted)": " ".join(f"{k:>8}" for k in labels),
                **{
                    f"{k} (truth)": " ".join(f"{n:>8}" for n in row)
                    for k, row in zip(labels, rows, strict=True)
                },
            }
    return out


def errors(examples_: list[Example], predictions: list[Any]) -> Iterator[str]:
    """One line per item where an axis differs: what to look at when adding seed examples."""
    by_id = {p.id: p for p in predictions}
    for e in examples_:
        p = by_id[e.document.id]
        diffs = []
        if set(e.topics or ()) != set(p.topics):
            diffs.append(f"topics {sorted(e.topics or ())} -> {sorted(p.topics)}")
        if set(e.sectors or ()) != set(p.sectors) and "off_topic" not in (e.topics or ()):
            diffs.append(f"sectors {sorted(e.sectors or ())} -> {sorted(p.sectors)}")
        if e.severity != p.severity:
            diffs.append(f"severity {e.severity} -> {p.severity}")
        if diffs:
            yield f"{e.document.id[:90]}\n    {e.document.title[:90]}\n    " + "; ".join(diffs)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", type=Path, default=Path("var/models"))
    parser.add_argument("--labels", type=Path, default=LABELS)
    parser.add_argument("--part", choices=PARTS, default="dev", help="half to measure")
    parser.add_argument("--json", action="store_true", help="full metrics, not the summary")
    parser.add_argument("--errors", action="store_true", help="also list the misclassified items")
    args = parser.parse_args()
    if not REALDATA.is_dir():
        print(f"{REALDATA}: no real data here, nothing to measure", file=sys.stderr)
        return
    model = load_current(args.models)
    if model is None:
        sys.exit(f"no current model in {args.models}: run `techwatch model train` first")
    labels = read_labels(args.labels)
    if args.part != "all":
        labels = [r for r in labels if part(f"{r['file']}#{r['identity']}") == args.part]
    labelled, missing = examples(REALDATA, labels)
    predictions = classify(model, [e.document for e in labelled])
    metrics = evaluate(labelled, predictions)
    report: dict[str, Any] = {"model": model.version, "part": args.part, "items": len(labelled)}
    report["unresolved"] = missing
    report.update(metrics if args.json else summary(metrics))
    print(json.dumps(report, indent=2, ensure_ascii=False))
    if args.errors:
        print("\n".join(errors(labelled, list(predictions))), file=sys.stderr)


if __name__ == "__main__":
    main()
