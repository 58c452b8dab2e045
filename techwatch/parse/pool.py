"""Parse workers with a hard time budget: a feed that takes too long is killed, not waited for.

feedparser can burn seconds of CPU on hostile input (a 62 KiB <author> took 9.5 s, see
kurtmckee/feedparser#562) and a thread cannot be interrupted, so parsing runs in pebble worker
processes: past `timeout_s` pebble kills the worker and starts a fresh one, and the other tasks go
on. Workers come from a "forkserver" (or "spawn") context, never from fork(): the parent runs
Prefect and asyncio threads, and forking a threaded process can deadlock the child.
"""

from __future__ import annotations

import asyncio
import gc
import importlib
import multiprocessing
import sys
from collections.abc import Callable, Sequence
from concurrent.futures import CancelledError, Future, InvalidStateError
from dataclasses import dataclass
from datetime import datetime
from types import TracebackType
from typing import Any, Final

from pebble import ProcessExpired, ProcessPool

from techwatch.clean import warm_up
from techwatch.errors import ParseError
from techwatch.parse.registry import parse_document
from techwatch.types import HtmlSelectors, ParsedFeed

# Modules the forkserver imports once, so each (re)started worker begins warm; pools that
# detect languages (they parse feeds and pages) also load those parsers and the model there
# (techwatch.parse.warm). The forkserver is one per process: whichever pool starts it first
# decides, and a worker without the model or those parsers loads them.
_PRELOAD: Final = ["techwatch.parse.registry"]
_FEED_PARSERS: Final = ["techwatch.parse.feeds", "techwatch.parse.html_page"]
_PRELOAD_WITH_MODEL: Final = [*_PRELOAD, *_FEED_PARSERS, "techwatch.parse.warm"]
# Address-space cap per worker: a runaway document fails with MemoryError in its own worker
# instead of pushing the host into swap. Generous: numpy and lxml map a few hundred MiB.
DEFAULT_MAX_MEMORY_MB: Final = 2048


def _context(
    language_model: bool, preload: Sequence[str] = ()
) -> multiprocessing.context.BaseContext:
    """forkserver where the platform has it (Linux, macOS), else spawn; never fork."""
    if "forkserver" in multiprocessing.get_all_start_methods():
        context = multiprocessing.get_context("forkserver")
        base = _PRELOAD_WITH_MODEL if language_model else _PRELOAD
        context.set_forkserver_preload([*base, *preload])
        return context
    return multiprocessing.get_context("spawn")


def start_forkserver(*, language_model: bool = True, preload: Sequence[str] = ()) -> None:
    """Start the workers' forkserver now, in the background, so that its imports and language
    model (~0.7 s of CPU, see clean._model_arrays) load while the caller does other work (a
    run's preparation) instead of delaying the first parse of the first pool. `preload`: more
    modules the caller's workers will run, imported once there rather than in each worker.
    Returns at once; nothing to do without a forkserver, or when it runs already."""
    context = _context(language_model, preload)
    if context.get_start_method() == "forkserver":
        from multiprocessing import forkserver

        forkserver.ensure_running()


def _init_worker(max_memory_mb: int | None, language_model: bool = True) -> None:
    """Runs once in each worker: cap its memory and load the feed parsers and the language
    model before any task, so none of it counts against the first task's time budget.

    Then everything loaded so far (modules, the model) is frozen out of the garbage
    collector's reach: its full collections walked those long-lived objects again and again
    while feedparser's short-lived dicts triggered them, 5% of a worker's instructions.
    """
    if max_memory_mb and sys.platform.startswith("linux"):
        import resource

        limit = max_memory_mb * 1024 * 1024
        resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    if language_model:
        for module in _FEED_PARSERS:  # inherited from the forkserver, unless it started without
            importlib.import_module(module)
        warm_up()
    gc.freeze()


@dataclass(frozen=True, slots=True)
class Document:
    """One document for `ParsePool.submit_many`: what `submit` takes, as one record."""

    source_id: str
    body: bytes
    url: str
    fetched_at: datetime
    kind: str = "feed"
    content_type: str | None = None
    declared_language: str | None = None
    selectors: HtmlSelectors | None = None


def _parse_each(
    documents: Sequence[tuple[str, str, bytes, dict[str, Any]]],
) -> list[ParsedFeed | Exception]:
    """A worker's task for several documents: each one's ParsedFeed, or the exception its
    parser raised, returned rather than raised so that it fails that document alone."""
    results: list[ParsedFeed | Exception] = []
    for kind, source_id, body, kwargs in documents:
        try:
            results.append(parse_document(kind, source_id, body, **kwargs))
        except Exception as error:  # sent back, and wrapped as submit() wraps it
            results.append(error)
    return results


