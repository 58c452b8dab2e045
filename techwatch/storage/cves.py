"""SQL of enrichment: EPSS history, the CVE table, the product dictionary and item mentions.

Rows arrive as Arrow tables (bulk inserts); the rules that compute them live in
`techwatch.enrich`. Functions take a connection and run inside the caller's transaction.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import date, datetime
from typing import Any, Final

import duckdb
import pyarrow as pa

from techwatch.errors import StorageError
from techwatch.storage.connection import Conn, registered
from techwatch.storage.rows import dicts
from techwatch.types import EpssScore

STRINGS = pa.list_(pa.string())
TS = pa.timestamp("us", tz="UTC")

EPSS: Final = pa.schema(
    [
        ("cve_id", pa.string()),
        ("date", pa.date32()),
        ("score", pa.float64()),
        ("percentile", pa.float64()),
    ]
)
PRODUCTS: Final = pa.schema(
    [
        ("vendor_key", pa.string()),
        ("product_key", pa.string()),
        ("vendor", pa.string()),
        ("product", pa.string()),
        ("names", STRINGS),
        ("package", pa.bool_()),
    ]
)
MENTIONS: Final = pa.schema(
    [
        ("item_id", pa.string()),
        ("vendor", pa.string()),
        ("product", pa.string()),
        ("term", pa.string()),
        ("field", pa.string()),
    ]
)
PAIR = pa.struct([("vendor", pa.string()), ("product", pa.string())])
CVES: Final = pa.schema(
    [
        ("cve_id", pa.string()),
        ("title", pa.string()),
        ("description", pa.string()),
        ("description_from", pa.string()),
        ("published", TS),
        ("modified", TS),
        ("cvss_version", pa.string()),
        ("cvss_vector", pa.string()),
        ("cvss_score", pa.float64()),
        ("cvss_severity", pa.string()),
        ("cvss_source", pa.string()),
        ("cwes", STRINGS),
        ("kev", pa.bool_()),
        ("kev_date_added", pa.date32()),
        ("kev_due_date", pa.date32()),
        ("kev_required_action", pa.string()),
        ("kev_ransomware", pa.bool_()),
        ("exploitation", pa.string()),
        ("vendors", STRINGS),
        ("products", pa.list_(PAIR)),
        ("first_seen", TS),
        ("last_seen", TS),
        ("item_ids", STRINGS),
        ("items", pa.int32()),
        ("sources", STRINGS),
        ("refreshed_at", TS),
    ]
)


def ids_table(values: Iterable[str], column: str = "id") -> pa.Table:
    return pa.table({column: pa.array(list(values), pa.string())})


# --- EPSS ---------------------------------------------------------------------------------------


def stage_epss(scores: Iterable[EpssScore]) -> pa.Table:
    """Scores as one Arrow table, built column by column (300k rows in ~0.1 s)."""
    rows = scores if isinstance(scores, Sequence) else list(scores)
    return pa.table(
        {
            "cve_id": [s.cve_id for s in rows],
            "date": [s.date for s in rows],
            "score": [s.score for s in rows],
            "percentile": [s.percentile for s in rows],
        },
        schema=EPSS,
    )


#: New latest rows when the load holds one row per CVE (a daily file): the old top two and
#: the new score, compared in one join.
_LATEST_ONE_PER_CVE: Final = """
    SELECT cve_id,
           CASE WHEN newer THEN b_date ELSE date END,
           CASE WHEN newer THEN b_score ELSE score END,
           CASE WHEN newer THEN b_percentile ELSE percentile END,
           CASE WHEN newer AND same THEN prev_date WHEN newer THEN date
                WHEN older THEN prev_date ELSE b_date END,
           CASE WHEN newer AND same THEN prev_score WHEN newer THEN score
                WHEN older THEN prev_score ELSE b_score END,
           CASE WHEN newer AND same THEN prev_percentile WHEN newer THEN percentile
                WHEN older THEN prev_percentile ELSE b_percentile END
    FROM (
        SELECT b.cve_id, b.date AS b_date, b.score AS b_score, b.percentile AS b_percentile,
               l.* EXCLUDE (cve_id),
               l.date IS NULL OR b.date >= l.date AS newer,
               coalesce(b.date = l.date, false) AS same,
               coalesce(b.date < l.prev_date, false) AS older
        FROM epss_batch b LEFT JOIN epss_latest l ON l.cve_id = b.cve_id
    )
