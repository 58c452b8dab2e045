"""`techwatch items ...`: read what was collected."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Any

import typer

from techwatch.cli import output
from techwatch.cli.options import Db, Home, Json, SourcesFile, paths
from techwatch.storage import open_reader

app = typer.Typer(help="List, show and search collected items.", no_args_is_help=True)

_SPAN = re.compile(r"^\s*(\d+)\s*([mhdw])\s*$")
_UNITS = {"m": "minutes", "h": "hours", "d": "days", "w": "weeks"}


def parse_since(value: str | None, now: datetime) -> datetime | None:
    """'7d', '12h', '30m', '2w' or an ISO date -> a UTC datetime; None stays None."""
    if value is None:
        return None
    match = _SPAN.match(value)
    if match:
        return now - timedelta(**{_UNITS[match[2]]: int(match[1])})
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        raise typer.BadParameter(
            f"{value!r}: use a span like 7d, 12h, 30m, 2w or an ISO date", param_hint="--since"
        ) from None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


@app.command("list")
def list_items(
    home: Home = None,
    db: Db = None,
    sources: SourcesFile = None,
    json: Json = False,
    since: str = typer.Option(None, "--since", help="Only items since a span (7d, 12h) or date."),
    source: str = typer.Option(None, "--source", help="Only items of this source id."),
    lang: str = typer.Option(None, "--lang", help="Only items in this language (fr, de, en...)."),
    limit: int = typer.Option(50, "--limit", min=1, max=10_000, help="At most N items."),
) -> None:
    """List items, newest first."""
    start = parse_since(since, datetime.now(UTC))
    with open_reader(paths(home, db, sources).db) as reader:
        rows = reader.items(since=start, source_id=source, language=lang, limit=limit)
    output.listing(
        rows,
        as_json=json,
        title=f"{len(rows)} items",
        columns=("id", "date", "source", "lang", "title"),
        cells=lambda r: (
            r["id"],
            r.get("published") or r.get("first_seen"),
            r["source_id"],
            r.get("language"),
            output.shorten(r.get("title"), 90),
        ),
    )


@app.command("show")
def show_item(
    item_id: str = typer.Argument(..., help="Item id, as listed by `items list`."),
    home: Home = None,
    db: Db = None,
    sources: SourcesFile = None,
    json: Json = False,
) -> None:
    """Show one item in full, with the items of other sources that share its URL."""
    with open_reader(paths(home, db, sources).db) as reader:
        row = reader.item(item_id)
    if row is None:
        output.err.print(f"no item with id {item_id!r}")
        raise typer.Exit(1)
    if json:
        output.print_json(row)
        return
    out = output.out
    out.print(f"[bold]{row.get('title')}[/bold]", markup=True, highlight=False)
    for key in (
        "id",
        "source_id",
        "url",
        "published",
        "first_seen",
        "updated_at",
        "language",
        "authors",
        "cves",
    ):
        out.print(f"{key:>11}: {output.cell(row.get(key))}", markup=False, highlight=False)
    for link in row.get("linked") or []:
        out.print(f"{'also in':>11}: {output.cell(link)}", markup=False, highlight=False)
    for vuln in row.get("vulns") or []:
        out.print(f"{'states':>11}: {_vuln_line(vuln)}", markup=False, highlight=False)
    out.print()
    out.print(row.get("text") or "", markup=False, highlight=False)


@app.command("search")
def search_items(
    query: str = typer.Argument(..., help="Words to look for in titles and texts."),
    home: Home = None,
    db: Db = None,
    sources: SourcesFile = None,
    json: Json = False,
    limit: int = typer.Option(20, "--limit", min=1, max=1000, help="At most N results."),
) -> None:
    """Full-text search over titles and texts, best matches first."""
    with open_reader(paths(home, db, sources).db) as reader:
        rows = reader.search(query, limit=limit)
    output.listing(
        rows,
        as_json=json,
        title=f"{len(rows)} results for {query!r}",
        columns=("score", "id", "source", "title"),
        cells=lambda r: (
            r.get("score"),
            r["id"],
            r["source_id"],
            output.shorten(r.get("title"), 90),
        ),
    )


def _vuln_line(vuln: dict[str, Any]) -> str:
    """One line per stated vulnerability: id, best CVSS, KEV and SSVC exploitation."""
    from techwatch.parse.cvss import best_cvss
    from techwatch.types import CvssScore

    parts = [vuln["vuln_id"]]
    best = best_cvss(CvssScore(**score) for score in vuln.get("cvss") or [])
    if best is not None:
        parts.append(f"CVSS {best.version} {best.base_score} {best.severity or ''}")
    if vuln.get("kev_date_added"):
        ransomware = ", ransomware" if vuln.get("kev_ransomware") else ""
        parts.append(f"KEV since {vuln['kev_date_added']}{ransomware}")
    exploitation = [s["value"] for s in vuln.get("ssvc") or [] if s["point"] == "Exploitation"]
    if exploitation:
        parts.append(f"exploitation: {exploitation[0]}")
    return " | ".join(p.strip() for p in parts)