def _task(document: Document) -> tuple[str, str, bytes, dict[str, Any]]:
    """parse_document's arguments for one document (a tuple: cheaper to pickle)."""
    kwargs = {
        "url": document.url,
        "content_type": document.content_type,
        "declared_language": document.declared_language,
        "fetched_at": document.fetched_at,
        "selectors": document.selectors,
    }
    return document.kind, document.source_id, document.body, kwargs


def _settle(outer: Future[ParsedFeed], result: ParsedFeed | BaseException) -> None:
    """Give the caller's future its result, unless the caller cancelled it meanwhile."""
    try:
        if isinstance(result, BaseException):
            outer.set_exception(result)
        else:
            outer.set_result(result)
    except InvalidStateError:  # the caller cancelled meanwhile; nobody is waiting
        pass


def _result_of(done: Future[ParsedFeed]) -> ParsedFeed | BaseException:
    """The result or the exception of a finished future that was not cancelled."""
    error = done.exception()
    return done.result() if error is None else error


def _describe(error: BaseException) -> str:
    return f"{type(error).__name__}: {error}"[:300]


def _as_parse_error(
    error: BaseException, *, source_id: str, url: str, timeout_s: float
) -> BaseException:
    """What the caller sees for a failed task: always a ParseError naming the source."""
    if isinstance(error, ParseError):
        return error
    if isinstance(error, CancelledError):
        return error
    if isinstance(error, TimeoutError):
        message = f"parsing took longer than {timeout_s:g} s; the worker was stopped"
        kind = "parse_timeout"
    elif isinstance(error, ProcessExpired):
        message = f"the parse worker died ({_describe(error)})"
        kind = "malformed"
    else:
        message = f"parser failed: {_describe(error)}"
        kind = "malformed"
    wrapped = ParseError(message, kind=kind, source_id=source_id, url=url)
    wrapped.__cause__ = error
    return wrapped