"""
#: The general case (a backfill of several days): rank old top two and new rows per CVE.
_LATEST_ANY: Final = """
    WITH known AS (
        SELECT cve_id, date, score, percentile FROM epss_latest
        WHERE cve_id IN (SELECT cve_id FROM epss_batch)
        UNION ALL
        SELECT cve_id, prev_date, prev_score, prev_percentile FROM epss_latest
        WHERE prev_date IS NOT NULL AND cve_id IN (SELECT cve_id FROM epss_batch)
    ), merged AS (
        SELECT cve_id, date, score, percentile FROM epss_batch
        UNION ALL
        SELECT k.* FROM known k ANTI JOIN epss_batch b ON b.cve_id = k.cve_id AND b.date = k.date
    ), ranked AS (
        SELECT *, row_number() OVER (PARTITION BY cve_id ORDER BY date DESC) AS n FROM merged
    )
    SELECT cve_id,
           max(date) FILTER (n = 1), max(score) FILTER (n = 1), max(percentile) FILTER (n = 1),
           max(date) FILTER (n = 2), max(score) FILTER (n = 2), max(percentile) FILTER (n = 2)
    FROM ranked WHERE n <= 2 GROUP BY cve_id
"""


def write_epss(conn: Conn, table: pa.Table) -> int:
    """Add a day (or a few rows) of scores; a (CVE, date) loaded again is replaced.

    epss_latest keeps the two newest scores per CVE: the top two of (old top two + new rows)
    are the top two of everything, so no load ever reads the history. A load of one day has
    one row per CVE (rows are unique per CVE and date), which one join handles.
    """
    if table.num_rows == 0:
        return 0
    with registered(conn, staged_epss=table):
        conn.execute(
            "CREATE OR REPLACE TEMP TABLE epss_batch AS SELECT cve_id, date, score, percentile "
            "FROM staged_epss QUALIFY row_number() OVER (PARTITION BY cve_id, date) = 1 "
            "ORDER BY date, cve_id"
        )
    first, last = conn.execute("SELECT min(date), max(date) FROM epss_batch").fetchone() or (
        None,
        None,
    )
    conn.execute(
        "DELETE FROM epss_scores e USING epss_batch b WHERE e.date BETWEEN $first AND $last "
        "AND e.cve_id = b.cve_id AND e.date = b.date",
        {"first": first, "last": last},
    )
    conn.execute("INSERT INTO epss_scores SELECT * FROM epss_batch")
    latest = _LATEST_ONE_PER_CVE if first == last else _LATEST_ANY
    conn.execute(f"CREATE OR REPLACE TEMP TABLE epss_new_latest AS {latest}")
    conn.execute("DELETE FROM epss_latest WHERE cve_id IN (SELECT cve_id FROM epss_batch)")
    conn.execute("INSERT INTO epss_latest SELECT * FROM epss_new_latest")
    conn.execute("DROP TABLE epss_new_latest")
    count = conn.execute("SELECT count(*) FROM epss_batch").fetchone()
    conn.execute("DROP TABLE epss_batch")
    return int(count[0]) if count else 0


# --- a refresh ---------------------------------------------------------------------------------


class Enrichment:
    """The writer's side of a refresh: inputs read in pieces, results saved in one transaction."""

    def __init__(self, conn: Conn) -> None:
        self._conn = conn

    def changed_items(self, since: datetime | None) -> list[str]:
        return items_changed_since(self._conn, since)

    def products(self) -> list[dict[str, Any]]:
        return load_products(self._conn)

    def statements(self, item_ids: Sequence[str]) -> list[tuple[str, str, str, bool]]:
        """(id, vendor, product, is a package) that these items state as affected."""
        with registered(self._conn, touched=ids_table(item_ids)):
            return item_statements(self._conn)

    def texts(self, item_ids: Sequence[str], max_chars: int) -> pa.Table:
        """(id, title, start of text) of these items, as an Arrow table: it crosses to an
        import's workers as a few buffers, where row tuples cost the parent ~0.05 s to build
        and pickle over the real advisories (enrich.mentions.text_rows reads it)."""
        with registered(self._conn, touched=ids_table(item_ids)):
            return self._conn.execute(
                "SELECT id, title, left(text, $n) AS text FROM items "
                "WHERE id IN (SELECT id FROM touched)",
                {"n": max_chars},
            ).to_arrow_table()

    def cves_of(self, item_ids: Sequence[str] | None) -> list[str]:
        """CVEs these items name or named; every CVE when None."""
        if item_ids is None:
            return all_cves(self._conn)
        with registered(self._conn, touched=ids_table(item_ids)):
            return touched_cves(self._conn)

    def cve_inputs(self, cve_ids: Sequence[str]) -> tuple[pa.Table, pa.Table, pa.Table]:
        """(facts, their product lists, mentions) of these CVEs (see cve_facts)."""
        with registered(self._conn, wanted=ids_table(cve_ids, "cve_id")):
            facts, lists = cve_facts(self._conn)
            return facts, lists, cve_mentions(self._conn)

    def save(
        self,
        *,
        item_ids: Sequence[str],
        products: pa.Table,
        mentions: pa.Table,
        cve_ids: Sequence[str],
        cves: pa.Table,
        now: datetime,
    ) -> None:
        """Dictionary, the items' mentions and the CVEs' rows, atomically."""
        conn = self._conn
        conn.execute("BEGIN TRANSACTION")
        try:
            upsert_products(conn, products, now)
            with registered(conn, touched=ids_table(item_ids)):
                replace_item_products(conn, mentions)
            with registered(conn, wanted=ids_table(cve_ids, "cve_id")):
                replace_cves(conn, cves)
        except BaseException as e:
            conn.execute("ROLLBACK")
            if isinstance(e, duckdb.Error):
                raise StorageError(f"saving the enrichment failed and was rolled back: {e}") from e
            raise
        conn.execute("COMMIT")


