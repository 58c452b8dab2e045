"""SQL of stories: pending items, candidate retrieval, storing a plan, and the read views.

Candidates for a chunk of pending items come from three narrow lookups, never a scan of every
item's text: items naming one of the chunk's CVEs (story_cves holds the CVEs of grouped items,
one row each), items with one of its canonical URLs, and items sharing a MinHash band key
(story_bands keeps the keys of items stored in the last BAND_RETENTION, enough for the text
window of evidence.py).
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from itertools import chain
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from techwatch.storage.connection import Conn, registered
from techwatch.storage.rows import dicts
from techwatch.stories.grouping import MAX_BAND_BUCKET, MAX_CVE_BUCKET, Plan, StoredStory, StoryItem
from techwatch.stories.neardup import LEAD_CHARS

BAND_RETENTION = timedelta(days=45)

#: The story title comes from the most authoritative kind of source, then the earliest item.
TITLE_PREFERENCE = ["advisory", "vendor", "regulation", "status", "press", "blog"]

#: An item's date: its publication, unless missing or later than when we first saw it.
_SEEN = "least(coalesce(i.published, i.first_seen), i.first_seen)"

_LEAD = f"left(i.text, {LEAD_CHARS})"
_ITEM_FIELDS = f"i.id, i.source_id, i.title, {_LEAD}, i.canonical_url, i.cves"
#: A candidate's title or lead, or '' when the planner never compares its text: when it names
#: CVEs and shares no URL or band key with a pending item naming none (two CVE lists decide
#: without text, and an item naming no CVE finds candidates through URLs and bands only). Why:
#: on a CVE-heavy backlog most candidates come through a CVE, and reading their texts was
#: most of the cost of reading candidates.
_IF_TEXTED = (
    "CASE WHEN coalesce(len(i.cves), 0) = 0 OR coalesce(b.cveless, false) "
    "OR i.canonical_url IN (SELECT url FROM p_urls WHERE cveless) THEN {} ELSE '' END"
)

STR = pa.string()


def pending(conn: Conn, limit: int) -> list[tuple[StoryItem, str | None]]:
    """The next `limit` items never grouped, or updated since they were, with their story (None
    when new).

    Ordered by first sighting, then date, then id: the same store gives the same order. Every
    pending item is lined up once, with what grouping reads of it, in the connection's temp
    table `story_queue`, when the queue is empty; each call then takes the next chunk from it.
    Why: choosing each chunk among all pending items sorted the whole backlog once per chunk,
    and reading a chunk's rows back from `items` scanned every stored text once per chunk,
    two costs that grew with the square of a first grouping's size. Items a failed run left in
    the queue are still pending: they come first, unless one of them changed since it was
    lined up, then the queue is lined up again.

    Pending items that fit in one chunk (a night's) are read at once, without the queue: it
    would be filled, read, checked and emptied for one chunk, then lined up again only to
    find none left (0.15-0.2 s of CPU on the ingestion bench's 15,000 items, 0.05 s read
    directly, and a count of pending items finds the end).
    """
    if not _queued(conn):
        waiting = _count_pending(conn)
        if not waiting:
            return []
        if waiting <= limit:
            rows = conn.execute(f"{_QUEUE_ROWS} ORDER BY q.pos").to_arrow_table()
            return _chunk_items(conn, rows)
        _line_up(conn)
    table = _next_chunk(conn, limit)
    if table.num_rows and _changed(conn, table):
        _line_up(conn)
        table = _next_chunk(conn, limit)
    if not table.num_rows:
        return []
    conn.execute("DELETE FROM story_queue WHERE pos <= ?", [table["pos"][-1].as_py()])
    return _chunk_items(conn, table)


def _chunk_items(conn: Conn, table: pa.Table) -> list[tuple[StoryItem, str | None]]:
    """The items of a chunk's rows (those of `_QUEUE_ROWS`) with their current story."""
    return list(zip(_story_items(table), _current_stories(conn, table), strict=True))


# The items waiting for grouping: never grouped, or written again since they were.
_PENDING = (
    "FROM items i LEFT JOIN story_items s ON s.item_id = i.id "
    "WHERE s.item_id IS NULL OR i.updated_at > s.grouped_at"
)


def any_pending(conn: Conn) -> bool:
    """Whether some item waits for grouping: a night that stored nothing new or changed skips
    the grouping stage when none does."""
    row = conn.execute(f"SELECT EXISTS (SELECT 1 {_PENDING})").fetchone()
    return bool(row and row[0])


def _count_pending(conn: Conn) -> int:
    row = conn.execute(f"SELECT count(*) {_PENDING}").fetchone()
    return int(row[0]) if row else 0


#: Every pending item, in grouping order, with what grouping reads of it. Positions are
#: numbered on narrow rows, then the texts joined once: sorting the wide rows held every
#: pending text in the sort at once.
_QUEUE_ROWS = (
    f"SELECT i.id, i.source_id, i.title, {_LEAD} AS lead, i.canonical_url, i.cves, "
    f"       epoch_us({_SEEN}) AS seen, q.grouped, q.pos, i.updated_at, i.content_hash "
    "FROM (SELECT i.id, s.item_id IS NOT NULL AS grouped, "
    f"            row_number() OVER (ORDER BY i.first_seen, {_SEEN}, i.id) AS pos "
    f"      {_PENDING}) q "
    "JOIN items i ON i.id = q.id"
)


def _line_up(conn: Conn) -> None:
    """Fill `story_queue` with every pending item (`_QUEUE_ROWS`)."""
    conn.execute(f"CREATE OR REPLACE TEMP TABLE story_queue AS {_QUEUE_ROWS}")


def _next_chunk(conn: Conn, limit: int) -> pa.Table:
    return conn.execute(
        "SELECT * FROM story_queue WHERE pos < (SELECT min(pos) FROM story_queue) + ? ORDER BY pos",
        [limit],
    ).to_arrow_table()


def _changed(conn: Conn, chunk: pa.Table) -> bool:
    """Whether an item of a queued chunk was written again since it was lined up (a grouping
    that failed left the queue, then the caller stored items through the same connection).
    A narrow look-up: ids, dates and hashes only."""
    lined = chunk.select(["id", "updated_at", "content_hash"])
    with registered(conn, p_lined=lined):
        row = conn.execute(
            "SELECT count(*) FROM items i JOIN p_lined q ON q.id = i.id "
            "WHERE i.updated_at IS DISTINCT FROM q.updated_at "
            "OR i.content_hash IS DISTINCT FROM q.content_hash"
        ).fetchone()
    return bool(row and row[0])


def _current_stories(conn: Conn, chunk: pa.Table) -> list[str | None]:
    """The story each item of a queued chunk is in now (None when new). Only items grouped
    before they were queued are looked up (a merge may have moved them since): a first
    grouping's chunks need no look-up at all."""
    ids = chunk.column(0).to_pylist()
    grouped = [i for i, was in zip(ids, chunk["grouped"].to_pylist(), strict=True) if was]
    if not grouped:
        return [None] * len(ids)
    wanted = pa.table({"id": grouped}, schema=pa.schema([("id", STR)]))
    with registered(conn, p_grouped=wanted):
        found = dict(
            conn.execute(
                "SELECT item_id, story_id FROM story_items "
                "WHERE item_id IN (SELECT id FROM p_grouped)"
            ).fetchall()
        )
    return [found.get(item_id) for item_id in ids]


def _queued(conn: Conn) -> bool:
    """Whether this connection's grouping queue holds items (see `pending`)."""
    exists = conn.execute(
        "SELECT count(*) FROM duckdb_tables() WHERE temporary AND table_name = 'story_queue'"
    ).fetchone()
    if not exists or not exists[0]:
        return False
    left = conn.execute("SELECT count(*) FROM story_queue").fetchone()
    return bool(left and left[0])


def candidates(
    conn: Conn, items: Sequence[StoryItem]
) -> tuple[list[tuple[StoryItem, str]], list[StoredStory]]:
    """Grouped items sharing a CVE (the latest MAX_CVE_BUCKET naming it, as the planner
    compares), a canonical URL or a band key with `items`, each with its story; and those
    stories, plus the stories `items` are already in. A candidate carries only the band keys
    `items` hold too: the planner looks up no other (and fetching them all made the candidates
    of a large backlog cost more than its matching)."""
    ids = pa.table({"id": [i.item_id for i in items]}, schema=pa.schema([("id", STR)]))
    cves = pa.table({"cve": sorted({c for i in items for c in i.cves})}, schema=_CVE)
    url_list = sorted({i.canonical_url for i in items if i.canonical_url})
    cveless_urls = {i.canonical_url for i in items if i.canonical_url and not i.cves}
    urls = pa.table({"url": url_list, "cveless": [u in cveless_urls for u in url_list]}, _URL)
    bands = _band_keys(items)
    with registered(conn, p_ids=ids, p_cves=cves, p_urls=urls, p_bands=bands):
        conn.execute(
            "CREATE OR REPLACE TEMP TABLE story_cand AS "
            "SELECT id FROM ("
            "   SELECT item_id AS id FROM story_cves "
            "    WHERE cve IN (SELECT cve FROM p_cves) AND item_id NOT IN (SELECT id FROM p_ids) "
            "    QUALIFY row_number() OVER (PARTITION BY cve ORDER BY seen DESC, item_id DESC) "
            "            <= ?) "
            "UNION SELECT id FROM items WHERE canonical_url IN (SELECT url FROM p_urls) "
            "UNION SELECT item_id FROM ("
            "    SELECT b.item_id FROM story_bands b JOIN p_bands p ON p.key = b.key "
            "    WHERE b.cveless OR p.cveless "
            "    QUALIFY row_number() OVER (PARTITION BY b.key ORDER BY b.stored_at DESC, "
            "                               b.item_id DESC) <= ?)",
            [MAX_CVE_BUCKET, MAX_BAND_BUCKET],
        )
        table = conn.execute(
            f"SELECT i.id, i.source_id, {_IF_TEXTED.format('i.title')}, "
            f"       {_IF_TEXTED.format(_LEAD)}, i.canonical_url, i.cves, epoch_us({_SEEN}), "
            "       s.story_id, coalesce(b.keys, []) "
            "FROM story_cand c JOIN items i ON i.id = c.id "
            "JOIN story_items s ON s.item_id = i.id "
            "LEFT JOIN (SELECT sb.item_id, list(sb.key ORDER BY sb.key) AS keys, "
            "                  bool_or(p.cveless) AS cveless "
            "           FROM story_bands sb JOIN p_bands p ON p.key = sb.key "
            "           WHERE sb.item_id IN (SELECT id FROM story_cand) GROUP BY sb.item_id) b "
            "       ON b.item_id = i.id "
            "WHERE i.id NOT IN (SELECT id FROM p_ids) ORDER BY i.id"
        ).to_arrow_table()
        found = _story_items(table, [tuple(k) for k in table.column(8).to_pylist()])
        known = list(zip(found, table.column(7).to_pylist(), strict=True))
        current = conn.execute(
            "SELECT DISTINCT story_id FROM story_items WHERE item_id IN (SELECT id FROM p_ids)"
        ).fetchall()
        story_ids = sorted({sid for _, sid in known} | {str(r[0]) for r in current})
        conn.execute("DROP TABLE story_cand")
    return known, _stories(conn, story_ids)


def _band_keys(items: Sequence[StoryItem]) -> pa.Table:
    """The distinct band keys of `items`, each marked `cveless` when an item naming no CVE
    holds it: one numpy sort of the chunk's keys. Why: two sets and a membership test per
    key in Python took 0.04-0.05 s of CPU for a night's 150,000 keys, this 0.02-0.03 s."""
    counts = np.fromiter((len(i.bands) for i in items), np.int64, len(items))
    keys = np.fromiter(chain.from_iterable(i.bands for i in items), np.int64, int(counts.sum()))
    named = np.repeat(np.fromiter((bool(i.cves) for i in items), bool, len(items)), counts)
    order = np.lexsort((named, keys))  # a key's cveless holder, if any, first
    keys, named = keys[order], named[order]
    first = np.ones(len(keys), dtype=bool)
    first[1:] = keys[1:] != keys[:-1]
    return pa.table([keys[first], ~named[first]], schema=_KEY)


def _stories(conn: Conn, story_ids: Sequence[str]) -> list[StoredStory]:
    """The stored stories named, with the item each source gave them."""
    table = pa.table({"story_id": list(story_ids)}, schema=pa.schema([("story_id", STR)]))
    with registered(conn, wanted=table):
        found = conn.execute(
            "SELECT st.story_id, epoch_us(st.first_seen), i.source_id, i.id FROM stories st "
            "JOIN story_items si ON si.story_id = st.story_id JOIN items i ON i.id = si.item_id "
            "WHERE st.story_id IN (SELECT story_id FROM wanted) ORDER BY st.story_id, i.id"
        ).to_arrow_table()
    first: dict[str, datetime] = {}
    members: defaultdict[str, dict[str, str]] = defaultdict(dict)
    rows = zip(*(found.column(n).to_pylist() for n in range(4)), strict=True)
    for story_id, first_seen, source_id, item_id in rows:
        if story_id not in first:
            first[story_id] = _EPOCH + timedelta(microseconds=first_seen)
        members[story_id][source_id] = item_id
    return [StoredStory(sid, first[sid], members[sid]) for sid in sorted(first)]


def apply(
    conn: Conn,
    plan: Plan,
    items: Sequence[StoryItem],
    now: datetime,
) -> None:
    """Store a plan in the caller's transaction: joins, merges, band keys, story rows. Only
    items grouped before (those the plan does not join anywhere) can have rows to update or
    replace: a first grouping's chunks skip those statements, each a scan of a table that
    grows with every chunk. The touched stories' rows are folded from their stored rows and
    the joined items before the merges remove the losers' rows (see `_fold`)."""
    final = merge_winners(plan)
    joins = pa.table(
        {
            "item_id": [j.item_id for j in plan.joins],
            "story_id": [j.story_id for j in plan.joins],
            "reason": [j.reason for j in plan.joins],
            "score": [j.score for j in plan.joins],
            "via": [j.via for j in plan.joins],
        },
        schema=_JOINS,
    )
    joined = {j.item_id for j in plan.joins}
    regrouped = [i.item_id for i in items if i.item_id not in joined]
    grouped = pa.table({"id": regrouped}, schema=pa.schema([("id", STR)]))
    merged = pa.table({"loser": list(final), "winner": list(final.values())}, schema=_MAP)
    columns = _ItemColumns.of(items)
    touched = pa.table({"story_id": list(plan.touched)}, schema=pa.schema([("story_id", STR)]))
    merges = pa.table(
        {
            "loser": [m.loser for m in plan.merges],
            "winner": [m.winner for m in plan.merges],
            "item_id": [m.item_id for m in plan.merges],
            "reason": [m.reason for m in plan.merges],
            "score": [m.score for m in plan.merges],
        },
        schema=_MERGES,
    )
    params = {"now": now}
    with registered(
        conn,
        s_joins=joins,
        s_grouped=grouped,
        s_merged=merged,
        s_merges=merges,
        s_bands=columns.bands(),
        s_touched=touched,
        s_cves=columns.cve_rows(),
        s_new=columns.joined_rows(plan, items),
    ):
        _fold(conn, now)
        if regrouped:
            conn.execute(
                "UPDATE story_items SET grouped_at = greatest($now, i.updated_at) FROM items i "
                "WHERE story_items.item_id = i.id AND i.id IN (SELECT id FROM s_grouped)",
                params,
            )
        conn.execute(
            "INSERT INTO story_items (item_id, story_id, reason, score, via, added_at, grouped_at) "
            "SELECT j.item_id, j.story_id, j.reason, j.score, j.via, $now, "
            "       greatest($now, i.updated_at) "
            "FROM s_joins j JOIN items i ON i.id = j.item_id",
            params,
        )
        if plan.merges:  # one statement: executemany costs a round trip per row
            conn.execute(
                "UPDATE story_items SET story_id = m.winner FROM s_merged m "
                "WHERE story_items.story_id = m.loser"
            )
            conn.execute(
                "INSERT INTO story_merges (loser, winner, item_id, reason, score, merged_at) "
                "SELECT loser, winner, item_id, reason, score, $now FROM s_merges",
                params,
            )
            conn.execute("DELETE FROM stories WHERE story_id IN (SELECT loser FROM s_merged)")
        if regrouped:
            conn.execute("DELETE FROM story_bands WHERE item_id IN (SELECT id FROM s_grouped)")
            conn.execute("DELETE FROM story_cves WHERE item_id IN (SELECT id FROM s_grouped)")
        conn.execute("INSERT INTO story_cves SELECT cve, item_id, seen FROM s_cves")
        conn.execute(
            "DELETE FROM story_bands WHERE stored_at < $cutoff", {"cutoff": now - BAND_RETENTION}
        )
        conn.execute(
            "INSERT INTO story_bands (key, item_id, cveless, stored_at) "
            "SELECT key, item_id, cveless, $now FROM s_bands",
            params,
        )
        _store_rows(conn, now, regrouped=bool(regrouped))


@dataclass(frozen=True, slots=True)
class _ItemColumns:
    """A chunk's items as Arrow columns, each converted once: the band keys, CVE and joined
    items' rows are cut from them. Why: built row by row (a date converted per CVE an item
    names, 59k on the real advisories' 3.9k items, CVE lists sorted twice), these rows cost
    0.10-0.16 s of an import's grouping CPU, 0.03-0.05 s now (at a load of 8-10)."""

    ids: pa.Array
    seen: pa.Array  # timestamp("us", UTC): an item's date, converted from Python once
    cves: pa.ListArray  # its CVEs, sorted
    band_keys: pa.ListArray  # its MinHash band keys
    cveless: pa.Array  # whether it names no CVE

    @classmethod
    def of(cls, items: Sequence[StoryItem]) -> _ItemColumns:
        return cls(
            pa.array([i.item_id for i in items], STR),
            pa.array([i.seen for i in items], _CVE_ROWS.field("seen").type),
            pa.array([sorted(i.cves) for i in items], _NEW.field("cves").type),
            pa.array([i.bands for i in items], pa.list_(pa.int64())),
            pa.array([not i.cves for i in items], pa.bool_()),
        )

    def bands(self) -> pa.Table:
        """The story_bands rows: one per band key of an item."""
        owner = pc.list_parent_indices(self.band_keys)
        return pa.table(
            [self.band_keys.flatten(), self.ids.take(owner), self.cveless.take(owner)],
            schema=_BANDS,
        )

    def cve_rows(self) -> pa.Table:
        """The story_cves rows: one per CVE an item names, with its date."""
        owner = pc.list_parent_indices(self.cves)
        return pa.table(
            [self.cves.flatten(), self.ids.take(owner), self.seen.take(owner)], schema=_CVE_ROWS
        )

    def joined_rows(self, plan: Plan, items: Sequence[StoryItem]) -> pa.Table:
        """The items a plan joins to a story, with what a story row takes from them."""
        story_of = {j.item_id: j.story_id for j in plan.joins}
        numbers = [n for n, i in enumerate(items) if i.item_id in story_of]
        joined = [items[n] for n in numbers]
        rows = pa.array(numbers, pa.int64())
        alone = founded_alone(plan)
        return pa.table(
            [
                pa.array([story_of[i.item_id] for i in joined], STR),
                self.ids.take(rows),
                pa.array([i.source_id for i in joined], STR),
                pa.array([i.title for i in joined], STR),
                self.seen.take(rows),
                self.cves.take(rows),
                pa.array([story_of[i.item_id] in alone for i in joined], pa.bool_()),
            ],
            schema=_NEW,
        )


def founded_alone(plan: Plan) -> set[str]:
    """The stories a plan founds that no other item joins and no merge touches: a row is
    their item's own values, with nothing to fold (`_fold`)."""
    stories = Counter(j.story_id for j in plan.joins)
    merged = {m.winner for m in plan.merges} | {m.loser for m in plan.merges}
    return {
        j.story_id
        for j in plan.joins
        if j.reason == "first"
        and j.story_id == j.item_id
        and stories[j.story_id] == 1
        and j.story_id not in merged
    }


def merge_winners(plan: Plan) -> dict[str, str]:
    """Where each loser of the plan lives in the end, in one backward pass over its merges
    (following each loser through all merges cost the square of a chunk's merges). A story's
    later merges are after its own, so walking back, a winner's final home is known."""
    final: dict[str, str] = {}
    for merge in reversed(plan.merges):
        final[merge.loser] = final.get(merge.winner, merge.winner)
    return final


#: The title of several candidates (stored rows or items): by source category, date, then id.
_BEST_TITLE = (
    "arg_min({{'title': {p}.title, 'item': {p}.{item}, 'source': {p}.{source}, "
    "'seen': {p}.seen}}, {{'rank': coalesce(list_position($pref, src.category), 99), "
    "'seen': {p}.seen, 'id': {p}.{item}}}) AS best"
)
_FROM_BEST = (
    "story_id, best.title AS title, first_seen, last_seen, items, sources, cves, created_at, "
    "updated_at, best.item AS title_item, best.source AS title_source, best.seen AS title_seen"
)


def _fold(conn: Conn, now: datetime) -> None:
    """The rows of the touched stories into temp table `story_rows`, each folded from the
    stored rows of the story and of the stories merged into it, plus the items joining it:
    the title is the best of their titles' items, dates the extremes, counts and sources the
    sums (a story holds one item per source and merges only stories of disjoint sources),
    CVEs the union. Why: recomputing each touched story from all its items scanned every
    stored item on each chunk, a cost growing with the store (0.17 -> 0.31 s per chunk from
    the first to the tenth of a 200k backlog). `keyed` is false for a row folded from a story
    whose title item is unknown (stored before migration 0017): `_store_rows` recomputes it.
    Runs before the merges delete the losers' rows. A stored item updated since it was
    grouped counts with its former values until its own chunk recomputes its story: updated
    items are lined up before the new ones (`pending`), so a run ends with every row fresh.
    A story of one item keeps that item's CVE list as it is, already sorted without repeats
    (_ItemColumns; a stored row's list too): sorting again the lists of the real advisories'
    one-item stories (CERT-FR avis name up to 1,924 CVEs) was 0.05 s of the fold's 0.12 s of
    CPU. Tested on the sum of items, which the row computes anyway: no cost on a feed night.
    A story the chunk founds and nothing else touches (`alone`: most of a night's) takes its
    item's values without grouping: 0.06-0.10 -> 0.02 s of CPU for 15,000 such stories."""
    conn.execute(
        "CREATE OR REPLACE TEMP TABLE story_rows AS "
        f"SELECT {_FROM_BEST}, keyed FROM ("
        "  SELECT p.story_id, "
        + _BEST_TITLE.format(p="p", item="item", source="source")
        + ", min(p.first_seen) AS first_seen, max(p.last_seen) AS last_seen, "
        "         sum(p.items)::INTEGER AS items, sum(p.sources)::INTEGER AS sources, "
        "         CASE WHEN sum(p.items) = 1 THEN any_value(p.cves) "
        "              ELSE list_sort(list_distinct(flatten(list(p.cves)))) END AS cves, "
        "         coalesce(any_value(p.created_at), $now) AS created_at, $now AS updated_at, "
        "         bool_and(p.item IS NOT NULL) AS keyed "
        "  FROM (SELECT coalesce(m.winner, st.story_id) AS story_id, st.title, "
        "               st.title_item AS item, st.title_source AS source, st.title_seen AS seen, "
        "               st.first_seen, st.last_seen, st.items, st.sources, st.cves, "
        "               CASE WHEN m.loser IS NULL THEN st.created_at END AS created_at "
        "        FROM stories st LEFT JOIN s_merged m ON m.loser = st.story_id "
        "        WHERE st.story_id IN (SELECT story_id FROM s_touched) "
        "           OR st.story_id IN (SELECT loser FROM s_merged) "
        "        UNION ALL "
        "        SELECT story_id, title, item_id, source_id, seen, seen, seen, 1, 1, cves, NULL "
        "        FROM s_new WHERE NOT alone) p "
        "  LEFT JOIN sources src ON src.id = p.source GROUP BY p.story_id) "
        "UNION ALL "
        "SELECT story_id, title, seen, seen, 1, 1, cves, $now, $now, item_id, source_id, seen, "
        "       true "
        "FROM s_new WHERE alone",
        {"now": now, "pref": TITLE_PREFERENCE},
    )


def _store_rows(conn: Conn, now: datetime, *, regrouped: bool) -> None:
    """Replace the touched stories' rows by those of `story_rows`, after recomputing from all
    their items the rows a fold cannot give: stories holding an item grouped again (its former
    title, date or CVEs may be gone) and those whose title item is unknown. Deleted then
    inserted: INSERT OR REPLACE was twice as slow on a night's 15,000 stories."""
    if regrouped:
        conn.execute(
            "UPDATE story_rows SET keyed = false WHERE story_id IN (SELECT story_id "
            "FROM story_items WHERE item_id IN (SELECT id FROM s_grouped))"
        )
    stale = conn.execute("SELECT count(*) FROM story_rows WHERE NOT keyed").fetchone()
    if stale and stale[0]:
        rebuild(conn, "SELECT story_id FROM story_rows WHERE NOT keyed", now)
        conn.execute("DELETE FROM story_rows WHERE NOT keyed")
        conn.execute(f"INSERT INTO story_rows SELECT {STORED_COLUMNS}, true FROM story_full")
        conn.execute("DROP TABLE story_full")
    conn.execute("DELETE FROM stories WHERE story_id IN (SELECT story_id FROM story_rows)")
    conn.execute(f"INSERT INTO stories ({STORED_COLUMNS}) SELECT {STORED_COLUMNS} FROM story_rows")
    conn.execute("DROP TABLE story_rows")


def forget_titles(conn: Conn, source_ids: Sequence[str]) -> None:
    """Forget the title item of every story holding an item of these sources (their category
    is about to change): a title ranks items by their source's category, and a touched story
    is otherwise folded from its former title item and the newcomers only (`_fold`); unknown,
    it is recomputed from all its items when next touched (`_store_rows`)."""
    if not source_ids:
        return
    with registered(conn, s_recategorised=pa.table({"id": pa.array(source_ids, STR)})):
        conn.execute(
            "UPDATE stories SET title_item = NULL WHERE story_id IN ("
            "  SELECT si.story_id FROM story_items si JOIN items i ON i.id = si.item_id "
            "  WHERE i.source_id IN (SELECT id FROM s_recategorised))"
        )


def rebuild(conn: Conn, story_ids: str, now: datetime) -> None:
    """The rows of the stories `story_ids` (a query of story ids) recomputed from all their
    items into temp table `story_full`: what the fold of `_fold` must always equal."""
    conn.execute(
        f"CREATE OR REPLACE TEMP TABLE story_full AS SELECT {_FROM_BEST} FROM ("
        "  SELECT m.story_id, "
        + _BEST_TITLE.format(p="m", item="id", source="source_id")
        + ", min(m.seen) AS first_seen, max(m.seen) AS last_seen, count(*)::INTEGER AS items, "
        "       count(DISTINCT m.source_id)::INTEGER AS sources, "
        "       list_sort(list_distinct(flatten(list(m.cves)))) AS cves, "
        "       coalesce(any_value(old.created_at), $now) AS created_at, $now AS updated_at "
        f"  FROM (SELECT si.story_id, i.id, i.source_id, i.title, i.cves, {_SEEN} AS seen "
        "        FROM story_items si JOIN items i ON i.id = si.item_id "
        f"        WHERE si.story_id IN ({story_ids})) m "
        "  LEFT JOIN sources src ON src.id = m.source_id "
        "  LEFT JOIN stories old ON old.story_id = m.story_id GROUP BY m.story_id)",
        {"now": now, "pref": TITLE_PREFERENCE},
    )


# --- reading -----------------------------------------------------------------------------------

STORY_COLUMNS = (
    "story_id, title, first_seen, last_seen, items, sources, cves, created_at, updated_at"
)

#: A story row: the columns read back, then the title's item and what ranks it.
STORED_COLUMNS = f"{STORY_COLUMNS}, title_item, title_source, title_seen"


def list_stories(
    conn: Conn,
    *,
    since: datetime | None,
    min_sources: int,
    limit: int,
) -> list[dict[str, Any]]:
    """Latest stories first (by their latest item), with their source ids."""
    return dicts(
        conn.execute(
            f"SELECT {STORY_COLUMNS}, "
            "  (SELECT list(DISTINCT i.source_id ORDER BY i.source_id) FROM story_items si "
            "   JOIN items i ON i.id = si.item_id WHERE si.story_id = st.story_id) AS source_ids "
            "FROM stories st WHERE ($since IS NULL OR last_seen >= $since) "
            "AND sources >= $min_sources ORDER BY last_seen DESC, story_id LIMIT $limit",
            {"since": since, "min_sources": min_sources, "limit": limit},
        )
    )


def resolve(conn: Conn, story_id: str) -> str:
    """The living story an id refers to: itself, or where it was merged (followed to the end)."""
    seen = {story_id}
    while True:
        row = conn.execute(
            "SELECT winner FROM story_merges WHERE loser = ? ORDER BY merged_at DESC LIMIT 1",
            [story_id],
        ).fetchone()
        if row is None or row[0] in seen:
            return story_id
        story_id = str(row[0])
        seen.add(story_id)


def show_story(conn: Conn, story_id: str) -> dict[str, Any] | None:
    """One story with its items (source, date, title, link, why it joined) and its merges."""
    living = resolve(conn, story_id)
    rows = dicts(conn.execute(f"SELECT {STORY_COLUMNS} FROM stories WHERE story_id = ?", [living]))
    if not rows:
        return None
    items = dicts(
        conn.execute(
            f"SELECT si.item_id, i.source_id, src.name AS source_name, src.category, "
            f"  {_SEEN} AS date, i.title, i.url, i.cves, si.reason, si.score, si.via, "
            "  v.source_id AS via_source, si.added_at "
            "FROM story_items si JOIN items i ON i.id = si.item_id "
            "LEFT JOIN sources src ON src.id = i.source_id "
            "LEFT JOIN items v ON v.id = si.via "
            "WHERE si.story_id = ? ORDER BY date, si.item_id",
            [living],
        )
    )
    merges = dicts(
        conn.execute(
            "SELECT loser, winner, item_id, reason, score, merged_at FROM story_merges "
            "WHERE winner = ? ORDER BY merged_at, loser",
            [living],
        )
    )
    return {**rows[0], "requested": story_id, "items_list": items, "merges": merges}


def _story_items(
    table: pa.Table, bands: Sequence[tuple[int, ...]] | None = None
) -> list[StoryItem]:
    """StoryItems of the first seven columns of `table` (those of `_ITEM_FIELDS`, then the
    date as epoch microseconds), read column by column: DuckDB's row tuples built an aware
    datetime per row through pytz, most of the cost of reading a large chunk."""
    ids, sources, titles, texts, urls, cves, micros = (
        table.column(n).to_pylist() for n in range(7)
    )
    return [
        StoryItem(
            item_id=item_id,
            source_id=source_id,
            title=title or "",
            text=text or "",
            canonical_url=url,
            cves=frozenset(item_cves or ()),
            seen=_EPOCH + timedelta(microseconds=us),
            bands=() if bands is None else bands[n],
        )
        for n, (item_id, source_id, title, text, url, item_cves, us) in enumerate(
            zip(ids, sources, titles, texts, urls, cves, micros, strict=True)
        )
    ]


_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_CVE = pa.schema([("cve", STR)])
_URL = pa.schema([("url", STR), ("cveless", pa.bool_())])
_CVE_ROWS = pa.schema([("cve", STR), ("item_id", STR), ("seen", pa.timestamp("us", tz="UTC"))])
_KEY = pa.schema([("key", pa.int64()), ("cveless", pa.bool_())])
_NEW = pa.schema(
    [
        ("story_id", STR),
        ("item_id", STR),
        ("source_id", STR),
        ("title", STR),
        ("seen", pa.timestamp("us", tz="UTC")),
        ("cves", pa.list_(STR)),
        ("alone", pa.bool_()),  # the story's only item (founded_alone)
    ]
)
_MAP = pa.schema([("loser", STR), ("winner", STR)])
_MERGES = pa.schema(
    [
        ("loser", STR),
        ("winner", STR),
        ("item_id", STR),
        ("reason", STR),
        ("score", pa.float64()),
    ]
)
_BANDS = pa.schema([("key", pa.int64()), ("item_id", STR), ("cveless", pa.bool_())])
_JOINS = pa.schema(
    [
        ("item_id", STR),
        ("story_id", STR),
        ("reason", STR),
        ("score", pa.float64()),
        ("via", STR),
    ]
)
