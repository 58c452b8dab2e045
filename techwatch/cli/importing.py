"""`techwatch import`: load advisory or feed files from disk (backfill, offline machine)."""

from __future__ import annotations

from dataclasses import asdict
from pathlib import Path
from typing import Annotated

import typer

from techwatch.cli import output
from techwatch.cli.options import Db, Home, Json, SourcesFile, paths
from techwatch.config import load_sources
from techwatch.importer import import_files

Files = Annotated[
    list[Path], typer.Argument(help="Files or folders to load (folders recursively).")
]
SourceId = Annotated[
    str,
    typer.Option(
        "--source", help="Configured source the files belong to; its kind picks the parser."
    ),
]
Reparse = Annotated[
    bool,
    typer.Option(
        "--reparse",
        help="Read every file again, even those stored before with the same content.",
    ),
]


def import_command(
    files: Files,
    source: SourceId,
    home: Home = None,
    db: Db = None,
    sources: SourcesFile = None,
    json: Json = False,
    reparse: Reparse = False,
) -> None:
    """Parse files with the parser of a configured source and store them like a fetch would.

    A file stored before for the same source, with the same content, is skipped."""
    where = paths(home, db, sources)
    config = load_sources(where.sources)
    report = import_files(where.db, config, source, files, reparse=reparse)
    if json:
        output.print_json(asdict(report))
        return
    output.out.print(
        f"Imported {report.parsed}/{report.files} files into {report.source_id} in "
        f"{report.seconds:.1f} s: {report.new_items} new items, {report.updated_items} updated, "
        f"{report.new_stories} new stories",
        highlight=False,
    )
    if report.unchanged_files:
        output.out.print(
            f"Skipped {report.unchanged_files} files stored before with the same content "
            "(--reparse reads them again)",
            highlight=False,
        )
    if report.epss_scores:
        output.out.print(f"Stored {report.epss_scores} EPSS scores", highlight=False)
    for name, reason in report.failed[:20]:
        output.err.print(f"failed: {name}: {reason}", markup=False, highlight=False)
    if len(report.failed) > 20:
        output.err.print(f"... and {len(report.failed) - 20} more failures")