# --- inputs of a refresh ------------------------------------------------------------------------


def items_changed_since(conn: Conn, since: datetime | None) -> list[str]:
    """Items written (new or changed) since `since`; every item when None."""
    rows = conn.execute(
        "SELECT id FROM items WHERE $since IS NULL OR updated_at >= $since ORDER BY id",
        {"since": since},
    ).fetchall()
    return [str(r[0]) for r in rows]


def item_statements(conn: Conn) -> list[tuple[str, str, str, bool]]:
    """(item id, vendor, product, is a package) that the `touched` items' advisories state
    as affected, KEV's vendorProject/product included, sorted: the dictionary learns them in
    this order, so the same store always gives the same spellings."""
    rows = conn.execute(
        """
        WITH stated AS (
            SELECT i.id AS item_id, coalesce(s.kind = 'osv', false) AS package
            FROM items i LEFT JOIN sources s ON s.id = i.source_id
            WHERE i.id IN (SELECT id FROM touched)
        )
        SELECT item_id, vendor, product, package FROM (
            SELECT item_id, a.vendor, a.product, package
            FROM (SELECT l.item_id, k.package, unnest(l.affected) AS a
                  FROM item_affected l JOIN stated k ON k.item_id = l.item_id)
            UNION
            SELECT v.item_id, v.kev_vendor, v.kev_product, false
            FROM item_vulns v JOIN stated k ON k.item_id = v.item_id WHERE v.kev_vendor <> ''
        ) ORDER BY ALL
        """
    ).fetchall()
    return [(str(i), str(v or ""), str(p or ""), bool(k)) for i, v, p, k in rows]


def touched_cves(conn: Conn) -> list[str]:
    """CVEs the `touched` items name now, or named before they changed."""
    rows = conn.execute(
        """
        SELECT DISTINCT cve_id FROM (
            SELECT unnest(cves) AS cve_id FROM items WHERE id IN (SELECT id FROM touched)
            UNION ALL
            SELECT vuln_id FROM item_vulns WHERE item_id IN (SELECT id FROM touched)
            UNION ALL
            SELECT cve_id FROM (SELECT cve_id, unnest(item_ids) AS item_id FROM cves)
            WHERE item_id IN (SELECT id FROM touched)
        ) WHERE cve_id LIKE 'CVE-%'
        ORDER BY cve_id
        """
    ).fetchall()
    return [str(r[0]) for r in rows]


