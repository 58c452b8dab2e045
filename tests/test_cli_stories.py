"""`techwatch stories list / show`: filters, JSON on stdout only, why each item joined."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from techwatch.cli import main
from techwatch.dedupe import item_id
from techwatch.storage import open_writer
from techwatch.stories.run import group_pending
from techwatch.types import ParsedItem, Source, SourceOutcome

NOW = datetime.now(UTC)
SOURCES = [
    Source("cert", "CERT", "feed", "https://cert.example.org/feed.xml", "advisory"),
    Source("press", "Press", "feed", "https://press.example.org/rss", "press"),
    Source("blog", "Blog", "feed", "https://blog.example.org/rss", "blog"),
    Source("vendor", "Vendor", "feed", "https://vendor.example.org/rss", "vendor"),
]


def _item(source: str, n: int, title: str, cves: tuple[str, ...], age_days: int) -> ParsedItem:
    return ParsedItem(
        source_id=source,
        identity=f"{source}-{n}",
        url=f"https://{source}.example/{n}",
        canonical_url=f"https://{source}.example/{n}",
        title=title,
        text=f"{title} ({source} {n})",
        html="",
        published=NOW - timedelta(days=age_days),
        language="en",
        cves=cves,
        content_hash=f"h{source}{n}",
    )


def _write(db: Path, items: list[ParsedItem], run: str) -> None:
    by_source: dict[str, list[ParsedItem]] = {}
    for item in items:
        by_source.setdefault(item.source_id, []).append(item)
    outcomes = [SourceOutcome(s, "ok", NOW, 0.1, items=tuple(v)) for s, v in by_source.items()]
    with open_writer(db) as writer:
        writer.sync_sources(SOURCES, NOW)
        writer.begin_run(run, started_at=NOW, kind="test", flow_run_id=None)
        writer.write_outcomes(run, outcomes, [], NOW)


@pytest.fixture
def db(tmp_path: Path) -> Path:
    """Three stories: FortiOS (cert + press, recent), a blog-only one, an old press one; then a
    blog post bridging FortiOS with another story, which merges into FortiOS."""
    path = tmp_path / "var" / "techwatch.duckdb"
    _write(
        path,
        [
            _item("cert", 1, "FortiOS SSL-VPN flaw exploited", ("CVE-2026-0001",), 2),
            _item("press", 1, "Patch your Fortinet now", ("CVE-2026-0001",), 1),
            _item("blog", 1, "Exim heap overflow", ("CVE-2026-0002",), 3),
            _item("press", 2, "Old printer news", (), 40),
        ],
        "run-1",
    )
    group_pending(path, now=NOW)
    _write(
        path, [_item("vendor", 1, "Two flaws chained", ("CVE-2026-0001", "CVE-2026-0002"), 0)], "r2"
    )
    group_pending(path, now=NOW)
    return path


def _run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_list_json_is_only_json_latest_first(db: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = _run(capsys, "stories", "list", "--db", str(db), "--json")
    assert code == 0
    rows = json.loads(out)
    assert [r["title"] for r in rows] == ["FortiOS SSL-VPN flaw exploited", "Old printer news"]
    assert rows[0]["source_ids"] == ["blog", "cert", "press", "vendor"]
    assert rows[0]["cves"] == ["CVE-2026-0001", "CVE-2026-0002"]


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (("--since", "7d"), 1),
        (("--min-sources", "4"), 1),
        (("--min-sources", "5"), 0),
        (("--limit", "1"), 1),
        ((), 2),
    ],
)
def test_list_filters(
    db: Path, capsys: pytest.CaptureFixture[str], args: tuple[str, ...], expected: int
) -> None:
    code, out, _ = _run(capsys, "stories", "list", "--db", str(db), "--json", *args)
    assert code == 0
    assert len(json.loads(out)) == expected


def test_list_table_for_people(db: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = _run(capsys, "stories", "list", "--db", str(db))
    assert code == 0
    assert "2 stories" in out and "FortiOS" in out


def test_show_tells_why_each_item_joined(db: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """The blog post is the oldest item, so its story kept its id when the bridge merged the
    FortiOS story into it."""
    story_id = item_id("blog", "blog-1")
    code, out, _ = _run(capsys, "stories", "show", story_id, "--db", str(db), "--json")
    assert code == 0
    story = json.loads(out)
    assert story["title"] == "FortiOS SSL-VPN flaw exploited"  # the advisory names the story
    why = {(r["source_id"], r["reason"], r["via_source"]) for r in story["items_list"]}
    assert why == {
        ("blog", "first", None),
        ("vendor", "cve", "blog"),  # the bridge: equal evidence, the older story first
        ("cert", "first", None),  # it founded the story that merged in
        ("press", "cve", "cert"),
    }
    assert [m["loser"] for m in story["merges"]] == [item_id("cert", "cert-1")]
    code, out, _ = _run(capsys, "stories", "show", story_id, "--db", str(db))
    assert code == 0
    assert {"first", "matches", "Jaccard", "0.50"} <= set(re.findall(r"[\w.]+", out))
    assert f"merged {item_id('cert', 'cert-1')}" in out


def test_a_merged_away_id_shows_the_story_it_lives_in(
    db: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = _run(capsys, "stories", "show", item_id("cert", "cert-1"), "--db", str(db))
    assert code == 0
    assert "was merged into this story" in out and item_id("blog", "blog-1") in out


@pytest.mark.parametrize(
    ("args", "code"),
    [
        (("stories", "show", "nope"), 1),
        (("stories", "list", "--since", "yesterday-ish"), 2),
        (("stories", "list", "--min-sources", "0"), 2),
    ],
)
def test_errors_and_usage(
    db: Path, capsys: pytest.CaptureFixture[str], args: tuple[str, ...], code: int
) -> None:
    got, out, err = _run(capsys, *args, "--db", str(db))
    assert got == code
    assert out == ""
    assert err


def test_no_database_is_a_runtime_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = _run(capsys, "stories", "list", "--db", str(tmp_path / "none.duckdb"))
    assert (code, out) == (1, "")
    assert "no database" in err
