"""A story's row is folded from its stored row and the items joining it (storage.stories._fold):
after any sequence of nights, chunks, merges and updated items, every stored row must equal the
row recomputed from all the story's items (storage.stories.rebuild), the former way."""

from __future__ import annotations

import random
from dataclasses import replace
from datetime import datetime, timedelta
from pathlib import Path

import duckdb
import pytest

from techwatch.storage import open_writer
from techwatch.storage import stories as story_store
from techwatch.stories.run import group_pending
from techwatch.types import ParsedItem
from tests.storage.factories import T0, item, source
from tests.storage.nights import write_night

HOUR = timedelta(hours=1)
CATEGORIES = [*story_store.TITLE_PREFERENCE, "other"]
#: Every column a story row holds but `updated_at` (the time of the last refresh, by design
#: not the same for a story left alone and for its recomputation).
COMPARED = (
    "story_id, title, first_seen, last_seen, items, sources, cves, created_at, title_item, "
    "title_source, title_seen"
)


def sources(rng: random.Random) -> list:
    return [source(f"s{n}", category=rng.choice(CATEGORIES)) for n in range(8)]


def random_item(rng: random.Random, source_id: str, identity: str, night: datetime) -> ParsedItem:
    """An item naming 0-2 of a few CVEs (so stories join and merge), at times with a shared URL
    or title, published around the night or not at all (then its first sighting counts)."""
    cves = tuple(sorted(rng.sample([f"CVE-2026-000{n}" for n in range(6)], rng.randint(0, 2))))
    published = None if rng.random() < 0.2 else night - rng.randint(0, 72) * HOUR
    text = f"{identity} {rng.random()}"
    found = item(
        source_id,
        identity,
        title=rng.choice(["Same title", f"title {identity}", f"title {rng.randint(0, 99)}"]),
        text=text,
        canonical_url=rng.choice([None, None, "https://news.example/a/1"]),
        published=published,
    )
    return replace(found, cves=cves)


def stored_and_rebuilt(db: Path) -> tuple[list[tuple], list[tuple]]:
    with duckdb.connect(str(db)) as conn:
        stored = conn.execute(f"SELECT {COMPARED} FROM stories ORDER BY story_id").fetchall()
        story_store.rebuild(conn, "SELECT story_id FROM stories", T0)
        rebuilt = conn.execute(f"SELECT {COMPARED} FROM story_full ORDER BY story_id").fetchall()
    return stored, rebuilt


def counts(db: Path) -> tuple[int, int]:
    with duckdb.connect(str(db), read_only=True) as conn:
        row = conn.execute(
            "SELECT (SELECT count(*) FROM story_merges), "
            "(SELECT count(*) FROM stories WHERE items > 1)"
        ).fetchone()
    assert row is not None
    return int(row[0]), int(row[1])


@pytest.mark.parametrize("seed", range(4))
def test_folded_rows_equal_rows_rebuilt_from_all_items(tmp_path: Path, seed: int) -> None:
    rng = random.Random(seed)
    db = tmp_path / "store.duckdb"
    listed = sources(rng)
    written: list[ParsedItem] = []
    for night_no in range(5):
        night = T0 + night_no * 24 * HOUR
        new = [
            random_item(rng, f"s{rng.randrange(8)}", f"n{night_no}-{k}", night)
            for k in range(rng.randint(4, 14))
        ]
        # some stored items come back changed: new title, date or CVEs (grouped again)
        again = [
            random_item(rng, old.source_id, old.identity, night)
            for old in rng.sample(written, min(len(written), rng.randint(0, 3)))
        ]
        write_night(db, night, listed, new + again)
        written += new
        group_pending(db, now=night + HOUR, chunk=rng.randint(1, 5))
        stored, rebuilt = stored_and_rebuilt(db)
        assert stored == rebuilt
        assert all(row[8] is not None for row in stored)  # every title's item is known
    merges, joined = counts(db)
    assert joined > 0 and merges > 0  # the sequence exercised joins and merges


def test_a_story_without_a_known_title_item_is_recomputed_when_touched(tmp_path: Path) -> None:
    rng = random.Random(11)
    db = tmp_path / "store.duckdb"
    listed = sources(rng)
    first = [random_item(rng, f"s{n % 8}", f"a{n}", T0) for n in range(20)]
    write_night(db, T0, listed, first)
    group_pending(db, now=T0 + HOUR)
    with duckdb.connect(str(db)) as conn:  # as a store written before migration 0017
        conn.execute("UPDATE stories SET title_item = NULL, title_source = NULL, title_seen = NULL")
    later = T0 + 24 * HOUR
    write_night(
        db, later, listed, [random_item(rng, f"s{n % 8}", f"b{n}", later) for n in range(20)]
    )
    group_pending(db, now=later + HOUR, chunk=3)
    stored, rebuilt = stored_and_rebuilt(db)
    touched = [row for row in stored if row[8] is not None]
    assert touched and len(touched) < len(stored)  # the untouched ones stay unknown
    assert touched == [row for row in rebuilt if row[0] in {t[0] for t in touched}]


def test_the_migration_fills_the_title_item_of_stored_stories(tmp_path: Path) -> None:
    rng = random.Random(12)
    db = tmp_path / "store.duckdb"
    listed = sources(rng)
    write_night(db, T0, listed, [random_item(rng, f"s{n % 8}", f"a{n}", T0) for n in range(30)])
    group_pending(db, now=T0 + HOUR)
    expected, _ = stored_and_rebuilt(db)
    with duckdb.connect(str(db)) as conn:  # the store as it was before migration 0017
        for column in ("title_item", "title_source", "title_seen"):
            conn.execute(f"ALTER TABLE stories DROP COLUMN {column}")
        conn.execute("DELETE FROM schema_migrations WHERE version = 17")
    with open_writer(db):
        pass
    migrated, _ = stored_and_rebuilt(db)
    assert migrated == expected


def test_a_source_changing_category_gets_its_stories_titles_recomputed(tmp_path: Path) -> None:
    """The title ranks items by their source's category: when a source moves up (a blog
    becomes an advisory publisher), a story it is in must rank its items again when next
    touched, not only compare its former title item with the newcomers."""
    db = tmp_path / "store.duckdb"
    cve = ("CVE-2026-4242",)

    def named(source_id: str, identity: str, night: datetime) -> ParsedItem:
        found = item(source_id, identity, title=f"title of {identity}", published=night)
        return replace(found, cves=cve)

    before = [source("a", category="blog"), source("b", category="press"), source("c")]
    write_night(db, T0, before, [named("a", "a1", T0), named("b", "b1", T0)])
    group_pending(db, now=T0 + HOUR)
    assert stored_and_rebuilt(db)[0][0][1] == "title of b1"  # press ranks before blog
    later = T0 + 24 * HOUR
    after = [source("a", category="advisory"), before[1], source("c", category="blog")]
    write_night(db, later, after, [named("c", "c1", later)])
    group_pending(db, now=later + HOUR)
    stored, rebuilt = stored_and_rebuilt(db)
    assert [row[1] for row in stored] == ["title of a1"]  # one story, its advisory's title
    assert stored == rebuilt