def all_cves(conn: Conn) -> list[str]:
    """Every CVE any item names, for a full refresh."""
    rows = conn.execute(
        """
        SELECT DISTINCT cve_id FROM (
            SELECT unnest(cves) AS cve_id FROM items
            UNION ALL SELECT vuln_id FROM item_vulns
            UNION ALL SELECT cve_id FROM cves
        ) WHERE cve_id LIKE 'CVE-%' ORDER BY cve_id
        """
    ).fetchall()
    return [str(r[0]) for r in rows]


def cve_facts(conn: Conn) -> tuple[pa.Table, pa.Table]:
    """What items state about the CVEs of the registered `wanted` table, with their kind;
    and the (vendor, product) lists these facts name by (item_id, affected_no).

    Arrow tables: nested lists cross to Python column by column, several times faster than
    as row tuples. Each product list comes once, not once per fact (a CERT-FR avis states
    one list for each of its CVEs: 1.1M pairs instead of 19k on the real advisories)."""
    facts = conn.execute(
        """
        SELECT v.vuln_id AS cve_id, v.item_id, i.source_id, s.kind, v.title, v.description,
               v.published, v.modified, v.cvss, v.cwes, v.affected_no,
               v.kev_date_added, v.kev_due_date, v.kev_required_action, v.kev_ransomware,
               v.kev_vendor, v.kev_product, v.kev_name, v.kev_notes,
               list_filter(v.ssvc, x -> x.point = 'Exploitation')[1].value AS exploitation
        FROM item_vulns v JOIN items i ON i.id = v.item_id
        LEFT JOIN sources s ON s.id = i.source_id
        WHERE v.vuln_id IN (SELECT cve_id FROM wanted)
        """
    ).to_arrow_table()
    with registered(conn, fact_items=facts.select(["item_id"])):
        lists = conn.execute(
            """
            SELECT item_id, list_no,
                   list_distinct(list_transform(affected, a -> {'vendor': a.vendor,
                                                                'product': a.product}))
                       AS products
            FROM item_affected WHERE item_id IN (SELECT item_id FROM fact_items)
            """
        ).to_arrow_table()
    return facts, lists


def cve_mentions(conn: Conn) -> pa.Table:
    """(cve_id, item_id, source_id, first_seen as naive UTC) for every item naming a CVE of
    `wanted`, as an Arrow table: it crosses to the import's workers as a few buffers, where
    60k row tuples cost the parent ~0.3 s to fetch and pickle (enrich.cverows reads it).

    Each item's time is converted before the join, once per item rather than once per
    mention: over the real advisories (3,882 items, 59k mentions) the statement took
    0.70-0.76x of the CPU (medians of 12 alternated pairs, one and two threads)."""
    return conn.execute(
        """
        WITH m AS (
            SELECT id AS item_id, cve_id
            FROM (SELECT id, unnest(cves) AS cve_id FROM items)
            WHERE cve_id IN (SELECT cve_id FROM wanted)
            UNION
            SELECT item_id, vuln_id FROM item_vulns WHERE vuln_id IN (SELECT cve_id FROM wanted)
        )
        SELECT m.cve_id, i.id AS item_id, i.source_id, i.first_seen
        FROM m JOIN (
            SELECT id, source_id, first_seen AT TIME ZONE 'UTC' AS first_seen FROM items
        ) i ON i.id = m.item_id
        """
    ).to_arrow_table()


def load_products(conn: Conn) -> list[dict[str, Any]]:
    return dicts(
        conn.execute(
            "SELECT vendor_key, product_key, vendor, product, names, package FROM products "
            "ORDER BY vendor_key, product_key"
        )
    )


# --- writes ------------------------------------------------------------------------------------


def upsert_products(conn: Conn, table: pa.Table, now: datetime) -> None:
    """Entries merged by the caller replace theirs; first_seen stays."""
    if table.num_rows == 0:
        return
    columns = ", ".join(PRODUCTS.names)
    with registered(conn, staged_products=table):
        conn.execute(
            f"INSERT INTO products ({columns}, first_seen) SELECT {columns}, $now "
            "FROM staged_products ON CONFLICT (vendor_key, product_key) DO UPDATE SET "
            "vendor = excluded.vendor, product = excluded.product, names = excluded.names, "
            "package = excluded.package",
            {"now": now},
        )


def replace_item_products(conn: Conn, table: pa.Table) -> None:
    """The mentions of the `touched` items become `table`."""
    conn.execute("DELETE FROM item_products WHERE item_id IN (SELECT id FROM touched)")
    with registered(conn, staged_mentions=table):
        conn.execute("INSERT INTO item_products SELECT * FROM staged_mentions")


