"""The enrichment step after a run (flow or import): one call, I/O at this edge only.

For the items the run wrote: learn the products their advisories state, recognise vendors
and products in their title and text, then rebuild the CVE rows they touch (the CVEs they
name now or named before they changed). `since=None` does it for every item, after an
upgrade or when the alias table changed. An import splits it (`begin_refresh`, then
`PendingRefresh.finish`) to group stories while its workers compute the rows.
"""

from __future__ import annotations

import time
from collections import defaultdict
from collections.abc import Callable, Sequence
from concurrent.futures import Future
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Final, Protocol, TypeVar

import pyarrow as pa

from techwatch.enrich.cverows import cve_rows, offloaded_cve_rows
from techwatch.enrich.mentions import (
    item_mentions,
    mentions_table,
    offloaded_mentions,
    stated_mentions,
    text_rows,
)
from techwatch.enrich.products import (
    MAX_TEXT_CHARS,
    Dictionary,
    Entry,
    Learnt,
    offloaded_relearn,
    relearn,
)
from techwatch.ingest import batches
from techwatch.storage import Writer, open_writer
from techwatch.storage import cves as store

#: Items whose texts are in memory at once; CVEs aggregated per read.
ITEM_CHUNK: Final = 2_000
CVE_CHUNK: Final = 20_000
#: Chunks of CVE rows, and of mentions, computed at once (in an offload's workers): bounds
#: their inputs in memory.
IN_FLIGHT: Final = 2

T = TypeVar("T")
#: Dictionary entries by key (Entry.key).
_ByKey = dict[tuple[str, str], Entry]
#: A chunk's stored facts, their product lists and mentions (store.Enrichment.cve_inputs).
_CveInputs = tuple[pa.Table, pa.Table, pa.Table]


@dataclass(frozen=True, slots=True)
class RefreshReport:
    """What a refresh did, with the time of each stage."""

    items: int
    mentions: int
    products_learnt: int
    dictionary_terms: int
    cves: int
    seconds: float
    stage_seconds: dict[str, float] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def refresh(db_path: Path, *, since: datetime | None, now: datetime | None = None) -> RefreshReport:
    """Refresh the dictionary, item mentions and CVE rows for items written since `since`
    (every item when None); `now` stamps the rows (refreshed_at, a product's first_seen)."""
    with open_writer(db_path) as writer:
        return refresh_with(writer, since=since, now=now)


class Offload(Protocol):
    """Where CPU work can run beside the caller: the import's parse pool (ParsePool.call)."""

    def call(self, function: Callable[..., Any], *args: Any) -> Future[Any]: ...


def refresh_with(
    writer: Writer,
    *,
    since: datetime | None,
    now: datetime | None = None,
    offload: Offload | None = None,
) -> RefreshReport:
    """`refresh` through an open writer: an import enriches through the connection that
    stored its batches, so that the file is checkpointed once, when the import closes it.

    With `offload`, the CVE rows and the items' mentions are computed there (the two need
    only the learnt dictionary entries in common).
    """
    return begin_refresh(writer, since=since, now=now, offload=offload).finish()


def begin_refresh(
    writer: Writer,
    *,
    since: datetime | None,
    now: datetime | None = None,
    offload: Offload | None = None,
) -> PendingRefresh:
    """Learn the dictionary, read the inputs and hand the first chunks to `offload`;
    `finish` awaits them and saves. In between the writer is free: the import groups
    stories meanwhile, its Python running while the workers compute (grouping reads neither
    CVE rows nor mentions and writes nothing a refresh reads). Without `offload` each chunk
    is computed as it is handed out."""
    now = now or datetime.now(UTC)
    t0 = time.perf_counter()
    data = writer.enrichment()
    item_ids = data.changed_items(since)
    if since is not None and not item_ids:  # an unchanged night: nothing to learn or redo
        return PendingRefresh(None, t0)
    known = [_entry(row) for row in data.products()]
    statements = data.statements(item_ids)
    # The dictionary is learnt in the offload while this process reads the CVEs and their
    # inputs, and the statements become mentions there too (offloaded_mentions): over the
    # real advisories the parent's CPU in begin_refresh went from ~1.5 to ~1.0 s (at a load
    # of 8-10), the workers being idle till then.
    triples = list(dict.fromkeys((v, p, package) for _, v, p, package in statements))
    learning = _call(offload, offloaded_relearn if offload else relearn, known, triples)
    cve_ids = data.cves_of(None if since is None else item_ids)
    by_item: dict[str, list[tuple[str, str, str, bool]]] = defaultdict(list)
    for statement in statements:
        by_item[statement[0]].append(statement)
    work = _Work(data, item_ids, cve_ids, learning, by_item, now, offload)
    return PendingRefresh(work, t0)