class ParsePool:
    """A pool of parse worker processes; use it as a context manager.

    `submit` returns a concurrent.futures.Future that yields a ParsedFeed or raises ParseError:
    kind "parse_timeout" when the task ran past `timeout_s` (its worker is killed and replaced),
    "not_a_feed" / "malformed" from the parser, and "malformed" for anything else that went
    wrong in the worker (a crash, MemoryError). The pool itself keeps going in every case.
    """

    def __init__(
        self,
        workers: int,
        timeout_s: float,
        *,
        max_memory_mb: int | None = DEFAULT_MAX_MEMORY_MB,
        language_model: bool = True,
        preload: Sequence[str] = (),
    ) -> None:
        """`language_model=False` starts workers without it (~0.7 s each), for a pool that
        parses only advisories: feeds and pages detect languages, advisory parsers do not.
        `preload` as for `start_forkserver` (the same modules, if it was called)."""
        self.workers = max(1, workers)
        self.timeout_s = timeout_s
        self._pending: set[Future[ParsedFeed]] = set()
        self._pool = ProcessPool(
            max_workers=self.workers,
            initializer=_init_worker,
            initargs=(max_memory_mb, language_model),
            context=_context(language_model, preload),
        )

    def __enter__(self) -> ParsePool:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close(wait=exc_type is None)

    def close(self, *, wait: bool = True) -> None:
        """Stop the workers: after pending tasks finish (`wait`), or right away, in which case
        the futures still pending are cancelled so that no caller waits forever."""
        if wait:
            self._pool.close()
        else:
            self._pool.stop()
        self._pool.join()
        for future in list(self._pending):
            future.cancel()

    def submit(
        self,
        source_id: str,
        body: bytes,
        *,
        url: str,
        content_type: str | None,
        declared_language: str | None,
        fetched_at: datetime,
        kind: str = "feed",
        selectors: HtmlSelectors | None = None,
    ) -> Future[ParsedFeed]:
        """Schedule the parser of `kind` in a worker; the budget starts when a worker picks
        the task. `selectors`: the CSS selectors of a kind html source."""
        return self._submit(
            Document(
                source_id,
                body,
                url,
                fetched_at,
                kind=kind,
                content_type=content_type,
                declared_language=declared_language,
                selectors=selectors,
            )
        )

    def submit_many(self, documents: Sequence[Document]) -> list[Future[ParsedFeed]]:
        """`submit` for several documents in one worker task: one round trip instead of one
        each (a task costs the parent and a worker 0.15-0.5 ms of CPU each, up to a third
        of parsing a small advisory; see importer.BATCH_FILES). Each future settles as
        `submit`'s would: when the task as a whole fails (past the budget of one document, a
        dead worker), each document is submitted again alone, so that only the one to blame
        fails, with its own budget."""
        if len(documents) <= 1:
            return [self._submit(document) for document in documents]
        outers: list[Future[ParsedFeed]] = [Future() for _ in documents]
        inner = self._pool.schedule(
            _parse_each, args=([_task(d) for d in documents],), timeout=self.timeout_s
        )

        def relay(done: Future[list[ParsedFeed | Exception]]) -> None:
            if done.cancelled():
                for outer in outers:
                    outer.cancel()
                return
            if done.exception() is not None:
                for document, outer in zip(documents, outers, strict=True):
                    self._retry_alone(document, outer)
                return
            for document, outer, result in zip(documents, outers, done.result(), strict=True):
                failed = isinstance(result, Exception)
                _settle(outer, self._as_result(result, document) if failed else result)

        def forward_cancel(_: Future[ParsedFeed]) -> None:
            if all(outer.cancelled() for outer in outers):
                inner.cancel()

        for outer in outers:
            self._track(outer, forward_cancel)
        inner.add_done_callback(relay)
        return outers

    def _submit(self, document: Document) -> Future[ParsedFeed]:
        kind, source_id, body, kwargs = _task(document)
        inner = self._pool.schedule(
            parse_document, args=(kind, source_id, body), kwargs=kwargs, timeout=self.timeout_s
        )
        outer: Future[ParsedFeed] = Future()
        # outer -> forward_cancel -> inner and inner -> relay -> outer: a reference cycle that
        # kept every settled pair, and the feed it holds, until a full collection (futures keep
        # their callbacks). Once inner is done, outer lets go of it.
        link = [inner]

        def relay(done: Future[ParsedFeed]) -> None:
            link.clear()
            if done.cancelled():
                outer.cancel()
                return
            result = _result_of(done)
            failed = isinstance(result, BaseException)
            _settle(outer, self._as_result(result, document) if failed else result)

        def forward_cancel(done: Future[ParsedFeed]) -> None:
            if done.cancelled() and link:
                link[0].cancel()

        self._track(outer, forward_cancel)
        inner.add_done_callback(relay)
        return outer

    def _retry_alone(self, document: Document, outer: Future[ParsedFeed]) -> None:
        """Settle `outer` from a task of its document alone (its batch failed as a whole)."""
        if outer.done():
            return
        try:
            alone = self._submit(document)
        except RuntimeError as error:  # the pool is closing: nothing can run any more
            _settle(outer, self._as_result(error, document))
            return
        alone.add_done_callback(
            lambda done: outer.cancel() if done.cancelled() else _settle(outer, _result_of(done))
        )

    def _as_result(self, error: BaseException, document: Document) -> BaseException:
        return _as_parse_error(
            error, source_id=document.source_id, url=document.url, timeout_s=self.timeout_s
        )

    def _track(
        self, outer: Future[ParsedFeed], forward_cancel: Callable[[Future[ParsedFeed]], None]
    ) -> None:
        """Keep `outer` among the pending (close cancels them) until it settles."""
        self._pending.add(outer)
        outer.add_done_callback(self._pending.discard)
        outer.add_done_callback(forward_cancel)

    def call(self, function: Callable[..., Any], *args: Any) -> Future[Any]:
        """Run a module-level `function` in a worker, without the parse time budget: CPU work
        of the caller that the idle workers take once parsing is done (an import's CVE rows)."""
        future: Future[Any] = self._pool.schedule(function, args=args)
        return future

    async def parse(
        self,
        source_id: str,
        body: bytes,
        *,
        url: str,
        content_type: str | None,
        declared_language: str | None,
        fetched_at: datetime,
        kind: str = "feed",
        selectors: HtmlSelectors | None = None,
    ) -> ParsedFeed:
        """`submit` for asyncio callers; cancelling the awaiting task cancels the parse."""
        return await asyncio.wrap_future(
            self.submit(
                source_id,
                body,
                url=url,
                content_type=content_type,
                declared_language=declared_language,
                fetched_at=fetched_at,
                kind=kind,
                selectors=selectors,
            )
        )
