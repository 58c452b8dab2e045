"""The advisor's jobs over the store: score stories for clients, build briefings, the
portfolio. I/O at this edge (database, files); every decision inside is a pure function
(`scoring.assess`, `briefing.build`). Flows and the CLI call these; a long-lived consumer
holds a `Desk`.
"""

from __future__ import annotations

import json
import threading
from collections import defaultdict
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from techwatch.briefing import facts
from techwatch.briefing.build import Inputs, build, kept
from techwatch.briefing.compose import DEFAULT_CAP, Selection
from techwatch.briefing.model import Briefing, Health
from techwatch.briefing.period import Period
from techwatch.clients.config import load_clients
from techwatch.clients.profile import Client
from techwatch.files import write_atomically
from techwatch.render.briefing import from_json, render, to_json
from techwatch.scoring import gather
from techwatch.scoring.assess import assess
from techwatch.scoring.evidence import Evidence
from techwatch.storage.briefings import Briefings
from techwatch.storage.reader import open_reader
from techwatch.storage.writer import open_writer

# Stories scored per read, write and client index: a night of 20k in one pass (the index of
# all clients' terms and the write's checkpoint cost ~0.6 s per chunk at 200 clients), while
# a first scoring of the whole store stays bounded in memory (~200 MB per chunk).
CHUNK = 20_000


@dataclass(frozen=True, slots=True)
class ScoreStats:
    stories: int
    decisions: int
    clients: int
    dropped: int = 0
    by_priority: dict[str, int] = field(default_factory=dict)


def score(
    db: Path,
    clients: Sequence[Client],
    now: datetime,
    *,
    since: datetime | None = None,
    story_ids: Sequence[str] | None = None,
) -> ScoreStats:
    """Decide, for every client, the stories touched since `since` (or `story_ids`)."""
    if story_ids is None:
        if since is None:
            raise ValueError("score needs `since` or `story_ids`")
        with open_reader(db) as reader:
            story_ids = reader.briefings().stories_to_score(since)
    counts: defaultdict[str, int] = defaultdict(int)
    decided = dropped = 0
    for start in range(0, len(story_ids), CHUNK):
        chunk = story_ids[start : start + CHUNK]
        with open_reader(db) as reader:
            rows = reader.briefings().story_rows(chunk)
        evidences = gather.evidences(rows)
        decisions = assess(evidences, clients, gather.last_seen(rows), now)
        with open_writer(db) as writer:
            dropped += writer.briefings().replace_decisions(
                chunk, decisions, _facts_texts(evidences, rows["items"], decisions)
            )
        decided += len(decisions)
        for row in decisions:
            counts[row["priority"]] += 1
    return ScoreStats(len(story_ids), decided, len(clients), dropped, dict(counts))


def _facts_texts(
    evidences: Mapping[str, Evidence],
    items: Sequence[Mapping[str, Any]],
    decisions: Sequence[Mapping[str, Any]],
) -> dict[str, str]:
    """The decided stories' facts as JSON text: what their briefings will say of them."""
    decided = dict.fromkeys(r["story_id"] for r in decisions)
    told = facts.of_evidences(evidences, items, decided)
    return {sid: json.dumps(facts.to_json(f), ensure_ascii=False) for sid, f in told.items()}


def rescore_active(
    db: Path, clients: Sequence[Client], since: datetime, now: datetime
) -> ScoreStats:
    """Score again every story active since `since`: after client profiles changed."""
    with open_reader(db) as reader:
        story_ids = reader.briefings().stories_active_since(since)
    return score(db, clients, now, story_ids=story_ids)


def rescore_items(
    db: Path, clients: Sequence[Client], item_ids: Sequence[str], now: datetime
) -> tuple[list[str], ScoreStats]:
    """Score again the stories holding `item_ids`, for every client: after a consultant
    labelled them, since the nightly run only revisits new and changed stories.

    Returns the stories scored (none for items not grouped yet: grouping scores them)."""
    with open_reader(db) as reader:
        found = reader.briefings().stories_of_items(item_ids, None)
    story_ids = list(dict.fromkeys(row["story_id"] for row in found.values()))
    return story_ids, score(db, clients, now, story_ids=story_ids)


