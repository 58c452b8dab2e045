"""ParsePool: a hard time budget per feed (case 16), errors as ParseError, asyncio access."""

from __future__ import annotations

import asyncio
import gc
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from concurrent.futures import CancelledError, Future
from datetime import UTC, datetime
from pathlib import Path

import pytest

from techwatch.errors import ParseError
from techwatch.parse.pool import Document, ParsePool
from techwatch.types import ParsedFeed

DATA = Path(__file__).resolve().parents[1] / "data" / "feeds"
FETCHED = datetime(2026, 11, 28, 3, 0, tzinfo=UTC)
GOOD = (DATA / "atom_de.xml").read_bytes()


def slow_author_feed(author_kib: int = 62) -> bytes:
    """kurtmckee/feedparser#562: an almost-e-mail <author> makes feedparser's regex quadratic
    (32 KiB ~ 4 s, 62 KiB ~ 15 s of CPU here)."""
    author = "a@" + "a." * (author_kib * 512) + "!"
    return (
        '<?xml version="1.0"?><rss version="2.0"><channel><title>t</title>'
        f"<item><title>x</title><guid>1</guid><author>{author}</author></item>"
        "</channel></rss>"
    ).encode()


@pytest.fixture(scope="module")
def pool() -> Iterator[ParsePool]:
    """One pool for the module: worker start-up (imports, language model) is paid once."""
    with ParsePool(workers=2, timeout_s=2.0) as shared:
        yield shared


def submit(pool: ParsePool, source_id: str, body: bytes) -> Future[ParsedFeed]:
    return pool.submit(
        source_id,
        body,
        url=f"https://{source_id}.example/feed",
        content_type=None,
        declared_language=None,
        fetched_at=FETCHED,
    )


@pytest.mark.slow
def test_slow_author_feed_is_killed_at_the_budget_and_the_others_pass(pool: ParsePool) -> None:
    """Case 16: the hostile source fails with parse_timeout; its neighbours are parsed."""
    started = time.monotonic()
    slow = submit(pool, "slow", slow_author_feed())
    good = [submit(pool, f"good{n}", GOOD) for n in range(4)]
    results = [future.result(timeout=30) for future in good]
    assert all(isinstance(r, ParsedFeed) and len(r.items) == 2 for r in results)
    with pytest.raises(ParseError) as caught:
        slow.result(timeout=30)
    error = caught.value
    assert (error.kind, error.source_id, error.url) == (
        "parse_timeout",
        "slow",
        "https://slow.example/feed",
    )
    assert not error.transient
    assert time.monotonic() - started < 25  # 15 s of CPU were not spent waiting for it
    after = submit(pool, "after", GOOD).result(timeout=30)
    assert after.source_id == "after"


def test_parse_errors_cross_the_process_boundary_intact(pool: ParsePool) -> None:
    with pytest.raises(ParseError) as caught:
        submit(pool, "html", b"<html><body>Maintenance</body></html>").result(timeout=30)
    assert (caught.value.kind, caught.value.source_id) == ("not_a_feed", "html")
    assert caught.value.url == "https://html.example/feed"


def test_unexpected_worker_exceptions_come_back_as_parse_error(pool: ParsePool) -> None:
    broken = pool.submit(
        "broken",
        None,  # type: ignore[arg-type]
        url="https://broken.example/",
        content_type=None,
        declared_language=None,
        fetched_at=FETCHED,
    )
    with pytest.raises(ParseError) as caught:
        broken.result(timeout=30)
    assert (caught.value.kind, caught.value.source_id) == ("malformed", "broken")
    assert isinstance(caught.value.__cause__, AttributeError)
    assert submit(pool, "fine", GOOD).result(timeout=30).source_id == "fine"


def document(source_id: str, body: bytes) -> Document:
    return Document(source_id, body, f"https://{source_id}.example/feed", FETCHED)


