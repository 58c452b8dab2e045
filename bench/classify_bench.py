"""Classification speed: items/s of `classify`, as a ratio to the vectoriser alone.

Issue 4's target: >= 2,000 items/s on one core for items of realistic length. Items are the
seed corpus plus, when ../shared/realdata is there, real CVE descriptions, CERT-FR summaries
and CISA ICS risk summaries; `--min-chars` joins consecutive texts until an item is that long
(cut at DOCUMENT_CHARS as in the store), to test news-length items.

Timed in the same process, on one BLAS thread, with the current model of `--models`:

    baseline   the HashingVectorizers alone (title and text, words and chars): the least any
               n-gram model must pay, so the ratio says what the rest costs on this machine
    per-axis   the previous path: each axis' Pipeline.predict_proba (features computed three
               times) and scores built label by label
    classify   techwatch.classify.classify: hashed n-grams once per batch, shared by the axes

    .venv/bin/python bench/classify_bench.py --models var/models [--items 20000] [--min-chars 0]
"""

from __future__ import annotations

import argparse
import csv
import json
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
from sklearn.pipeline import Pipeline
from threadpoolctl import threadpool_limits

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from techwatch.classify import Document, load_current, read_examples
from techwatch.classify.corpus import seed_files
from techwatch.classify.documents import DOCUMENT_CHARS
from techwatch.classify.model import LABEL_SET, MULTI_LABEL_AXES, Model, to_frame
from techwatch.classify.predict import classify, decide

REALDATA = Path(__file__).resolve().parents[2] / "shared" / "realdata" / "labeled"
REAL_TEXTS = {
    "vulnrichment_cve_descriptions_severity.csv": ("title", "description_en"),
    "certfr_avis_2016-2026_risks_fr.csv": ("title_fr", "summary_fr"),
    "cisa_ics_advisories_sectors.csv": ("title", "risk_summary"),
}


def texts(limit_per_file: int) -> list[tuple[str, str]]:
    """(title, text) pairs: the seed corpus, then real advisories when they are there."""
    pairs = [(e.document.title, e.document.text) for e in read_examples(seed_files())]
    csv.field_size_limit(10**7)
    for name, (title, text) in REAL_TEXTS.items():
        if (REALDATA / name).is_file():
            with (REALDATA / name).open(encoding="utf-8", newline="") as handle:
                for n, row in enumerate(csv.DictReader(handle)):
                    if n >= limit_per_file:
                        break
                    pairs.append((row[title] or "", row[text] or ""))
    return pairs


def documents(pairs: list[tuple[str, str]], items: int, min_chars: int) -> list[Document]:
    """`items` documents cycling over the pairs, texts joined up to `min_chars`."""
    out, i = [], 0
    while len(out) < items:
        title, text = pairs[i % len(pairs)]
        while len(text) < min_chars:
            i += 1
            text = f"{text} {pairs[i % len(pairs)][1]}"
        out.append(Document(f"b{len(out)}", title, text[:DOCUMENT_CHARS]))
        i += 1
    return out


def vectoriser_only(model: Model, batch: list[Document]) -> None:
    """Hash the four n-gram blocks once: the features' irreducible cost."""
    frame = to_frame(batch)
    features = model.pipelines["topics"].named_steps["features"]
    for _, transformer, column in features.transformers_:
        if isinstance(transformer, Pipeline):  # not the structured columns (cvss_stated)
            transformer.steps[0][1].transform(frame[:, column])


def per_axis(model: Model, batch: list[Document]) -> None:
    """The previous classify: three full pipelines, scores assembled label by label."""
    frame = to_frame(batch)
    rows: list[dict[str, float]] = [
        {label: 0.0 for keys in LABEL_SET.values() for label in keys} for _ in batch
    ]
    for axis in (*MULTI_LABEL_AXES, "severity"):
        proba = np.asarray(model.pipelines[axis].predict_proba(frame), dtype=float)
        for j, label in enumerate(model.labels[axis]):
            for row, value in zip(rows, proba[:, j], strict=True):
                row[label] = round(float(value), 4)
    for row in rows:
        decide(row, model.thresholds)


def timed(step: Callable[[Model, list[Document]], Any], model: Model, docs, batch: int) -> dict:
    wall, cpu = time.perf_counter(), time.process_time()
    for start in range(0, len(docs), batch):
        step(model, docs[start : start + batch])
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    return {
        "wall_s": round(wall, 3),
        "cpu_s": round(cpu, 3),
        "items_per_s_wall": round(len(docs) / wall),
        "items_per_s_cpu": round(len(docs) / cpu),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", type=Path, default=Path("var/models"))
    parser.add_argument("--items", type=int, default=20_000)
    parser.add_argument("--batch", type=int, default=2_000, help="as in techwatch.classify.apply")
    parser.add_argument("--min-chars", type=int, default=0)
    parser.add_argument("--per-file", type=int, default=3_000, help="real texts per CSV")
    args = parser.parse_args()
    model = load_current(args.models)
    if model is None:
        sys.exit(f"no current model in {args.models}: run `techwatch model train` first")
    docs = documents(texts(args.per_file), args.items, args.min_chars)
    classify(model, docs[:50])  # warm-up: imports and first-call costs
    with threadpool_limits(1):
        results = {
            "baseline_vectoriser": timed(vectoriser_only, model, docs, args.batch),
            "per_axis_previous": timed(per_axis, model, docs, args.batch),
            "classify": timed(lambda m, b: classify(m, b), model, docs, args.batch),
        }
    base = results["baseline_vectoriser"]["cpu_s"]
    report = {
        "model": model.version,
        "items": len(docs),
        "mean_chars": round(float(np.mean([len(d.title) + len(d.text) for d in docs]))),
        **results,
        "cpu_ratio_to_baseline": {
            k: round(v["cpu_s"] / base, 2) for k, v in results.items() if k != "baseline_vectoriser"
        },
        "speedup_classify_vs_previous": round(
            results["per_axis_previous"]["cpu_s"] / results["classify"]["cpu_s"], 2
        ),
    }
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
