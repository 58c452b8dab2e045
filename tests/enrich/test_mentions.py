"""A chunk's product mentions as a worker computes them (enrich.mentions): the rows of the
dictionary's recognition plus what the items state, as the table the store saves."""

from __future__ import annotations

import pickle

import pyarrow as pa

from techwatch.enrich import mentions
from techwatch.enrich.mentions import (
    item_mentions,
    mentions_table,
    offloaded_mentions,
    stated_mentions,
    text_rows,
)
from techwatch.enrich.products import Dictionary, Entry, learn
from techwatch.storage.cves import MENTIONS

STATEMENTS = [
    ("a", "Fortinet, Inc.", "FortiOS", False),
    ("b", "Cisco", "IOS XE Software", False),
    ("c", "PyPI", "requests", True),
]
TEXTS = [
    ("a", "FortiGate firewalls under attack", "Patch FortiOS now."),
    ("b", "Cisco fixes IOS XE", ""),
    ("c", "A requests release", "Upgrade the PyPI package requests."),
    ("d", "Nothing to see", "Gardening tips."),
]


TEXT_COLUMNS = pa.schema([("id", pa.string()), ("title", pa.string()), ("text", pa.string())])


def texts(rows: list[tuple[str, str | None, str | None]]) -> pa.Table:
    """The texts as the store reads them (Enrichment.texts): an Arrow table."""
    return pa.Table.from_pylist(
        [dict(zip(TEXT_COLUMNS.names, r, strict=True)) for r in rows], TEXT_COLUMNS
    )


def entries() -> tuple[Entry, ...]:
    return tuple(learn((v, p, package) for _, v, p, package in STATEMENTS))


def rows(table: pa.Table) -> list[tuple[str, ...]]:
    return sorted(zip(*(table.column(n).to_pylist() for n in MENTIONS.names), strict=True))


def test_a_worker_chunk_equals_recognition_in_this_process() -> None:
    stated = stated_mentions(STATEMENTS)
    dictionary = Dictionary(entries())
    expected = mentions_table(item_mentions(dictionary, TEXTS, stated), MENTIONS)
    # What crosses to the worker and back is pickled: the table must survive it. The worker
    # turns the statements into mentions itself.
    table, terms = pickle.loads(
        pickle.dumps(offloaded_mentions(entries(), texts(TEXTS), STATEMENTS, MENTIONS))
    )
    assert rows(table) == rows(expected)
    assert terms == len(dictionary)
    assert table.schema == MENTIONS
    found = {(i, v, p, f) for i, v, p, _, f in rows(table)}
    assert ("a", "Fortinet", "FortiOS", "affected") in found
    assert ("a", "Fortinet", "FortiOS", "text") in found
    assert ("b", "Cisco", "IOS XE", "title") in found
    assert not any(i == "d" for i, *_ in found)


def test_a_worker_builds_the_dictionary_again_only_for_other_entries() -> None:
    offloaded_mentions(entries(), texts(TEXTS[:1]), STATEMENTS, MENTIONS)
    built = mentions._built[0][1]
    offloaded_mentions(
        entries(), texts(TEXTS[1:]), STATEMENTS, MENTIONS
    )  # equal entries, new tuple
    assert mentions._built[0][1] is built
    fewer = entries()[:1]
    table, terms = offloaded_mentions(fewer, texts(TEXTS), [], MENTIONS)
    assert mentions._built[0][1] is not built and terms == len(Dictionary(fewer))
    assert {p for p in table.column("product").to_pylist()} <= {e.product for e in fewer} | {""}


def test_no_texts_give_an_empty_table_of_the_schema() -> None:
    table, _ = offloaded_mentions(entries(), texts([]), [], MENTIONS)
    assert table.num_rows == 0 and table.schema == MENTIONS


def test_a_missing_title_or_text_reads_as_empty() -> None:
    rows = text_rows(texts([("a", None, "Patch FortiOS now."), ("b", "Cisco fixes IOS XE", None)]))
    assert rows == [("a", "", "Patch FortiOS now."), ("b", "Cisco fixes IOS XE", "")]