def test_documents_submitted_together_settle_one_by_one_as_alone(pool: ParsePool) -> None:
    """One task for several documents: each future holds what `submit` would have given,
    a parser's error failing its own document only."""
    bodies = {"a": GOOD, "html": b"<html><body>Maintenance</body></html>", "b": GOOD}
    futures = pool.submit_many([document(s, b) for s, b in bodies.items()])
    alone = {s: submit(pool, s, b) for s, b in bodies.items()}
    for future, source_id in zip(futures, bodies, strict=True):
        if source_id == "html":
            with pytest.raises(ParseError) as caught:
                future.result(timeout=30)
            assert (caught.value.kind, caught.value.source_id, caught.value.url) == (
                "not_a_feed",
                "html",
                "https://html.example/feed",
            )
            continue
        assert future.result(timeout=30) == alone[source_id].result(timeout=30)


def test_unexpected_exceptions_of_a_document_submitted_together_fail_it_alone(
    pool: ParsePool,
) -> None:
    broken, fine = pool.submit_many(
        [document("broken", None), document("fine", GOOD)]  # type: ignore[arg-type]
    )
    with pytest.raises(ParseError) as caught:
        broken.result(timeout=30)
    assert (caught.value.kind, caught.value.source_id) == ("malformed", "broken")
    assert isinstance(caught.value.__cause__, AttributeError)
    assert fine.result(timeout=30).source_id == "fine"


@pytest.mark.slow
def test_a_slow_document_submitted_together_fails_alone_and_its_neighbours_pass(
    pool: ParsePool,
) -> None:
    """Case 16 for a task of several documents: past the budget the task is stopped and each
    document goes again alone, so that only the hostile one fails, with parse_timeout."""
    futures = pool.submit_many(
        [document("good1", GOOD), document("slow", slow_author_feed()), document("good2", GOOD)]
    )
    good1, slow, good2 = (f.exception(timeout=30) or f.result() for f in futures)
    assert isinstance(good1, ParsedFeed) and good1.source_id == "good1"
    assert isinstance(good2, ParsedFeed) and good2.source_id == "good2"
    assert isinstance(slow, ParseError)
    assert (slow.kind, slow.source_id) == ("parse_timeout", "slow")


def test_closing_the_pool_without_waiting_cancels_documents_submitted_together() -> None:
    started = time.monotonic()
    pool = ParsePool(workers=1, timeout_s=60.0)
    futures = pool.submit_many([document("slow", slow_author_feed()), document("b", GOOD)])
    time.sleep(0.5)
    pool.close(wait=False)
    assert time.monotonic() - started < 10
    for future in futures:
        assert future.done()
        with pytest.raises((ParseError, CancelledError)):
            future.result(timeout=0)


def _feeds_of(source_id: str) -> int:
    return sum(isinstance(o, ParsedFeed) and o.source_id == source_id for o in gc.get_objects())


def test_a_settled_parse_is_freed_without_the_cyclic_collector(pool: ParsePool) -> None:
    # Stories run with the collector paused: a parse's futures must not keep its feed (and
    # its items) in a reference cycle once the caller lets go of it.
    was_enabled = gc.isenabled()
    gc.collect()
    gc.disable()
    try:
        future = submit(pool, "freed", GOOD)
        assert len(future.result(timeout=30).items) > 0
        del future
        # pebble holds on to the task it handled last: the next one lets go of it
        assert submit(pool, "next", GOOD).result(timeout=30).source_id == "next"
        deadline = time.monotonic() + 10  # its result thread may still be in the callbacks
        while _feeds_of("freed") and time.monotonic() < deadline:
            time.sleep(0.05)
        assert _feeds_of("freed") == 0
    finally:
        if was_enabled:
            gc.enable()


def test_parse_can_be_awaited_from_asyncio(pool: ParsePool) -> None:
    async def both() -> list[ParsedFeed | BaseException]:
        return await asyncio.gather(
            pool.parse(
                "a",
                GOOD,
                url="https://a.example/",
                content_type="application/atom+xml",
                declared_language=None,
                fetched_at=FETCHED,
            ),
            pool.parse(
                "b",
                b"",
                url="https://b.example/",
                content_type=None,
                declared_language=None,
                fetched_at=FETCHED,
            ),
            return_exceptions=True,
        )

    first, second = asyncio.run(both())
    assert isinstance(first, ParsedFeed) and first.source_id == "a"
    assert isinstance(second, ParseError) and second.kind == "not_a_feed"


