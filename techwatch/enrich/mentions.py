"""A chunk of items' product mentions from their texts: pure, and light to import.

The import recognises products in its parse workers (refresh's offload), beside the CVE rows,
while the parent groups stories: recognition was ~0.7 s of the parent's CPU over the real
advisories, with the workers idle. Like `cverows`, this module imports the dictionary and
pyarrow only, not the store, and the table's schema comes from the caller
(storage.cves.MENTIONS).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence

import pyarrow as pa

from techwatch import gcpacing
from techwatch.enrich.names import named_pairs
from techwatch.enrich.products import Dictionary, Entry, Mention

#: A worker's last dictionary, with the entries it was built from: the chunks of one refresh
#: share their entries, and building the automaton again for each chunk would repeat its cost.
_built: list[tuple[tuple[Entry, ...], Dictionary]] = []


def stated_mentions(
    statements: Iterable[tuple[str, str, str, bool]],
) -> dict[str, list[Mention]]:
    """Mentions (field "affected") of what each item's advisories state as affected."""
    stated: dict[str, dict[tuple[str, str], Mention]] = defaultdict(dict)
    for item_id, vendor, product, package in statements:
        for _, name in named_pairs(vendor, product, package):
            stated[item_id].setdefault(name, Mention(name[0], name[1], product, "affected"))
    return {item_id: list(found.values()) for item_id, found in stated.items()}


def item_mentions(
    dictionary: Dictionary,
    texts: Iterable[tuple[str, str, str]],
    stated: Mapping[str, list[Mention]],
) -> list[tuple[str, Mention]]:
    """(item id, mention) for what each item names in its text and states as affected."""
    rows: list[tuple[str, Mention]] = []
    for item_id, title, text in texts:
        found = dictionary.recognise([("title", title), ("text", text)])
        rows.extend((item_id, m) for m in found)
        rows.extend((item_id, m) for m in stated.get(item_id, ()))
    return rows


def mentions_table(rows: Sequence[tuple[str, Mention]], schema: pa.Schema) -> pa.Table:
    """The mention rows as the table of `schema` that the store saves, column by column."""
    columns: dict[str, list[str]] = {name: [] for name in schema.names}
    for item_id, m in rows:
        columns["item_id"].append(item_id)
        columns["vendor"].append(m.vendor)
        columns["product"].append(m.product)
        columns["term"].append(m.term)
        columns["field"].append(m.field)
    return pa.table(columns, schema=schema)


def text_rows(texts: pa.Table) -> list[tuple[str, str, str]]:
    """(id, title, text) rows of a table of them (storage.cves.Enrichment.texts), a missing
    title or text as ''."""
    ids, titles, bodies = (texts.column(n).to_pylist() for n in range(3))
    return [(i, t or "", x or "") for i, t, x in zip(ids, titles, bodies, strict=True)]


def offloaded_mentions(
    entries: tuple[Entry, ...],
    texts: pa.Table,
    statements: Iterable[tuple[str, str, str, bool]],
    schema: pa.Schema,
) -> tuple[pa.Table, int]:
    """In a worker: the mentions of one chunk of texts and of its items' statements (see
    `stated_mentions`) as a table (small to send back, where Mention records would each be
    pickled), and the dictionary's number of terms; the collector paused meanwhile."""
    with gcpacing.paused():
        dictionary = _dictionary(entries)
        rows = item_mentions(dictionary, text_rows(texts), stated_mentions(statements))
        return mentions_table(rows, schema), len(dictionary)


def _dictionary(entries: tuple[Entry, ...]) -> Dictionary:
    """The dictionary of `entries`: the one built last when its entries are equal."""
    if _built and _built[0][0] == entries:
        return _built[0][1]
    dictionary = Dictionary(entries)
    _built[:] = [(entries, dictionary)]
    return dictionary
