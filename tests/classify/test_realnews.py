"""The hand-labelled real news items in training: the DEV half and the train part train, no TEST
item ever does (nor an item bearing a TEST item's title)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from techwatch.classify import realnews
from techwatch.classify.training import gather
from tests.benches import load_bench

FEED = "feeds/vendor/example.xml"
MIRROR = "feeds/tech-news/mirror.xml"  # the same titles under other addresses
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
    _write(labels, rows)
    return root, labels


def _write(path: Path, rows: list[dict[str, object]]) -> None:
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")


def _row(file: str, identity: str) -> dict[str, object]:
    return {"file": file, "identity": identity, "topics": ["ai"], "sectors": ["all"]} | {
        "severity": "low"
    }


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


def test_the_train_part_trains_but_never_a_test_item_or_its_title(tmp_path: Path) -> None:
    root, labels = _realdata(tmp_path)
    (root / MIRROR).parent.mkdir(parents=True)
    mirror = [f"https://mirror.example/{n}" for n in range(12)]
    (root / MIRROR).write_text(_rss(mirror), encoding="utf-8")
    test, dev = sorted(_keys("test")), sorted(_keys("dev"))
    extra = tmp_path / "realnews_train.jsonl"
    # every mirrored item, a TEST item and a DEV item (already trained as DEV) labelled again
    keys = [f"{MIRROR}#{g}" for g in mirror] + [test[0], dev[0]]
    _write(extra, [_row(*key.split("#", 1)) for key in keys])

    news = realnews.for_training(root, labels, extra)

    ids = {e.document.id for e in news}
    test_numbers = {GUIDS.index(key.split("#", 1)[1]) for key in test}
    kept_mirror = {f"{MIRROR}#{g}" for n, g in enumerate(mirror) if n not in test_numbers}
    assert ids == _keys("dev") | kept_mirror  # "Release n" of a TEST item: not under any address
    assert ids.isdisjoint(test) and kept_mirror and len(news) == len(ids)
    by_id = {e.document.id: e for e in news}
    assert by_id[dev[0]].severity == "info"  # the DEV line wins over a second one


def test_without_realdata_no_news_item_trains(tmp_path: Path) -> None:
    _, labels = _realdata(tmp_path)
    data = gather(None, include_seed=False, realnews_labels=labels)
    assert data.train_only == [] and "realnews" not in data.origins


def test_the_bench_measures_with_the_same_split() -> None:
    bench = load_bench("classify_realnews")
    assert bench.in_part is realnews.in_part
    assert bench.LABELS == realnews.LABELS


def test_no_test_item_of_the_real_labels_reaches_training(realdata: Path) -> None:
    rows = [*realnews.read_labels(), *realnews.read_labels(realnews.TRAIN_LABELS)]
    test = [r for r in rows if realnews.in_part(r, "test")]
    test_keys = {realnews.row_key(r) for r in test}
    data = gather(None, realdata_folder=realdata / "labeled")
    trained = [*data.examples, *data.train_only]
    assert test_keys and {e.document.id for e in trained}.isdisjoint(test_keys)
    titles = {realnews.title_key(e.document.title) for e in realnews.examples(realdata, test)[0]}
    news = [e for e in data.train_only if realnews.part(e.document.id) in {"dev", "train"}]
    assert {realnews.title_key(e.document.title) for e in news}.isdisjoint(titles - {""})
    dev = [r for r in rows if realnews.in_part(r, "dev")]
    train = realnews.fewer_off_topic(realnews.read_labels(realnews.TRAIN_LABELS))
    assert data.origins["realnews"] == len(news) == len(dev) + len(train)


@pytest.mark.parametrize(
    ("on", "off", "share", "kept_off"),
    [
        (20, 30, 0.2, 5),  # off_topic rows are a fifth of what trains
        (166, 180, 0.03, 5),  # the real train part
        (20, 3, 0.2, 3),  # never more than there are
        (0, 30, 0.2, 0),
        (20, 30, 1.0, 30),  # everything, as labelled
    ],
)
def test_only_a_share_of_off_topic_train_items_trains(
    on: int, off: int, share: float, kept_off: int
) -> None:
    rows = [{**_row(FEED, f"on-{n}"), "topics": ["product_update"]} for n in range(on)] + [
        {**_row(FEED, f"off-{n}"), "topics": ["off_topic"], "sectors": []} for n in range(off)
    ]
    kept = realnews.fewer_off_topic(rows, share)
    assert [r for r in kept if r["topics"] != ["off_topic"]] == rows[:on]
    assert sum(r["topics"] == ["off_topic"] for r in kept) == kept_off
    again = realnews.fewer_off_topic(list(reversed(rows)), share)  # the same, in any order
    assert {realnews.row_key(r) for r in again} == {realnews.row_key(r) for r in kept}


def test_a_train_row_without_topics_trains_as_labelled_on_its_other_axes() -> None:
    rows = [
        {k: v for k, v in _row(FEED, "sectors-only").items() if k != "topics"},
        {**_row(FEED, "off"), "topics": ["off_topic"], "sectors": []},
    ]
    kept = realnews.fewer_off_topic(rows, 0.03)
    assert [realnews.row_key(r) for r in kept] == [realnews.row_key(rows[0])]
