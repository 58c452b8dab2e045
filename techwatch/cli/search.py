"""`techwatch search`: full-text search over items, with the story each belongs to.

A query of the store alone, in a module of its own: the briefing commands' module loads the
scoring, profile and rendering code, which a search does not need (techwatch/cli/__init__.py).
"""

from __future__ import annotations

from typing import Annotated

import typer

from techwatch.cli import output
from techwatch.cli.options import Db, Home, Json, SourcesFile, paths
from techwatch.storage import open_reader


def search(
    query: Annotated[str, typer.Argument(help="Words to find in items and stories.")],
    client_id: Annotated[
        str | None, typer.Option("--client", help="Only stories that concern this client.")
    ] = None,
    limit: Annotated[int, typer.Option("--limit", min=1, max=500)] = 20,
    home: Home = None,
    db: Db = None,
    sources: SourcesFile = None,
    json: Json = False,
) -> None:
    """Full-text search over items, shown with their story (and the client's priority)."""
    where = paths(home, db, sources)
    with open_reader(where.db) as reader:
        hits = reader.search(query, limit=limit * 5 if client_id else limit)
        stories = reader.briefings().stories_of_items([h["id"] for h in hits], client_id)
    rows = []
    for hit in hits:
        story = stories.get(hit["id"])
        if client_id and story is None:
            continue
        rows.append({**hit, **(story or {})})
    rows = rows[:limit]
    output.listing(
        rows,
        as_json=json,
        title=f"{len(rows)} results for {query!r}" + (f" ({client_id})" if client_id else ""),
        columns=("item", "story", "priority", "source", "published", "title"),
        cells=lambda r: (
            r["id"],
            r.get("story_id", ""),
            r.get("priority") or "",
            r["source_id"],
            r.get("published"),
            output.shorten(r["title"], 80),
        ),
    )