def test_closing_the_pool_without_waiting_cancels_what_is_left() -> None:
    """An aborted run must not leave a caller awaiting a parse forever."""
    started = time.monotonic()
    pool = ParsePool(workers=1, timeout_s=60.0)
    running = submit(pool, "slow", slow_author_feed())
    queued = submit(pool, "queued", GOOD)
    time.sleep(0.5)
    pool.close(wait=False)
    assert time.monotonic() - started < 10
    for future in (running, queued):
        assert future.done()
        with pytest.raises((ParseError, CancelledError)):
            future.result(timeout=0)


def _run_fresh(tmp_path: Path, script: str, *args: str) -> str:
    """Run `script` in a fresh Python process (its own forkserver) with this tree's techwatch,
    whatever is installed; its standard output."""
    path = tmp_path / "fresh.py"
    path.write_text(script)
    root = str(Path(__file__).resolve().parents[2])
    done = subprocess.run(
        [sys.executable, str(path), *args],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "PYTHONPATH": root},
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


_FRESH_PROCESS = """
import sys
from techwatch.clean import _identifier
from techwatch.parse.pool import Document, ParsePool


def model_state():
    info = _identifier.cache_info()
    return info.currsize, info.hits


if __name__ == "__main__":
    language = sys.argv[1] == "language"
    with ParsePool(workers=1, timeout_s=20, language_model=language) as pool:
        print(*pool._pool.schedule(model_state).result(timeout=60))
"""


@pytest.mark.parametrize(
    ("kind", "expected"),
    [
        # loaded by the forkserver (whose scanner tables read it: a hit), so the worker's
        # warm-up hit the cache too; a worker loading its own copy would show 1 hit
        ("language", "1 2"),
        ("advisories", "0 0"),  # an advisory-only process does not load it at all
    ],
)
def test_the_language_model_is_loaded_once_in_the_forkserver(
    kind: str, expected: str, tmp_path: Path
) -> None:
    """A fresh process (its own forkserver): workers inherit the model instead of each
    spending ~0.6 s of CPU on loading their own copy."""
    assert _run_fresh(tmp_path, _FRESH_PROCESS, kind).split("\n")[-2] == expected


_EARLY_START = """
import psutil
from techwatch.parse.pool import start_forkserver

if __name__ == "__main__":
    start_forkserver()
    start_forkserver()  # a second call finds it running
    commands = [" ".join(c.cmdline()) for c in psutil.Process().children()]
    print(sum("multiprocessing.forkserver" in c for c in commands))
"""


def test_the_forkserver_can_be_started_before_any_pool(tmp_path: Path) -> None:
    """A run starts it first thing, so the imports and the model load during its preparation."""
    assert _run_fresh(tmp_path, _EARLY_START).split() == ["1"]


def test_the_advisory_parsers_load_without_the_feed_and_page_parsers() -> None:
    """A pool that parses only advisories (language_model=False) preloads the parser registry
    alone: feedparser and BeautifulSoup, two thirds of its import, stay out of it."""
    repo = Path(__file__).resolve().parents[2]
    code = (
        "import sys, techwatch.parse.registry as r\n"
        "assert r.__file__.startswith(sys.argv[1]), r.__file__\n"
        "print(sorted({'feedparser', 'bs4'} & sys.modules.keys()))"
    )
    shown = subprocess.run(
        [sys.executable, "-c", code, str(repo)],
        cwd=repo,
        capture_output=True,
        text=True,
        check=True,
    )
    assert shown.stdout.strip() == "[]"


_PRELOADED = """
import sys

from techwatch.parse.pool import ParsePool, start_forkserver

WANTED = ["techwatch.enrich.warm"] if sys.argv[1] == "preload" else []


def loaded() -> bool:
    return "techwatch.enrich.cverows" in sys.modules


if __name__ == "__main__":
    start_forkserver(language_model=False, preload=WANTED)
    with ParsePool(1, 30, language_model=False, preload=WANTED) as pool:
        print(pool.call(loaded).result(timeout=60))
"""


@pytest.mark.parametrize(("preload", "expected"), [("preload", "True"), ("none", "False")])
def test_a_pool_s_workers_start_with_the_modules_it_preloads(
    tmp_path: Path, preload: str, expected: str
) -> None:
    """An import's workers compute CVE rows once the files are parsed: their forkserver
    imports those modules once (importer.ENRICHMENT_MODULES), rather than each worker."""
    assert _run_fresh(tmp_path, _PRELOADED, preload).split() == [expected]
