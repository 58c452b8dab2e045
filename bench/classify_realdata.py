"""The current model on real labelled advisories (../shared/realdata/labeled), per axis.

The publishers' labels are mapped to our taxonomy by techwatch/classify/realdata.py (the same
mapping the default model trains with; read its docstring). The default model trains on the
rows where `is_heldout(id)` is false, so measure it with `--part test` (the rows it never saw).
Sectors F1 on the ICS file is not a full measure (CISA never says `all`), so the figures to
read are the recalls: `vulnerability` on CERT-FR (target >= 0.95), `industry` on ICS (>= 0.90),
and severity accuracy on CVE descriptions (>= 0.80). `--write DIR` also writes the mapped rows
as labels files (uncapped), split by `is_heldout(id)` into NAME-train.jsonl (for `techwatch
model train --labels`) and NAME-test.jsonl (for `techwatch model evaluate --labels`).

    .venv/bin/python bench/classify_realdata.py --models var/models [--limit N] [--json]
        [--part all|test|train] [--write DIR]
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from techwatch.classify import Example, classify, evaluate, load_current, read_examples, realdata
from techwatch.classify.corpus import seed_files
from techwatch.classify.model import is_heldout


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
    folder = realdata.default_folder()
    if folder is None:
        sys.exit("no real labelled data: set TECHWATCH_REALDATA or add ../shared/realdata")
    model = load_current(args.models)
    if model is None:
        sys.exit(f"no current model in {args.models}: run `techwatch model train` first")
    sets = realdata.load(folder, limit=args.limit)
    sets["seed"] = read_examples(seed_files())  # how the model does on the hand-written corpus
    report: dict[str, Any] = {"model": model.version}
    for name, examples in sets.items():
        if args.write is not None and name != "seed":
            write(args.write, name, examples)
        if args.part != "all":
            examples = [e for e in examples if is_heldout(e.document.id) == (args.part == "test")]
        predictions = classify(model, [e.document for e in examples])
        metrics = evaluate(examples, predictions)
        report[name] = metrics if args.json else summary(metrics)
    print(json.dumps(report, indent=2, ensure_ascii=False))


if __name__ == "__main__":
    main()
