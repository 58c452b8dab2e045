"""Precision and recall of story grouping on the labelled pairs, at the chosen thresholds and
around them.

    .venv/bin/python bench/stories_eval.py [--realdata PATH] [--json]

The whole corpus (about 4,400 real items plus the constructed ones) is grouped as one night's
items, oldest first; each labelled pair then counts as grouped or not. Two runs per setting:
with canonical URLs (how techwatch runs) and without them, so the text rule is measured on the
CERT-FR RSS-vs-JSON pairs that a shared URL would otherwise decide.
"""

from __future__ import annotations

import argparse
import json
import os
import time
from dataclasses import replace
from datetime import timedelta
from pathlib import Path

from techwatch.stories.evaluate import Scores, group_all, load_corpus, read_pairs, score
from techwatch.stories.evidence import DEFAULT, Thresholds

REPO = Path(__file__).resolve().parents[1]
DATA = REPO / "tests" / "data" / "stories"
REALDATA = Path(os.environ.get("TECHWATCH_REALDATA", REPO.parent / "shared" / "realdata"))

SWEEP: list[tuple[str, Thresholds]] = [
    ("chosen", DEFAULT),
    *((f"text_jaccard={v}", replace(DEFAULT, text_jaccard=v)) for v in (0.3, 0.4, 0.6, 0.7)),
    *((f"cve_list_cap={v}", replace(DEFAULT, cve_list_cap=v)) for v in (1, 3, 5, 20)),
    *((f"cve_jaccard={v}", replace(DEFAULT, cve_jaccard=v)) for v in (0.34, 0.67, 1.0)),
    *((f"cve_window={d}d", replace(DEFAULT, cve_window=timedelta(days=d))) for d in (30, 90, 365)),
]


def row(name: str, scores: dict[str, Scores]) -> dict[str, object]:
    total = scores["all"]
    return {
        "setting": name,
        "precision": round(total.precision, 3),
        "recall": round(total.recall, 3),
        "tp": total.tp,
        "fp": total.fp,
        "fn": total.fn,
        "tn": total.tn,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--realdata", type=Path, default=REALDATA)
    parser.add_argument("--json", action="store_true", help="print JSON instead of tables")
    args = parser.parse_args()
    t = time.perf_counter()
    corpus = load_corpus(args.realdata, DATA / "constructed.jsonl")
    pairs = read_pairs(DATA / "pairs.jsonl")
    loaded = time.perf_counter() - t
    results: dict[str, object] = {"items": len(corpus.items), "pairs": len(pairs)}
    t = time.perf_counter()
    chosen = score(pairs, corpus.ids, group_all(corpus.items))
    results["group_seconds"] = round(time.perf_counter() - t, 2)
    results["load_seconds"] = round(loaded, 2)
    results["categories"] = {
        k: {"precision": round(v.precision, 3), "recall": round(v.recall, 3), **_counts(v)}
        for k, v in sorted(chosen.items())
    }
    results["sweep"] = [
        {**row(name, score(pairs, corpus.ids, group_all(corpus.items, th))), "urls": True}
        for name, th in SWEEP
    ] + [
        {
            **row(name, score(pairs, corpus.ids, group_all(corpus.items, th, with_urls=False))),
            "urls": False,
        }
        for name, th in SWEEP
        if name == "chosen" or name.startswith("text_")
    ]
    if args.json:
        print(json.dumps(results, indent=2))
        return
    print(
        f"{results['items']} items, {results['pairs']} labelled pairs, grouped in "
        f"{results['group_seconds']} s (corpus parsed in {results['load_seconds']} s)\n"
    )
    print(f"{'category':36} {'prec':>6} {'recall':>6} {'tp':>4} {'fp':>4} {'fn':>4} {'tn':>4}")
    for name, v in results["categories"].items():  # type: ignore[union-attr]
        print(
            f"{name:36} {v['precision']:6.3f} {v['recall']:6.3f} "
            f"{v['tp']:4} {v['fp']:4} {v['fn']:4} {v['tn']:4}"
        )
    print(f"\n{'setting':24} {'urls':>5} {'prec':>6} {'recall':>6} {'fp':>4} {'fn':>4}")
    for r in results["sweep"]:  # type: ignore[union-attr]
        print(
            f"{r['setting']:24} {r['urls']!s:>5} {r['precision']:6.3f} {r['recall']:6.3f} "
            f"{r['fp']:4} {r['fn']:4}"
        )


def _counts(s: Scores) -> dict[str, int]:
    return {"tp": s.tp, "fp": s.fp, "fn": s.fn, "tn": s.tn}


if __name__ == "__main__":
    main()
