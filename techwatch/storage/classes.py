"""The SQL of classification: the model's labels per item and the consultants' label history.

`item_classes` holds one current prediction per item, replaced on reclassification;
`item_labels` is append-only, and per item and axis the latest label that says something wins
(the same rule as techwatch.labelling.effective_labels, which the listing filters mirror).
Every function takes an open connection: the Writer and Reader wrap them.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any, Final

import pyarrow as pa

from techwatch.storage.connection import Conn, registered
from techwatch.storage.rows import dicts

PREDICTIONS: Final = pa.schema(
    [
        ("item_id", pa.string()),
        ("model_version", pa.string()),
        ("topics", pa.list_(pa.string())),
        ("sectors", pa.list_(pa.string())),
        ("severity", pa.string()),
        ("scores", pa.map_(pa.string(), pa.float64())),
        ("classified_at", pa.timestamp("us", tz="UTC")),
    ]
)
LABEL_COLUMNS: Final = "item_id, topics, sectors, severity, labelled_by, labelled_at, note"
# Advisory kinds whose items can teach the model something without a human (weak labels).
WEAK_KINDS: Final = ("cisa-kev", "cve-json5", "osv", "csaf", "certfr-json")

# Per item and axis, the latest consultant label that says something.
_LATEST_LABELS: Final = """
    SELECT item_id,
           arg_max(topics, seq) FILTER (WHERE topics IS NOT NULL) AS topics,
           arg_max(sectors, seq) FILTER (WHERE sectors IS NOT NULL) AS sectors,
           arg_max(severity, seq) FILTER (WHERE severity IS NOT NULL) AS severity
    FROM item_labels GROUP BY item_id