@dataclass(slots=True)
class _Work:
    """A refresh's inputs, and how it computes one chunk of CVE rows or of mentions."""

    data: store.Enrichment
    item_ids: list[str]
    cve_ids: list[str]
    learning: Future[Learnt]
    # by item id, its statements: (item id, vendor, product, is a package)
    statements: dict[str, list[tuple[str, str, str, bool]]]
    now: datetime
    offload: Offload | None
    names: dict[tuple[str, str], tuple[str, str]] | None = None  # key -> the spelling shown
    dictionary: Dictionary | None = None  # built in this process when nothing is offloaded

    @property
    def entries(self) -> tuple[Entry, ...]:
        return tuple(self.learning.result().entries.values())

    @property
    def learnt(self) -> _ByKey:
        return self.learning.result().changed

    def cve_chunk(self, chunk: Sequence[str]) -> Future[pa.Table]:
        """One chunk's CVE rows: its inputs read, then computed (`send_cves`)."""
        return self.send_cves(chunk, self.data.cve_inputs(chunk))

    def send_cves(self, chunk: Sequence[str], inputs: _CveInputs) -> Future[pa.Table]:
        """One chunk's CVE rows from its read inputs: in the offload (enrich.cverows, which a
        worker imports without the store) with the statements' canonical pairs learnt in
        another worker, else here (a done future). Awaits the learnt names."""
        learnt = self.learning.result()
        if self.names is None:
            self.names = {k: (e.vendor, e.product) for k, e in learnt.entries.items()}
        arguments = (chunk, *inputs, self.names, self.now, store.CVES)
        if self.offload is None:
            return _done(cve_rows(*arguments))
        return self.offload.call(offloaded_cve_rows, learnt.pairs, *arguments)

    def mentions_chunk(self, item_ids: Sequence[str]) -> Future[tuple[pa.Table, int]]:
        """One chunk of items' mentions: its texts read, then recognised (`send_mentions`)."""
        return self.send_mentions(item_ids, self.data.texts(item_ids, MAX_TEXT_CHARS))

    def send_mentions(
        self, item_ids: Sequence[str], texts: pa.Table
    ) -> Future[tuple[pa.Table, int]]:
        """One chunk of items' mentions, with the dictionary's number of terms: in the
        offload (enrich.mentions, which also turns the chunk's statements into mentions
        there), else here. Awaits the learnt entries."""
        statements = [s for i in item_ids for s in self.statements.get(i, ())]
        if self.offload is not None:
            return self.offload.call(
                offloaded_mentions, self.entries, texts, statements, store.MENTIONS
            )
        if self.dictionary is None:
            self.dictionary = Dictionary(self.entries)
        rows = item_mentions(self.dictionary, text_rows(texts), stated_mentions(statements))
        return _done((mentions_table(rows, store.MENTIONS), len(self.dictionary)))


