"""The hand-labelled real news items in training: the DEV half trains, no TEST item ever does."""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path
from types import ModuleType

from techwatch.classify import realnews
from techwatch.classify.training import gather

BENCH = Path(__file__).resolve().parents[2] / "bench"
FEED = "feeds/vendor/example.xml"
GUIDS = [f"https://example.org/news/{n}" for n in range(12)]


def _rss(guids: list[str]) -> str:
    items = "".join(
        f"<item><title>Release {n} of Example</title><guid>{g}</guid>"
        f"<description>Example {n} ships fixes and new features.</description></item>"
        for n, g in enumerate(guids)
    )
    return (
        f'<?xml version="1.0"?><rss version="2.0"><channel><title>x</title>{items}</channel></rss>'
    )


def _realdata(tmp_path: Path) -> tuple[Path, Path]:
    """A realdata folder with one feed and an empty labeled/, and a labels file for the feed."""
    root = tmp_path / "realdata"
    (root / "labeled").mkdir(parents=True)
    (root / FEED).parent.mkdir(parents=True)
    (root / FEED).write_text(_rss(GUIDS), encoding="utf-8")
    rows = [
        {"file": FEED, "identity": g, "topics": ["product_update"], "sectors": ["all"]}
        | {"severity": "info"}
        for g in GUIDS
    ]
    rows.append({**rows[0], "file": "feeds/vendor/absent.xml"})  # a partial realdata copy
    labels = tmp_path / "realnews.jsonl"
    labels.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return root, labels


def _keys(part: str) -> set[str]:
    return {f"{FEED}#{g}" for g in GUIDS if realnews.part(f"{FEED}#{g}") == part}


def test_the_split_has_both_halves_here() -> None:
    assert _keys("dev") and _keys("test")


def test_training_takes_the_dev_half_only(tmp_path: Path) -> None:
    root, labels = _realdata(tmp_path)
    data = gather(
        None, include_seed=False, realdata_folder=root / "labeled", realnews_labels=labels
    )
    assert data.examples == []  # never held out: all of them train
    assert {e.document.id for e in data.train_only} == _keys("dev")
    assert data.origins == {"realnews": len(_keys("dev"))}
    assert str(labels) in data.sources
    trained = data.train_only[0]
    assert trained.topics == ("product_update",) and trained.severity == "info"
    assert trained.document.title.startswith("Release ")


def test_without_realdata_no_news_item_trains(tmp_path: Path) -> None:
    _, labels = _realdata(tmp_path)
    data = gather(None, include_seed=False, realnews_labels=labels)
    assert data.train_only == [] and "realnews" not in data.origins


def test_the_bench_measures_with_the_same_split() -> None:
    bench = _bench_module()
    assert bench.in_part is realnews.in_part
    assert bench.LABELS == realnews.LABELS


def test_no_test_item_of_the_real_labels_reaches_training(realdata: Path) -> None:
    rows = realnews.read_labels()
    test_keys = {realnews.row_key(r) for r in rows if realnews.part(realnews.row_key(r)) == "test"}
    data = gather(None, realdata_folder=realdata / "labeled")
    ids = {e.document.id for e in [*data.examples, *data.train_only]}
    assert test_keys and ids.isdisjoint(test_keys)
    assert data.origins["realnews"] == len(rows) - len(test_keys)


def _bench_module() -> ModuleType:
    path = BENCH / "classify_realnews.py"
    spec = importlib.util.spec_from_file_location("classify_realnews", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module