class Desk:
    """The consultant's queries (portfolio, briefings) over one read-only connection held
    across calls: what a long-lived consumer (a web page, a shell) uses to answer in
    milliseconds, where opening DuckDB alone costs ~20 ms.

    While the connection is held, no other process can write the file (DuckDB's lock): the
    nightly run's writer waits, retrying up to a minute (`storage.connection.connect`). So a
    desk lets go of the file: `close()` after each batch of requests, or `idle_s` seconds
    after its last call (a timer), and opens it again at the next call (~20 ms, once per
    batch). As nothing can write the file while it is held, it caches per connection what
    does not depend on the client (model version, sources health, items of a period). Its
    queries run on one thread (`Briefings.one_thread`).
    A consumer that answers without a pause for over a minute during the nightly run would
    make the run's write fail as busy: it must leave gaps (idle_s) or read between runs.
    The CLI opens one desk per command (`brief`, `portfolio` below).
    """

    def __init__(self, db: Path, *, idle_s: float | None = None, wait_s: float = 60.0) -> None:
        self.db = Path(db)
        self.idle_s = idle_s
        self.wait_s = wait_s
        self._lock = threading.RLock()
        self._stack: ExitStack | None = None
        self._store: Briefings | None = None
        self._cache: dict[Any, Any] = {}
        self._timer: threading.Timer | None = None
        self.opened = 0  # connections opened so far (the bench counts the cold calls)

    def __enter__(self) -> Desk:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @property
    def held(self) -> bool:
        return self._store is not None

    def close(self) -> None:
        """Let go of the file (the next call opens it again)."""
        with self._lock:
            if self._timer is not None:
                self._timer.cancel()
                self._timer = None
            if self._stack is not None:
                self._stack.close()
            self._stack = self._store = None
            self._cache.clear()

    @contextmanager
    def _held(self) -> Iterator[Briefings]:
        with self._lock:
            if self._timer is not None:
                self._timer.cancel()
                self._timer = None
            if self._store is None:
                stack = ExitStack()
                reader = stack.enter_context(open_reader(self.db, wait_s=self.wait_s))
                self._stack, self._store = stack, reader.briefings()
                self._store.one_thread()
                self.opened += 1
            try:
                yield self._store
            finally:
                if self.idle_s is not None:
                    self._timer = threading.Timer(self.idle_s, self._release_if_idle)
                    self._timer.daemon = True
                    self._timer.start()

    def _release_if_idle(self) -> None:
        with self._lock:
            self._timer = None
            if self._stack is not None:
                self._stack.close()
            self._stack = self._store = None
            self._cache.clear()

    def _cached(self, key: Any, compute: Callable[[], Any]) -> Any:
        if key not in self._cache:
            self._cache[key] = compute()
        return self._cache[key]

    def portfolio(self, since: datetime) -> list[dict[str, Any]]:
        with self._held() as store:
            return store.portfolio(since)

    def compose(
        self,
        client: Client,
        period: Period,
        now: datetime,
        *,
        cap: int = DEFAULT_CAP,
        advisor: str | None = None,
    ) -> tuple[Briefing, Selection]:
        """Build a client's briefing for `period` (not kept: see `brief`).

        Four reads: the client's decisions (without their reasons), triage and what it was
        told, then the facts and reasons of the stories within the cap (again for the next
        ones if some are gone since)."""
        with self._held() as store:
            decisions = store.client_decisions(client.id, period.start, period.end)
            triage = store.triage(client.id)
            told = store.told(client.id, period.label)
            picks = kept(decisions, triage, told, now)
            ordered = [k.row for k in picks[0]]
            found: dict[str, facts.StoryFacts] = {}
            reasons: dict[str, str] = {}
            read = 0
            while read < len(ordered) and len(found) < cap:
                batch = ordered[read : read + cap - len(found)]
                read += len(batch)
                batch_facts, batch_reasons = _told_stories(store, batch)
                found.update(batch_facts)
                reasons.update(batch_reasons)
            checked, failing, degraded = self._cached("health", store.source_health)
            window = (period.start, period.end)
            inputs = Inputs(
                decisions=decisions,
                facts=found,
                triage=triage,
                told=told,
                health=Health(checked, failing, degraded),
                items_watched=self._cached(window, lambda: store.items_between(*window)),
                model_version=self._cached("model", store.model_version),
                advisor=advisor,
                read=frozenset(row["story_id"] for row in ordered[:read]),
                reasons=reasons,
            )
        return build(client, period, inputs, now, cap, picks)


