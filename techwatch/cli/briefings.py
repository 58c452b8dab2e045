"""Consultant queries over clients: `briefing`, `portfolio`, `exposure`, `search`, `score` and
`triage`. A thin layer over `techwatch.watch` and the store; `--json` on every listing."""

from __future__ import annotations

import os
import re
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Annotated, Any

import typer

from techwatch import watch
from techwatch.briefing.memory import TRIAGE_STATUSES, Triage
from techwatch.briefing.period import last_days, parse_period
from techwatch.cli import output
from techwatch.cli.options import ClientsDir, Db, Home, Json, SourcesFile, os_user, paths
from techwatch.clients.config import load_client, load_clients
from techwatch.errors import ConfigError, TechwatchError
from techwatch.files import write_atomically
from techwatch.render.briefing import FORMATS, render
from techwatch.scoring.evidence import Evidence
from techwatch.scoring.match import build_index, concerned
from techwatch.scoring.reasons import Reason
from techwatch.scoring.reasons import render as render_reason
from techwatch.settings import Paths
from techwatch.storage import open_reader, open_writer

triage_app = typer.Typer(help="Record what the advisor decided about a story for a client.")

_DAYS = re.compile(r"^(\d{1,4})d$")
_CVE = re.compile(r"^CVE-\d{4}-\d{4,}$", re.IGNORECASE)
Since = Annotated[str, typer.Option("--since", help="Whole days up to today: 7d, 30d...")]


def briefing(
    client_id: Annotated[str, typer.Argument(help="Client id (its file name in clients/).")],
    since: Annotated[
        str | None, typer.Option("--since", help="The last N days, e.g. 7d (a preview).")
    ] = None,
    period: Annotated[
        str | None, typer.Option("--period", help="2026-W48, 2026-11 or 2026-11-28.")
    ] = None,
    fmt: Annotated[str, typer.Option("--format", help="md, html or json.")] = "md",
    out: Annotated[
        Path | None, typer.Option("--out", help="Write to this file instead of stdout.")
    ] = None,
    rebuild: Annotated[
        bool,
        typer.Option("--rebuild", help="Build the period again even if a briefing was kept."),
    ] = False,
    keep: Annotated[
        bool,
        typer.Option(
            "--keep", help="Store the built briefing: its stories count as told to the client."
        ),
    ] = False,
    home: Home = None,
    db: Db = None,
    sources: SourcesFile = None,
    clients: ClientsDir = None,
) -> None:
    """A client's briefing for a period (the kept one, exactly, or a preview built now).

    With --period, a briefing kept for that period is shown exactly as it was built; otherwise
    (or with --rebuild) it is built from the stored decisions, as a preview unless --keep.
    """
    if fmt not in FORMATS:
        raise typer.BadParameter(f"{fmt!r}: use md, html or json", param_hint="--format")
    if since and period:
        raise typer.BadParameter("give --since or --period, not both", param_hint="--since")
    where = paths(home, db, sources, clients)
    client = load_client(where.clients, client_id)
    now = datetime.now(UTC)
    shown = None
    if period and not rebuild:
        shown = watch.stored(where.db, client.id, parse_period(period).label)
    if shown is None:
        span = parse_period(period) if period else last_days(_days(since or "7d"), now)
        shown = watch.brief(
            where.db, client, span, now, keep=keep, advisor=os.environ.get("TECHWATCH_ADVISOR_NAME")
        )
    text = render(shown, fmt)
    if out is None:
        output.out.file.write(text)
        return
    write_atomically(out, text)
    output.err.print(f"briefing of {client.id} ({shown.period.label}) written to {out}")


def portfolio(
    since: Since = "7d",
    home: Home = None,
    db: Db = None,
    sources: SourcesFile = None,
    clients: ClientsDir = None,
    json: Json = False,
) -> None:
    """The morning view: per client, counts per priority and the top story, most urgent first."""
    where = paths(home, db, sources, clients)
    show_portfolio(where, datetime.now(UTC) - timedelta(days=_days(since)), as_json=json)


def show_portfolio(where: Paths, start: datetime, *, as_json: bool) -> None:
    """The portfolio table (or JSON): clients with stories first, then the quiet ones."""
    rows = watch.portfolio(where.db, start)
    names = _names(where)
    for row in rows:
        row["name"] = names.get(row["client_id"], "")
    quiet = sorted(set(names) - {r["client_id"] for r in rows})
    rows += [_quiet(cid, names[cid]) for cid in quiet]
    output.listing(
        rows,
        as_json=as_json,
        title=f"portfolio since {start:%Y-%m-%d}: {len(rows)} clients",
        columns=("client", "name", "act now", "act soon", "plan", "watch", "top story"),
        cells=lambda r: (
            r["client_id"],
            r["name"],
            r["act_now"],
            r["act_soon"],
            r["plan"],
            r["watch"],
            f"[{r['top_priority']}] {output.shorten(r['top_title'], 70)}" if r["top_story"] else "",
        ),
    )


def exposure(
    query: Annotated[str, typer.Argument(help='A CVE id, or a product name ("FortiOS").')],
    lang: Annotated[str, typer.Option("--lang", help="Language of the reasons.")] = "en",
    home: Home = None,
    db: Db = None,
    sources: SourcesFile = None,
    clients: ClientsDir = None,
    json: Json = False,
) -> None:
    """Which clients are concerned, through which assets, with what priority."""
    where = paths(home, db, sources, clients)
    if _CVE.match(query.strip()):
        cve = query.strip().upper()
        with open_reader(where.db) as reader:
            rows = reader.briefings().exposure_by_cve(cve)
        shown = [
            {
                "client_id": r["client_id"],
                "priority": r["priority"],
                "lane": r["lane"],
                "story_id": r["story_id"],
                "title": r["title"],
                "why": [_reason_text(x, lang) for x in r["reasons"].get("match", [])],
            }
            for r in rows
        ]
        title = f"{cve}: {len({r['client_id'] for r in shown})} clients concerned"
    else:
        shown = _inventory_exposure(load_clients(where.clients), query, lang)
        title = f"{query!r}: {len({r['client_id'] for r in shown})} clients run it"
    output.listing(
        shown,
        as_json=json,
        title=title,
        columns=("client", "priority", "lane", "why"),
        cells=lambda r: (r["client_id"], r["priority"], r["lane"], "\n".join(r["why"])),
    )


