"""`techwatch stories ...`: one event told by several sources."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import typer

from techwatch.cli import output
from techwatch.cli.options import Db, Home, Json, SourcesFile, parse_since, paths
from techwatch.storage import open_reader

app = typer.Typer(help="List and show stories: one event, many sources.", no_args_is_help=True)

_WHY = {
    "url": "same canonical URL as {via}",
    "cve": "CVE list matches {via} (Jaccard {score})",
    "text": "near-identical text to {via} (Jaccard {score})",
}


@app.command("list")
def list_stories(
    home: Home = None,
    db: Db = None,
    sources: SourcesFile = None,
    json: Json = False,
    since: str = typer.Option(
        None, "--since", help="Only stories with an item since a span (7d, 12h) or date."
    ),
    min_sources: int = typer.Option(
        1, "--min-sources", min=1, help="Only stories told by at least N sources."
    ),
    limit: int = typer.Option(50, "--limit", min=1, max=10_000, help="At most N stories."),
) -> None:
    """List stories, latest first (by the date of their latest item)."""
    start = parse_since(since, datetime.now(UTC))
    with open_reader(paths(home, db, sources).db) as reader:
        rows = reader.stories(since=start, min_sources=min_sources, limit=limit)
    output.listing(
        rows,
        as_json=json,
        title=f"{len(rows)} stories",
        columns=("id", "last seen", "sources", "items", "cves", "title"),
        cells=lambda r: (
            r["story_id"],
            r["last_seen"],
            r["sources"],
            r["items"],
            output.shorten(", ".join(r["cves"]), 40),
            output.shorten(r["title"], 80),
        ),
    )


@app.command("show")
def show_story(
    story_id: str = typer.Argument(..., help="Story id, as listed by `stories list`."),
    home: Home = None,
    db: Db = None,
    sources: SourcesFile = None,
    json: Json = False,
) -> None:
    """Show one story: its items with source, date, title, link, and why each joined."""
    with open_reader(paths(home, db, sources).db) as reader:
        story = reader.story(story_id)
    if story is None:
        output.err.print(f"no story with id {story_id!r}", markup=False, highlight=False)
        raise typer.Exit(1)
    if json:
        output.print_json(story)
        return
    out = output.out
    out.print(f"[bold]{story['title']}[/bold]", markup=True, highlight=False)
    if story["requested"] != story["story_id"]:
        out.print(f"({story['requested']} was merged into this story)", highlight=False)
    for key in ("story_id", "first_seen", "last_seen", "items", "sources", "cves"):
        out.print(f"{key:>10}: {output.cell(story.get(key))}", markup=False, highlight=False)
    rows = [
        (r["date"], r["source_id"], output.shorten(r["title"], 70), r["url"], why(r))
        for r in story["items_list"]
    ]
    out.print(output.table(None, ("date", "source", "title", "link", "why"), rows))
    for merge in story["merges"]:
        out.print(
            f"merged {merge['loser']} on {output.cell(merge['merged_at'])} "
            f"({merge['reason']}, item {merge['item_id']})",
            markup=False,
            highlight=False,
        )


def why(row: dict[str, Any]) -> str:
    """Why an item is in its story, in a few words."""
    template = _WHY.get(row["reason"])
    if template is None:
        return "first item"
    score = f"{row['score']:.2f}" if row.get("score") is not None else "?"
    return template.format(via=row.get("via_source") or row.get("via") or "?", score=score)