def _told_stories(
    store: Briefings, decisions: Sequence[Mapping[str, Any]]
) -> tuple[dict[str, facts.StoryFacts], dict[str, str]]:
    """The stories' facts as scoring kept them, and their decisions' reasons (JSON text);
    facts derived from their rows for a story decided before they were kept (or gone since:
    then it has none)."""
    kept_facts, reasons = store.told_stories(decisions)
    found = {sid: facts.from_json(json.loads(text)) for sid, text in kept_facts.items()}
    missing = [d["story_id"] for d in decisions if d["story_id"] not in found]
    if missing:
        found.update(facts.from_rows(store.story_rows(missing)))
    return found, reasons


def brief(
    db: Path,
    client: Client,
    period: Period,
    now: datetime,
    *,
    cap: int = DEFAULT_CAP,
    advisor: str | None = None,
    keep: bool = False,
) -> Briefing:
    """Build a client's briefing for `period`; `keep` stores it (what was told is remembered:
    only briefings that reach the client should be kept)."""
    with Desk(db) as desk:
        briefing, selection = desk.compose(client, period, now, cap=cap, advisor=advisor)
    if keep:
        with open_writer(db) as writer:
            writer.briefings().save(_row(briefing), _told(briefing, selection.marks))
    return briefing


def stored(db: Path, client_id: str, period: str | None = None) -> Briefing | None:
    """The latest kept briefing of a client (of one period), exactly as it was built."""
    with open_reader(db) as reader:
        row = reader.briefings().latest(client_id, period)
    return None if row is None else from_json(row["content"])


def write_files(briefing: Briefing, folder: Path) -> list[Path]:
    """<folder>/<client>/<period>.md and .html, written atomically."""
    written = []
    for fmt in ("md", "html"):
        path = folder / briefing.client_id / f"{briefing.period.label}.{fmt}"
        write_atomically(path, render(briefing, fmt))
        written.append(path)
    return written


def portfolio(db: Path, since: datetime) -> list[dict[str, Any]]:
    with Desk(db) as desk:
        return desk.portfolio(since)


def _row(briefing: Briefing) -> dict[str, Any]:
    top = briefing.entries[0].priority if briefing.entries else None
    stamp = briefing.generated_at.strftime("%Y%m%dT%H%M%S%f")
    return {
        "briefing_id": f"{briefing.client_id}:{briefing.period.label}:{stamp}",
        "client_id": briefing.client_id,
        "period": briefing.period.label,
        "period_start": briefing.period.start,
        "period_end": briefing.period.end,
        "generated_at": briefing.generated_at,
        "language": briefing.language,
        "model_version": briefing.model_version,
        "rules_version": briefing.rules_version,
        "entries": len(briefing.entries),
        "top_priority": top,
        "content": json.dumps(to_json(briefing), ensure_ascii=False),
    }


def _told(briefing: Briefing, marks: dict[str, frozenset[str]] | Any) -> list[dict[str, Any]]:
    return [
        {"story_id": e.story_id, "priority": e.priority, "marks": marks.get(e.story_id, set())}
        for e in briefing.entries
    ]


def score_night(
    db: Path, clients_dir: Path | None, since: datetime, now: datetime
) -> dict[str, Any]:
    """The nightly scoring step: every client, the stories touched since the run began.

    Without a clients folder there is nothing to score (a fresh install): said, not failed.
    A client file with an error fails the step, naming the file (and the failure hook alerts
    the advisor): silently leaving a client out of the watch would be worse. Everything
    ingested stays stored; after fixing the file, `techwatch score --since 2d` scores the
    stories that night missed.
    """
    if clients_dir is None or not clients_dir.is_dir():
        return {"skipped": f"no clients folder at {clients_dir}" if clients_dir else "no clients"}
    stats = score(db, load_clients(clients_dir), now, since=since)
    return {
        "stories": stats.stories,
        "clients": stats.clients,
        "decisions": stats.decisions,
        "by_priority": stats.by_priority,
    }