def score(
    since: Since = "30d",
    home: Home = None,
    db: Db = None,
    sources: SourcesFile = None,
    clients: ClientsDir = None,
    json: Json = False,
) -> None:
    """Score again every story active in the span, for every client (after editing profiles).

    The nightly flow scores new and changed stories by itself, and `items label` scores its
    item's story again.
    """
    where = paths(home, db, sources, clients)
    now = datetime.now(UTC)
    stats = watch.rescore_active(
        where.db, load_clients(where.clients), now - timedelta(days=_days(since)), now
    )
    if json:
        output.print_json(stats)
        return
    output.out.print(
        f"{stats.stories} stories scored for {stats.clients} clients: {stats.decisions} "
        f"decisions {dict(sorted(stats.by_priority.items()))}"
    )


@triage_app.command("set")
def triage_set(
    client_id: Annotated[str, typer.Argument(help="Client id.")],
    story_id: Annotated[str, typer.Argument(help="Story id (see `stories list`).")],
    status: Annotated[str, typer.Argument(help=", ".join(TRIAGE_STATUSES))],
    note: Annotated[str, typer.Option("--note", help="Why; shown in the history.")] = "",
    expires: Annotated[
        str | None,
        typer.Option("--expires", help="For `accepted`: show the story again from this date."),
    ] = None,
    by: Annotated[
        str | None,
        typer.Option(
            "--by",
            envvar="TECHWATCH_CONSULTANT",
            help="Who decides (default: env TECHWATCH_CONSULTANT, else the OS user).",
        ),
    ] = None,
    home: Home = None,
    db: Db = None,
    sources: SourcesFile = None,
    clients: ClientsDir = None,
) -> None:
    """Mark a story for a client; it is not shown again unless new evidence arrives."""
    if status not in TRIAGE_STATUSES:
        raise typer.BadParameter(f"{status!r}: use {', '.join(TRIAGE_STATUSES)}")
    until = _date(expires) if expires else None
    where = paths(home, db, sources, clients)
    client = load_client(where.clients, client_id)
    now = datetime.now(UTC)
    with open_writer(where.db) as writer:
        store = writer.briefings()
        decided = store.decision(client.id, story_id)
        if decided is None:
            raise TechwatchError(f"story {story_id} does not concern client {client.id}")
        who = by or os_user()
        marks = frozenset(decided["marks"])
        store.add_triage(Triage(client.id, story_id, status, who, now, note, until, marks))
    output.err.print(f"{client.id} / {story_id}: {status} (by {who})")


@triage_app.command("list")
def triage_list(
    client_id: Annotated[str, typer.Argument(help="Client id.")],
    story_id: Annotated[str | None, typer.Option("--story", help="One story's history.")] = None,
    home: Home = None,
    db: Db = None,
    sources: SourcesFile = None,
    json: Json = False,
) -> None:
    """Triage history of a client, oldest first."""
    with open_reader(paths(home, db, sources).db) as reader:
        rows = reader.briefings().triage_history(client_id, story_id)
    output.listing(
        rows,
        as_json=json,
        title=f"triage of {client_id}: {len(rows)} decisions",
        columns=("story", "status", "by", "at", "expires", "note"),
        cells=lambda t: (t.story_id, t.status, t.set_by, t.set_at, t.expires, t.note),
    )


def _days(text: str) -> int:
    match = _DAYS.match(text.strip())
    if not match or int(match[1]) < 1:
        raise typer.BadParameter(f"{text!r}: use whole days like 7d", param_hint="--since")
    return int(match[1])


def _date(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise typer.BadParameter(f"{text!r}: use a date like 2027-03-31") from None


def _names(where: Paths) -> dict[str, str]:
    """Client names for display; ids alone when the clients folder is missing."""
    try:
        return {c.id: c.name for c in load_clients(where.clients)}
    except ConfigError:
        return {}


def _quiet(client_id: str, name: str) -> dict[str, Any]:
    return {
        "client_id": client_id,
        "name": name,
        "act_now": 0,
        "act_soon": 0,
        "plan": 0,
        "watch": 0,
        "top_story": None,
        "top_title": None,
        "top_priority": None,
        "urgency": -1,
    }


def _reason_text(data: dict[str, Any], lang: str) -> str:
    return render_reason(Reason(data["code"], tuple(data["params"].items())), lang)


def _inventory_exposure(clients: Any, query: str, lang: str) -> list[dict[str, Any]]:
    """Clients whose inventory names the product: the matcher run on the query itself."""
    probe = Evidence("query", query, "", datetime.now(UTC))
    found = concerned(build_index(clients), probe)
    rows = []
    for client_id, relevance in sorted(found.items()):
        for match in relevance.matches:
            if match.kind not in ("asset", "provider"):
                continue
            rows.append(
                {
                    "client_id": client_id,
                    "priority": "",
                    "lane": match.lane,
                    "asset": match.name,
                    "why": [render_reason(r, lang) for r in match.reasons],
                }
            )
    return rows
