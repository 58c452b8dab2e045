"""The current model on real news items labelled by hand (techwatch/classify/labels/realnews.jsonl).

Reading the items and the DEV/TEST split live in techwatch/classify/realnews.py (the labels
hold pointers into ../shared/realdata, never the publishers' text; the items are re-parsed with
techwatch's own parsers). See bench/labels/README.md for how the labels were made.

Targets (issue 4): topics micro-F1 >= 0.85 and macro-F1 >= 0.80; sectors macro-F1 >= 0.65 on
items that are not off_topic; severity accuracy >= 0.80.

    .venv/bin/python bench/classify_realnews.py --models var/models [--part test|dev|train|all]
        [--json] [--errors]

The default model trains on the DEV half and the train part (realnews_train.jsonl), through
the one split function `realnews.part`, so DEV and train figures of a default model are
training figures: report the TEST half. Seed examples must never paraphrase an evaluation item
of either half.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Final

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from techwatch.classify import Example, classify, evaluate, load_current
from techwatch.classify.realdata import default_root
from techwatch.classify.realnews import (
    LABELS,
    PARTS,
    TRAIN_LABELS,
    examples,
    in_part,
    read_labels,
)

REALDATA: Final = default_root()


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
    parser.add_argument("--train-labels", type=Path, default=TRAIN_LABELS)
    parser.add_argument("--part", choices=PARTS, default="test", help="half to measure")
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
    if args.train_labels.is_file():
        labels += read_labels(args.train_labels)
    labels = [r for r in labels if in_part(r, args.part)]
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
