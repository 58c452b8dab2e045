"""`techwatch db ...`: the DuckDB file itself."""

from __future__ import annotations

import typer

from techwatch.cli import output
from techwatch.cli.options import Db, Home, Json, SourcesFile, paths
from techwatch.storage import open_reader, open_writer

app = typer.Typer(help="Inspect and migrate the database.", no_args_is_help=True)


@app.command("info")
def info(home: Home = None, db: Db = None, sources: SourcesFile = None, json: Json = False) -> None:
    """Path, size, schema version and row counts."""
    with open_reader(paths(home, db, sources).db) as reader:
        data = reader.info()
    if json:
        output.print_json(data)
        return
    for key, value in data.items():
        if isinstance(value, dict):
            output.out.print(f"{key}:")
            for sub, count in value.items():
                output.out.print(f"  {sub:<20} {output.cell(count)}", highlight=False)
        else:
            output.out.print(f"{key:<22} {output.cell(value)}", highlight=False)


@app.command("migrate")
def migrate(
    home: Home = None, db: Db = None, sources: SourcesFile = None, json: Json = False
) -> None:
    """Create the database or bring its schema up to date (idempotent)."""
    path = paths(home, db, sources).db
    with open_writer(path) as writer:
        applied = writer.migrate()
        version = writer.schema_version()
    if json:
        output.print_json({"db": str(path), "applied": applied, "schema_version": version})
        return
    done = f"applied {', '.join(map(str, applied))}" if applied else "already up to date"
    output.out.print(f"{path}: schema version {version} ({done})")
