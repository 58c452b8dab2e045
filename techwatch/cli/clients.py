"""`techwatch clients ...`: the client profiles under the clients folder, and inventory import."""

from __future__ import annotations

from dataclasses import asdict
from pathlib import Path
from typing import Annotated, Any

import typer

from techwatch.cli import output
from techwatch.cli.options import ClientsDir, Db, Home, Json, SourcesFile, paths
from techwatch.clients.config import client_file, format_cadence, load_client, load_clients
from techwatch.clients.inventory import ImportResult, describe_change, import_inventory
from techwatch.clients.profile import Client

app = typer.Typer(
    help="List, show and validate client profiles; import an inventory from CSV.",
    no_args_is_help=True,
)


@app.command("list")
def list_clients(
    home: Home = None,
    db: Db = None,
    sources: SourcesFile = None,
    clients: ClientsDir = None,
    json: Json = False,
) -> None:
    """List the clients, one line each (exit 2 if a client file is invalid)."""
    rows = [_summary(c) for c in load_clients(paths(home, db, sources, clients).clients)]
    output.listing(
        rows,
        as_json=json,
        title=f"{len(rows)} clients",
        columns=("id", "name", "lang", "sectors", "cadence", "assets", "providers", "contacts"),
        cells=lambda r: (
            r["id"],
            r["name"],
            r["language"],
            r["sectors"],
            r["cadence"],
            r["assets"],
            r["providers"],
            r["contacts"],
        ),
    )


@app.command("show")
def show_client(
    client_id: str = typer.Argument(..., help="Client id: the file name without .yml."),
    home: Home = None,
    db: Db = None,
    sources: SourcesFile = None,
    clients: ClientsDir = None,
    json: Json = False,
) -> None:
    """Show one client's full profile, with its assets and providers."""
    client = load_client(paths(home, db, sources, clients).clients, client_id)
    if json:
        output.print_json(asdict(client))
        return
    _print_client(client)


@app.command("check")
def check_clients(
    home: Home = None,
    db: Db = None,
    sources: SourcesFile = None,
    clients: ClientsDir = None,
    json: Json = False,
) -> None:
    """Validate every client file; print every problem with file, line and field (exit 2)."""
    from techwatch.scoring.match import build_index

    folder = paths(home, db, sources, clients).clients
    found = load_clients(folder)
    # Terms too short or too common to look for in free text: advisories still match them by
    # vendor and product, but a consultant may want to add a distinctive alias.
    ignored = [
        {"client_id": cid, "term": term, "why": why}
        for cid, term, why in build_index(found).ignored
    ]
    if json:
        output.print_json(
            {
                "folder": folder,
                "clients": len(found),
                "ids": [c.id for c in found],
                "ignored": ignored,
            }
        )
        return
    noun = "client" if len(found) == 1 else "clients"
    output.out.print(f"{len(found)} {noun} OK ({folder})", markup=False, highlight=False)
    if ignored:
        output.out.print(
            output.table(
                "Not searched in news text (advisories still match them by vendor and product)",
                ("client", "term", "why"),
                ((i["client_id"], i["term"], i["why"]) for i in ignored),
            )
        )


@app.command("import")
def import_clients(
    file: Annotated[Path, typer.Argument(help="CSV inventory (spreadsheet or CMDB export).")],
    client: Annotated[str, typer.Option("--client", help="Id of the client to update.")],
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Show what would change; write nothing.")
    ] = False,
    home: Home = None,
    db: Db = None,
    sources: SourcesFile = None,
    clients: ClientsDir = None,
    json: Json = False,
) -> None:
    """Merge a CSV inventory into clients/ID.yml: same name updates an asset, others are added."""
    target = client_file(paths(home, db, sources, clients).clients, client)
    result = import_inventory(file, target, dry_run=dry_run)
    if result.inventory.ignored:
        ignored = ", ".join(result.inventory.ignored)
        output.err.print(f"ignored columns: {ignored}", markup=False, highlight=False)
    if json:
        output.print_json(_import_json(client, result, dry_run))
        return
    _print_import(result, dry_run)


# --- shapes and printing -------------------------------------------------------------------


def _summary(client: Client) -> dict[str, Any]:
    return {
        "id": client.id,
        "name": client.name,
        "language": client.language,
        "sectors": list(client.sectors),
        "cadence": format_cadence(client.cadence),
        "min_priority_to_mail": client.min_priority_to_mail,
        "assets": len(client.assets),
        "providers": len(client.providers),
        "contacts": len(client.contacts),
    }


def _print_client(client: Client) -> None:
    out = output.out
    out.print(f"[bold]{client.name}[/bold] ({client.id})", highlight=False)
    lines = {
        "sectors": client.sectors,
        "language": client.language,
        "cadence": format_cadence(client.cadence),
        "mail from": client.min_priority_to_mail,
        "keywords": client.keywords,
        "exclusions": client.exclusions,
    }
    for label, value in lines.items():
        out.print(f"{label:>10}: {output.cell(value)}", markup=False, highlight=False)
    for contact in client.contacts:
        summary = "" if contact.receives_summary else " (no summary)"
        role = f", {contact.role}" if contact.role else ""
        text = f"{contact.name} <{contact.email}>{role}{summary}"
        out.print(f"{'contact':>10}: {text}", markup=False, highlight=False)
    columns = ("name", "vendor", "product", "version", "kind", "crit.", "exposure", "data")
    out.print(
        output.table(f"{len(client.assets)} assets", (*columns, "aliases"), _asset_rows(client))
    )
    if client.providers:
        out.print(
            output.table(
                f"{len(client.providers)} providers",
                ("name", "service", "crit.", "data", "aliases"),
                ((p.name, p.service, p.criticality, p.data, p.aliases) for p in client.providers),
            )
        )


def _asset_rows(client: Client) -> list[tuple[Any, ...]]:
    return [
        (
            a.name,
            a.vendor,
            a.product,
            a.version,
            a.kind,
            a.criticality,
            a.exposure,
            a.data,
            a.aliases,
        )
        for a in client.assets
    ]


def _import_json(client: str, result: ImportResult, dry_run: bool) -> dict[str, Any]:
    def fields(change: Any) -> dict[str, Any]:
        return {name: {"old": old, "new": new} for name, old, new in change.fields}

    return {
        "client": client,
        "file": result.client_file,
        "dry_run": dry_run,
        "written": result.written,
        "added": [{"name": c.name, "fields": fields(c)} for c in result.named("added")],
        "updated": [{"name": c.name, "fields": fields(c)} for c in result.named("updated")],
        "unchanged": [c.name for c in result.named("unchanged")],
        "ignored_columns": list(result.inventory.ignored),
    }


def _print_import(result: ImportResult, dry_run: bool) -> None:
    out = output.out
    for change in result.changes:
        if change.action == "unchanged":
            continue
        details = "; ".join(d for d in describe_change(change) if not d.startswith("name:"))
        out.print(f"{change.action:<8} {change.name}: {details}", markup=False, highlight=False)
    unchanged = len(result.named("unchanged"))
    if unchanged:
        out.print(f"{unchanged} assets unchanged", markup=False, highlight=False)
    if dry_run:
        verdict = "dry run: nothing written"
    elif result.written:
        verdict = f"wrote {result.client_file}"
    else:
        verdict = f"nothing to change in {result.client_file}"
    out.print(verdict, markup=False, highlight=False)
