"""Out-of-fold figures on the hand-labelled real news that train (DEV half and train part).

The TEST half (bench/classify_realnews.py) may only be reported, never tuned on; this is the
measure to tune with instead. The topics and sectors pipelines are fitted as the default model
fits them (same data, factory and folds as model.fit), and every real news item is predicted by
the fold that did not train on it; thresholds are tuned on all out-of-fold rows, as fit() tunes
them, and the decision rules are predict.decide's. Severity is left out (one fit of 30k rows).

    .venv/bin/python bench/classify_realnews_cv.py [--train-part none|thinned|all] [--json]
        [--draws N]

`--train-part` says how the train part trains: `thinned` (the default model's way: few of its
off_topic items, realnews.fewer_off_topic), `none` (left out, DEV still measured: what the
train-part labels add) or `all` (every item as labelled). Measured on DEV, 130 items
(session 5, load 5-9, 1-2 min a run):

    train part                     topics micro  macro   sectors micro  macro
    none                               0.736     0.579        0.667     0.335
    all 346                            0.759     0.564        0.676     0.339
    on-topic only (166)                0.736     0.632        0.646     0.425
    on-topic + 27 off_topic (14 %)     0.753     0.530        0.658     0.335
    on-topic + 16 off_topic (9 %)      0.752     0.557        0.671     0.338
    on-topic + 9 off_topic (5 %)       0.767     0.584        0.675     0.339
      another 9 (5 %)                  0.761     0.569        0.662     0.476
    on-topic + 5 off_topic (3 %)       0.742     0.631        0.697     0.487
      another 5 (3 %, thinned)         0.749     0.633        0.680     0.481

Labels with 1-3 DEV items (breach, pricing_licensing, regulation, media_creative) move the
macro figures by 0.05-0.15 from one draw to the next: read them as noisy. The draw of the folds
alone moves them as much (session 7, same data, fold seeds 0/1/2: DEV topics macro-F1 0.68,
0.56, 0.59; sectors 0.43, 0.34, 0.34): compare variants with `--draws 3`, which averages.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

import numpy as np
from threadpoolctl import threadpool_limits

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from techwatch.classify import Example, realdata, realnews, training
from techwatch.classify.evaluate import multi_label_report
from techwatch.classify.model import (
    LABEL_SET,
    MULTI_LABEL_AXES,
    _learnable,
    _out_of_fold,
    build_pipeline,
    split,
    to_frame,
    tune_threshold,
)
from techwatch.classify.predict import decide
from techwatch.taxonomy import EXCLUSIVE_TOPIC


def out_of_fold(
    examples: list[Example], axis: str, seed: int = 0
) -> tuple[dict[str, float], dict[str, dict[str, float]]]:
    """(thresholds tuned on all rows, {example id: {label: out-of-fold probability}}); `seed`
    draws the folds."""
    known = [e for e in examples if e.knows(axis)]
    columns = _learnable(axis, known)
    truth = np.array([[c in getattr(e, axis) for c in columns] for e in known], dtype=np.int8)
    frame = to_frame([e.document for e in known])
    proba = _out_of_fold(build_pipeline(axis), frame, truth, seed)
    thresholds = {c: tune_threshold(truth[:, j], proba[:, j]) for j, c in enumerate(columns)}
    rows = zip(known, proba.tolist(), strict=True)
    scores = {e.document.id: dict(zip(columns, row, strict=True)) for e, row in rows}
    return thresholds, scores


def measure(
    examples: list[Example], news: list[Example], seed: int, *, per_label: bool
) -> dict[str, Any]:
    """Out-of-fold figures of the DEV and train parts for one draw of the folds."""
    thresholds: dict[str, dict[str, float]] = {}
    scores: dict[str, dict[str, float]] = {}
    with threadpool_limits(1, user_api="blas"):
        for axis in MULTI_LABEL_AXES:
            thresholds[axis], by_id = out_of_fold(examples, axis, seed)
            for key, row in by_id.items():
                scores.setdefault(key, {}).update(row)
    report: dict[str, Any] = {}
    for part in ("dev", "train"):
        items = [e for e in news if realnews.part(e.document.id) == part]
        decided = {e.document.id: decide(scores[e.document.id], thresholds) for e in items}
        topics = [(e.topics, decided[e.document.id][0]) for e in items]
        sectors = [
            (e.sectors, decided[e.document.id][1])
            for e in items
            if EXCLUSIVE_TOPIC not in (e.topics or ())
        ]
        for axis, pairs in (("topics", topics), ("sectors", sectors)):
            if not pairs:
                continue
            full = multi_label_report(pairs, LABEL_SET[axis])
            keep = ("examples", "micro_f1", "macro_f1", *(("per_label",) if per_label else ()))
            report[f"{part} {axis}"] = {k: full[k] for k in keep if k in full}
    return report


def mean_of(reports: list[dict[str, Any]]) -> dict[str, Any]:
    """The draws' mean of each figure (per-label figures too), rounded as the reports are."""
    out: dict[str, Any] = {"examples": reports[0]["examples"]}
    for key in ("micro_f1", "macro_f1"):
        out[key] = round(sum(r[key] for r in reports) / len(reports), 4)
    if "per_label" in reports[0]:
        labels = {label for r in reports for label in r["per_label"]}
        out["per_label"] = {
            label: {
                figure: round(sum(r["per_label"][label][figure] for r in reports) / len(reports), 4)
                for figure in ("precision", "recall", "f1", "support")
            }
            for label in sorted(labels)
        }
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--train-part", choices=("none", "thinned", "all"), default="thinned")
    parser.add_argument("--json", action="store_true", help="per-label figures too")
    parser.add_argument(
        "--draws", type=int, default=1, help="fold draws to average (seeds 0..N-1); 3 advised"
    )
    args = parser.parse_args()
    folder = realdata.default_folder()
    if folder is None:
        print("no real data here, nothing to measure", file=sys.stderr)
        return
    data = training.gather(None, realdata_folder=folder)
    taken = {e.document.id for e in data.examples}
    share = 1.0 if args.train_part == "all" else realnews.OFF_TOPIC_SHARE
    news = realnews.for_training(folder.parent, off_topic_share=share)
    news = [e for e in news if e.document.id not in taken]  # as training.gather
    if args.train_part == "none":
        news = [e for e in news if realnews.part(e.document.id) == "dev"]
    examples = [*split(data.examples, seed=0)[0], *news]  # as train(): held-out rows never fit
    draws = [measure(examples, news, seed, per_label=args.json) for seed in range(args.draws)]
    report: dict[str, Any] = {"train_part": args.train_part, "draws": args.draws}
    for key, first in draws[0].items():
        report[key] = first if args.draws == 1 else mean_of([d[key] for d in draws])
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
