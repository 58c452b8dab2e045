"""The current model on real labelled advisories (../shared/realdata/labeled), per axis.

The default model trains on the seed corpus only, so none of these rows was trained on. Labels
are the publishers' own, mapped to our taxonomy as follows (rows without a mappable label are
left out on that axis; an axis a file says nothing about stays unknown, as in a labels file):

    vulnrichment_cve_descriptions_severity.csv (CVE descriptions, English)
        severity  cvss_base_severity lower-cased: CRITICAL/HIGH/MEDIUM/LOW (NONE, empty: out)
        topics    vulnerability (every row is a CVE); exploited too when in_cisa_kev = yes
    certfr_avis_2016-2026_risks_fr.csv (CERT-FR avis, French)
        topics    vulnerability (every avis announces flaws and their fixes)
    cisa_ics_advisories_sectors.csv (CISA ICS advisories, English)
        topics    vulnerability
        severity  max_cvss_v3_severity lower-cased
        sectors   CISA critical-infrastructure sectors through CISA_SECTORS below; a row whose
                  sectors map to nothing ('Multiple', empty) is out

Sectors F1 on the ICS file is not a full measure (CISA never says `all`), so the figures to read
are the recalls: `vulnerability` on CERT-FR (target >= 0.95), `industry` on ICS (>= 0.90), and
severity accuracy on CVE descriptions (>= 0.80). `--write DIR` also writes the mapped rows as
labels files, split by `is_heldout(id)` into NAME-train.jsonl (for `techwatch model train
--labels`) and NAME-test.jsonl (for `techwatch model evaluate --labels`); `--part test` then
measures a model trained on the train files on the rows it never saw.

    .venv/bin/python bench/classify_realdata.py --models var/models [--limit N] [--json]
        [--part all|test|train] [--write DIR]
"""

from __future__ import annotations

import argparse
import csv
import json
import re
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Final

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from techwatch.classify import Document, Example, classify, evaluate, load_current
from techwatch.classify.documents import DOCUMENT_CHARS
from techwatch.classify.model import is_heldout
from techwatch.taxonomy import SEVERITY_KEYS

LABELED: Final = Path(__file__).resolve().parents[2] / "shared" / "realdata" / "labeled"
CVE_FILE: Final = "vulnrichment_cve_descriptions_severity.csv"
CERTFR_FILE: Final = "certfr_avis_2016-2026_risks_fr.csv"
ICS_FILE: Final = "cisa_ics_advisories_sectors.csv"
CISA_SECTORS: Final = {
    "critical manufacturing": "industry",
    "energy": "industry",
    "water and wastewater": "industry",
    "water and wastewater systems": "industry",
    "chemical": "industry",
    "food and agriculture": "industry",
    "transportation": "industry",
    "transportation systems": "industry",
    "dams": "industry",
    "nuclear": "industry",
    "nuclear reactors, materials, and waste": "industry",
    "defense industrial base": "industry",
    "healthcare and public health": "health",
    "financial services": "finance",
    "government facilities": "public_admin",
    "government services and facilities": "public_admin",
    "emergency services": "public_admin",
    "information technology": "it_services",
    "communications": "it_services",
    "commercial facilities": "retail_hospitality",
}
_TAGS = re.compile(r"<[^>]+>")


def rows(name: str, limit: int | None) -> Iterator[dict[str, str]]:
    csv.field_size_limit(10**7)
    with (LABELED / name).open(encoding="utf-8", newline="") as handle:
        for n, row in enumerate(csv.DictReader(handle)):
            if limit is not None and n >= limit:
                return
            yield row


def severity(value: str) -> str | None:
    label = (value or "").strip().lower()
    return label if label in SEVERITY_KEYS and label != "info" else None


def sectors(value: str) -> tuple[str, ...] | None:
    """Our sectors for CISA's free-text, multi-valued sector note; None when none maps."""
    parts = re.split(r"[;,]\s*(?![^()]*\))", value or "")
    mapped = {CISA_SECTORS.get(p.strip().lower().removeprefix("and ")) for p in parts}
    mapped -= {None}
    return tuple(sorted(mapped)) if mapped else None  # type: ignore[arg-type]