def replace_cves(conn: Conn, table: pa.Table) -> None:
    """The rows of the `wanted` CVEs become `table` (a CVE no item names any more goes)."""
    conn.execute("DELETE FROM cves WHERE cve_id IN (SELECT cve_id FROM wanted)")
    with registered(conn, staged_cves=table):
        conn.execute(f"INSERT INTO cves ({', '.join(CVES.names)}) SELECT * FROM staged_cves")


# --- reads -------------------------------------------------------------------------------------

LIST_COLUMNS: Final = """
    c.cve_id, c.title, c.cvss_version, c.cvss_score, c.cvss_severity, c.kev, c.kev_date_added,
    c.kev_due_date, c.kev_ransomware, c.exploitation, e.score AS epss, e.percentile AS
    epss_percentile, e.date AS epss_date, e.prev_score AS epss_previous, e.prev_date AS
    epss_previous_date, c.vendors, c.products, c.items, c.first_seen, c.last_seen
"""


def list_cves(
    conn: Conn,
    *,
    kev: bool = False,
    min_epss: float | None = None,
    min_cvss: float | None = None,
    since: datetime | None = None,
    vendor: str | None = None,
    limit: int = 50,
) -> list[dict[str, Any]]:
    """CVEs newest sighting first; `since` keeps those seen or added to KEV since then."""
    sql = f"""
        SELECT {LIST_COLUMNS} FROM cves c LEFT JOIN epss_latest e ON e.cve_id = c.cve_id
        WHERE (NOT $kev OR c.kev)
          AND ($min_epss IS NULL OR e.score >= $min_epss)
          AND ($min_cvss IS NULL OR c.cvss_score >= $min_cvss)
          AND ($since IS NULL OR c.last_seen >= $since OR c.kev_date_added >= $since_day)
          AND ($vendor IS NULL OR len(list_filter(c.vendors, v -> v ILIKE $vendor)) > 0)
        ORDER BY greatest(c.last_seen, c.kev_date_added::TIMESTAMPTZ) DESC, c.cve_id DESC
        LIMIT $limit
    """
    params = {
        "kev": kev,
        "min_epss": min_epss,
        "min_cvss": min_cvss,
        "since": since,
        "since_day": since.date() if since else None,
        "vendor": f"%{vendor}%" if vendor else None,
        "limit": limit,
    }
    return dicts(conn.execute(sql, params))


def get_cve(conn: Conn, cve_id: str) -> dict[str, Any] | None:
    """Everything of one CVE: its row, latest EPSS, EPSS history and the items naming it."""
    rows = dicts(
        conn.execute(
            "SELECT c.*, e.score AS epss, e.percentile AS epss_percentile, e.date AS epss_date, "
            "e.prev_score AS epss_previous, e.prev_percentile AS epss_previous_percentile, "
            "e.prev_date AS epss_previous_date "
            "FROM cves c LEFT JOIN epss_latest e ON e.cve_id = c.cve_id WHERE c.cve_id = ?",
            [cve_id],
        )
    )
    if not rows:
        return None
    row = rows[0]
    row["epss_history"] = epss_history(conn, cve_id)
    row["mentioned_by"] = dicts(
        conn.execute(
            "SELECT i.id, i.source_id, i.title, i.url, i.published, i.first_seen "
            "FROM (SELECT unnest(item_ids) AS id FROM cves WHERE cve_id = ?) m "
            "JOIN items i ON i.id = m.id ORDER BY i.first_seen DESC, i.id",
            [cve_id],
        )
    )
    return row


def epss_history(conn: Conn, cve_id: str, *, limit: int = 90) -> list[dict[str, Any]]:
    """The latest `limit` daily scores of one CVE, newest first."""
    return dicts(
        conn.execute(
            "SELECT date, score, percentile FROM epss_scores WHERE cve_id = ? "
            "ORDER BY date DESC LIMIT ?",
            [cve_id, limit],
        )
    )


def epss_days(conn: Conn) -> list[tuple[date, int]]:
    """Scoring days loaded, newest first, with their row counts."""
    rows = conn.execute(
        "SELECT date, count(*) FROM epss_scores GROUP BY date ORDER BY date DESC"
    ).fetchall()
    return [(d, int(n)) for d, n in rows]