class PendingRefresh:
    """A refresh under way: up to IN_FLIGHT chunks of CVE rows and as many of mentions are
    out at once, which bounds their inputs and results in memory."""

    def __init__(self, work: _Work | None, started: float) -> None:
        self._work = work
        self._t0 = started
        self._stages: dict[str, float] = {}
        parts = IN_FLIGHT if work and work.offload else 1
        self._cve_chunks = _split(work.cve_ids, CVE_CHUNK, parts) if work else []
        self._item_chunks = _split(work.item_ids, ITEM_CHUNK, parts) if work else []
        t = time.perf_counter()
        self._cves: list[Future[pa.Table]] = []
        self._mentions: list[Future[tuple[pa.Table, int]]] = []
        if work is not None:
            # Every first chunk's inputs are read before the learnt dictionary is awaited: the
            # reads hide the offload's learning, which the first chunk's read alone did not
            # (the parent waited for it idle). CVE rows then go out first: they take longest.
            cve_inputs = [(c, work.data.cve_inputs(c)) for c in self._cve_chunks[:IN_FLIGHT]]
            texts = [(c, work.data.texts(c, MAX_TEXT_CHARS)) for c in self._item_chunks[:IN_FLIGHT]]
            self._cves = [work.send_cves(c, inputs) for c, inputs in cve_inputs]
            self._mentions = [work.send_mentions(c, text) for c, text in texts]
        self._stages["start"] = time.perf_counter() - t

    def finish(self) -> RefreshReport:
        """The remaining chunks, each going out before the oldest pending one is awaited;
        then the dictionary, the mentions and the CVE rows saved at once."""
        work = self._work
        if work is None:
            return RefreshReport(0, 0, 0, 0, 0, round(time.perf_counter() - self._t0, 3))
        t = time.perf_counter()
        found = _gather(self._mentions, self._item_chunks[IN_FLIGHT:], work.mentions_chunk)
        mentions = pa.concat_tables(
            [table for table, _ in found] or [mentions_table([], store.MENTIONS)]
        )
        self._stages["mentions"] = time.perf_counter() - t
        t = time.perf_counter()
        tables = _gather(self._cves, self._cve_chunks[IN_FLIGHT:], work.cve_chunk)
        cves = pa.concat_tables(tables) if tables else store.CVES.empty_table()
        self._stages["cves"] = time.perf_counter() - t
        t = time.perf_counter()
        work.data.save(
            item_ids=work.item_ids,
            products=_products_table(work.learnt),
            mentions=mentions,
            cve_ids=work.cve_ids,
            cves=cves,
            now=work.now,
        )
        self._stages["save"] = time.perf_counter() - t
        return RefreshReport(
            items=len(work.item_ids),
            mentions=mentions.num_rows,
            products_learnt=len(work.learnt),
            dictionary_terms=found[0][1] if found else len(Dictionary(work.entries)),
            cves=cves.num_rows,
            seconds=round(time.perf_counter() - self._t0, 3),
            stage_seconds={k: round(v, 3) for k, v in self._stages.items()},
        )


def _gather(
    pending: list[Future[T]],
    rest: Sequence[Sequence[str]],
    compute: Callable[[Sequence[str]], Future[T]],
) -> list[T]:
    """The results of the pending chunks, then of the rest, in order; each of the rest goes
    out before the oldest pending one is awaited."""
    results: list[T] = []
    for chunk in rest:
        pending.append(compute(chunk))
        results.append(pending.pop(0).result())
    results.extend(future.result() for future in pending)
    pending.clear()
    return results


def _split(ids: Sequence[str], limit: int, parts: int) -> list[tuple[str, ...]]:
    """`ids` in chunks of at most `limit`, as even as can be, and at least `parts` of them
    when there are that many ids: an offload's workers then finish together. Cut at `limit`
    alone, an import's 21,221 CVEs made a chunk of 20,000 (~1.2 s of CPU in one worker) and
    one of 1,221, the other worker left idle at the end of the run."""
    chunks = max(parts, -(-len(ids) // max(1, limit)))
    return batches(ids, -(-len(ids) // chunks))


def _call(offload: Offload | None, function: Callable[..., T], *args: Any) -> Future[T]:
    """`function(*args)` in the offload, or here when there is none (a done future)."""
    if offload is not None:
        return offload.call(function, *args)
    return _done(function(*args))


def _done(value: T) -> Future[T]:
    """A future already holding `value`: a chunk computed in this process."""
    done: Future[T] = Future()
    done.set_result(value)
    return done


def _entry(row: dict[str, Any]) -> Entry:
    return Entry(row["vendor"], row["product"], tuple(row["names"] or ()), bool(row["package"]))


def _products_table(entries: _ByKey) -> pa.Table:
    rows = [
        {
            "vendor_key": vendor_key,
            "product_key": product_key,
            "vendor": e.vendor,
            "product": e.product,
            "names": list(e.names),
            "package": e.package,
        }
        for (vendor_key, product_key), e in entries.items()
    ]
    return pa.Table.from_pylist(rows, schema=store.PRODUCTS)