def document(doc_id: str, title: str, text: str) -> Document:
    text = _TAGS.sub("", text or "")
    return Document(doc_id, _TAGS.sub("", title or "") or doc_id, text[:DOCUMENT_CHARS])


def cve_examples(limit: int | None) -> list[Example]:
    out = []
    for row in rows(CVE_FILE, limit):
        topics = ("vulnerability", "exploited") if row["in_cisa_kev"] == "yes" else None
        out.append(
            Example(
                document(row["cve_id"], row["title"], row["description_en"]),
                topics=topics or ("vulnerability",),
                severity=severity(row["cvss_base_severity"]),
            )
        )
    return out


def certfr_examples(limit: int | None) -> list[Example]:
    return [
        Example(
            document(row["reference"], row["title_fr"], row["summary_fr"]),
            topics=("vulnerability",),
        )
        for row in rows(CERTFR_FILE, limit)
    ]


def ics_examples(limit: int | None) -> list[Example]:
    return [
        Example(
            document(row["advisory_id"], row["title"], row["risk_summary"]),
            topics=("vulnerability",),
            sectors=sectors(row["critical_infrastructure_sectors"]),
            severity=severity(row["max_cvss_v3_severity"]),
        )
        for row in rows(ICS_FILE, limit)
    ]


def summary(metrics: dict[str, Any]) -> dict[str, Any]:
    """The figures to read: micro/macro F1, accuracy, and recall per label."""
    out: dict[str, Any] = {}
    for axis, report in metrics.items():
        if not report.get("examples"):
            continue
        keep = ("examples", "micro_f1", "macro_f1", "accuracy", "within_one")
        out[axis] = {k: report[k] for k in keep if k in report}
        out[axis]["recall"] = {k: v["recall"] for k, v in report["per_label"].items()}
        if "confusion" in report:
            out[axis]["confusion"] = report["confusion"]["rows_truth_columns_predicted"]
    return out


def to_line(example: Example) -> dict[str, Any]:
    line: dict[str, Any] = {"id": example.document.id, "title": example.document.title}
    line["text"] = example.document.text
    for axis in ("topics", "sectors", "severity"):
        value = getattr(example, axis)
        if value is not None:
            line[axis] = list(value) if isinstance(value, tuple) else value
    return line


def write(folder: Path, name: str, examples: list[Example]) -> None:
    """NAME-train.jsonl and NAME-test.jsonl, split as training splits (model.is_heldout)."""
    folder.mkdir(parents=True, exist_ok=True)
    for part, held in (("train", False), ("test", True)):
        lines = [
            json.dumps(to_line(e), ensure_ascii=False) + "\n"
            for e in examples
            if is_heldout(e.document.id) == held
        ]
        (folder / f"{name}-{part}.jsonl").write_text("".join(lines), encoding="utf-8")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", type=Path, default=Path("var/models"))
    parser.add_argument("--limit", type=int, default=None, help="rows per file (default: all)")
    parser.add_argument("--json", action="store_true", help="full metrics, not the summary")
    parser.add_argument("--write", type=Path, default=None, help="also write labels files here")
    parser.add_argument("--part", choices=("all", "test", "train"), default="all")
    args = parser.parse_args()
    if not LABELED.is_dir():
        sys.exit(f"{LABELED}: no real labelled data here")
    model = load_current(args.models)
    if model is None:
        sys.exit(f"no current model in {args.models}: run `techwatch model train` first")
    sets = {
        "cve_descriptions": cve_examples(args.limit),
        "certfr_avis_fr": certfr_examples(args.limit),
        "cisa_ics": ics_examples(args.limit),
    }
    report: dict[str, Any] = {"model": model.version}
    for name, examples in sets.items():
        if args.write is not None:
            write(args.write, name, examples)
        if args.part != "all":
            examples = [e for e in examples if is_heldout(e.document.id) == (args.part == "test")]
        predictions = classify(model, [e.document for e in examples])
        metrics = evaluate(examples, predictions)
        report[name] = metrics if args.json else summary(metrics)
    print(json.dumps(report, indent=2, ensure_ascii=False))


if __name__ == "__main__":
    main()
