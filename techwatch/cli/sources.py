"""`techwatch sources ...`: what is configured and how each source is doing."""

from __future__ import annotations

from dataclasses import asdict

import typer

from techwatch.cli import output
from techwatch.cli.options import Db, Home, Json, SourcesFile, paths
from techwatch.config import load_sources
from techwatch.storage import open_reader

app = typer.Typer(help="List, validate and watch the health of sources.", no_args_is_help=True)


@app.command("list")
def list_sources(
    home: Home = None, db: Db = None, sources: SourcesFile = None, json: Json = False
) -> None:
    """List the sources configured in sources.yml."""
    config = load_sources(paths(home, db, sources).sources)
    output.listing(
        [asdict(s) for s in config.sources],
        as_json=json,
        title=f"{len(config.sources)} sources",
        columns=("id", "category", "lang", "enabled", "url"),
        cells=lambda s: (s["id"], s["category"], s["language"], s["enabled"], s["url"]),
    )


@app.command("check")
def check_sources(
    home: Home = None, db: Db = None, sources: SourcesFile = None, json: Json = False
) -> None:
    """Validate sources.yml without fetching anything (exit 2 on an error)."""
    config = load_sources(paths(home, db, sources).sources)
    enabled = [s for s in config.sources if s.enabled]
    summary = {
        "file": str(config.path),
        "sources": len(config.sources),
        "enabled": len(enabled),
        "languages": sorted({s.language or "?" for s in enabled}),
        "confirmed": sum(1 for s in config.sources if s.confirmed),
    }
    if json:
        output.print_json(summary)
        return
    output.out.print(
        f"{summary['file']}: OK, {summary['sources']} sources ({summary['enabled']} enabled, "
        f"{summary['confirmed']} with a confirmed URL), languages {', '.join(summary['languages'])}"
    )


@app.command("health")
def health(
    home: Home = None,
    db: Db = None,
    sources: SourcesFile = None,
    json: Json = False,
    degraded: bool = typer.Option(False, "--degraded", help="Only degraded sources."),
) -> None:
    """Per-source health: last success, last error, failures in a row, next attempt."""
    with open_reader(paths(home, db, sources).db) as reader:
        rows = reader.sources()
    if degraded:
        rows = [r for r in rows if r.get("degraded")]
    output.listing(
        rows,
        as_json=json,
        title=f"{len(rows)} sources",
        columns=(
            "id",
            "status",
            "last success",
            "failures",
            "degraded",
            "next attempt",
            "items",
            "error",
        ),
        cells=lambda r: (
            r["id"],
            r.get("last_status"),
            r.get("last_success"),
            r.get("consecutive_failures"),
            r.get("degraded"),
            r.get("next_attempt"),
            r.get("items_stored"),
            output.shorten(_error(r), 60),
        ),
    )


def _error(row: dict[str, object]) -> str:
    kind, message = row.get("last_error_kind"), row.get("last_error")
    return f"{kind}: {message}" if kind else ""