"""


def write_predictions(conn: Conn, rows: Sequence[Mapping[str, Any]]) -> int:
    """Insert or replace the current prediction of each item; returns how many were written."""
    if not rows:
        return 0
    table = pa.Table.from_pylist(
        [{**row, "scores": list(row["scores"].items())} for row in rows], schema=PREDICTIONS
    )
    with registered(conn, staged_classes=table):
        conn.execute(
            f"INSERT OR REPLACE INTO item_classes ({', '.join(PREDICTIONS.names)}) "
            f"SELECT {', '.join(PREDICTIONS.names)} FROM staged_classes"
        )
    return table.num_rows


def add_label(conn: Conn, label: Mapping[str, Any]) -> int:
    """Append one consultant label; returns its place in the history (seq)."""
    row = conn.execute(
        f"INSERT INTO item_labels ({LABEL_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?) RETURNING seq",
        [label.get(c) for c in LABEL_COLUMNS.split(", ")],
    ).fetchone()
    assert row is not None
    return int(row[0])


def item_exists(conn: Conn, item_id: str) -> bool:
    return conn.execute("SELECT count(*) FROM items WHERE id = ?", [item_id]).fetchone() == (1,)


def predictions(conn: Conn, item_ids: Sequence[str]) -> dict[str, dict[str, Any]]:
    """The current prediction of each of `item_ids` that has one."""
    cursor = conn.execute(
        "SELECT * FROM item_classes WHERE list_contains(?, item_id)", [list(item_ids)]
    )
    return {row["item_id"]: row for row in dicts(cursor)}


def label_history(
    conn: Conn, item_ids: Sequence[str] | None = None
) -> dict[str, list[dict[str, Any]]]:
    """Every consultant label of the items (all items when None), oldest first per item."""
    cursor = conn.execute(
        f"SELECT seq, {LABEL_COLUMNS} FROM item_labels "
        "WHERE $ids IS NULL OR list_contains($ids, item_id) ORDER BY item_id, seq",
        {"ids": None if item_ids is None else list(item_ids)},
    )
    history: dict[str, list[dict[str, Any]]] = {}
    for row in dicts(cursor):
        history.setdefault(row["item_id"], []).append(row)
    return history


def to_classify(
    conn: Conn,
    *,
    model_version: str,
    since: datetime | None,
    every: bool,
    after: str | None,
    limit: int,
    text_chars: int,
) -> list[dict[str, Any]]:
    """The next items (by id, after `after`) that `model_version` has not classified as they are.

    An item needs it when it has no prediction, one from another model, or one older than its
    last content change; `every` takes all items. `since` keeps items written since then.
    """
    cursor = conn.execute(
        """
        SELECT i.id, i.title, left(i.text, $chars) AS text, i.language
        FROM items i LEFT JOIN item_classes c ON c.item_id = i.id
        WHERE ($after IS NULL OR i.id > $after)
          AND ($since IS NULL OR i.updated_at >= $since)
          AND ($every OR c.item_id IS NULL OR c.model_version <> $version
               OR c.classified_at < i.updated_at)
        ORDER BY i.id LIMIT $limit
        """,
        {
            "chars": text_chars,
            "after": after,
            "since": since,
            "every": every,
            "version": model_version,
            "limit": limit,
        },
    )
    return dicts(cursor)


def labelled_documents(conn: Conn, text_chars: int) -> list[dict[str, Any]]:
    """Title and text of every item a consultant labelled (what training reads)."""
    cursor = conn.execute(
        "SELECT id, title, left(text, ?) AS text, language FROM items "
        "WHERE id IN (SELECT item_id FROM item_labels) ORDER BY id",
        [text_chars],
    )
    return dicts(cursor)


def weak_candidates(conn: Conn, *, per_kind: int, text_chars: int) -> list[dict[str, Any]]:
    """Advisory items with what they state (CVSS, KEV), at most `per_kind` per source kind.

    Which ones: a stable pseudo-random draw (md5 of the id), so that repeated trainings see
    the same examples and a big store is never read whole.
    """
    kinds = list(WEAK_KINDS)
    cursor = conn.execute(
        """
        SELECT i.id, s.kind, s.category, i.source_id, i.language, i.title,
               left(i.text, $chars) AS text,
               count(v.vuln_id) AS vulns,
               flatten(list(v.cvss) FILTER (WHERE v.cvss IS NOT NULL)) AS cvss,
               coalesce(bool_or(v.kev_date_added IS NOT NULL), false) AS kev,
               coalesce(bool_or(v.kev_ransomware), false) AS kev_ransomware
        FROM items i JOIN sources s ON s.id = i.source_id
        LEFT JOIN item_vulns v ON v.item_id = i.id
        WHERE list_contains($kinds, s.kind)
        GROUP BY i.id, s.kind, s.category, i.source_id, i.language, i.title, i.text
        QUALIFY row_number() OVER (PARTITION BY s.kind ORDER BY md5(i.id)) <= $per_kind
        ORDER BY s.kind, md5(i.id)
        """,
        {"chars": text_chars, "kinds": kinds, "per_kind": per_kind},
    )
    return dicts(cursor)


def listing(
    conn: Conn,
    columns: str,
    *,
    topic: str | None = None,
    sector: str | None = None,
    severity: str | None = None,
    since: datetime | None = None,
    source_id: str | None = None,
    language: str | None = None,
    limit: int = 50,
) -> list[dict[str, Any]]:
    """Items newest first with their effective labels (consultant's axis, else the model's),
    filtered on them; `columns` are the item columns to return (prefixed by `i.`)."""
    item_columns = ", ".join(f"i.{c.strip()}" for c in columns.split(","))
    sql = f"""
        WITH latest AS ({_LATEST_LABELS})
        SELECT {item_columns},
               coalesce(l.topics, c.topics) AS topics,
               coalesce(l.sectors, c.sectors) AS sectors,
               coalesce(l.severity, c.severity) AS severity,
               l.item_id IS NOT NULL AS labelled,
               c.model_version
        FROM items i
        LEFT JOIN item_classes c ON c.item_id = i.id
        LEFT JOIN latest l ON l.item_id = i.id
        WHERE ($since IS NULL OR coalesce(i.published, i.first_seen) >= $since)
          AND ($source_id IS NULL OR i.source_id = $source_id)
          AND ($language IS NULL OR i.language = $language)
          AND ($topic IS NULL OR list_contains(coalesce(l.topics, c.topics), $topic))
          AND ($sector IS NULL OR list_contains(coalesce(l.sectors, c.sectors), $sector))
          AND ($severity IS NULL OR coalesce(l.severity, c.severity) = $severity)
        ORDER BY coalesce(i.published, i.first_seen) DESC, i.id
        LIMIT $limit
    """
    params = {
        "since": since,
        "source_id": source_id,
        "language": language,
        "topic": topic,
        "sector": sector,
        "severity": severity,
        "limit": limit,
    }
    return dicts(conn.execute(sql, params))


def class_counts(conn: Conn) -> dict[str, Any]:
    """Items classified per model version, items without a prediction, consultant labels."""
    by_model = conn.execute(
        "SELECT model_version, count(*) FROM item_classes GROUP BY ALL ORDER BY 1"
    ).fetchall()
    row = conn.execute(
        "SELECT (SELECT count(*) FROM items WHERE id NOT IN (SELECT item_id FROM item_classes)),"
        " (SELECT count(*) FROM item_labels), (SELECT count(DISTINCT item_id) FROM item_labels)"
    ).fetchone()
    unclassified, labels, labelled = row if row else (0, 0, 0)
    return {
        "by_model": {str(v): int(n) for v, n in by_model},
        "unclassified": int(unclassified),
        "labels": int(labels),
        "labelled_items": int(labelled),
    }
