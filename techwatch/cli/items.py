"""`techwatch items ...`: read what was collected."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import typer

from techwatch import labelling
from techwatch.cli import output
from techwatch.cli.options import (
    ClientsDir,
    Db,
    Home,
    Json,
    SourcesFile,
    os_user,
    parse_since,
    paths,
)
from techwatch.errors import ConfigError
from techwatch.storage import open_reader, open_writer
from techwatch.storage.reader import Reader
from techwatch.taxonomy import SECTOR_KEYS, SEVERITY_KEYS, TOPIC_KEYS

app = typer.Typer(help="List, show and search collected items.", no_args_is_help=True)


@app.command("list")
def list_items(
    home: Home = None,
    db: Db = None,
    sources: SourcesFile = None,
    json: Json = False,
    since: str = typer.Option(None, "--since", help="Only items since a span (7d, 12h) or date."),
    source: str = typer.Option(None, "--source", help="Only items of this source id."),
    lang: str = typer.Option(None, "--lang", help="Only items in this language (fr, de, en...)."),
    topic: str = typer.Option(None, "--topic", help="Only items with this topic."),
    sector: str = typer.Option(None, "--sector", help="Only items concerning this sector."),
    severity: str = typer.Option(None, "--severity", help="Only items of this severity."),
    limit: int = typer.Option(50, "--limit", min=1, max=10_000, help="At most N items."),
) -> None:
    """List items, newest first, with their labels (a consultant's, else the model's)."""
    start = parse_since(since, datetime.now(UTC))
    for value, keys, option in (
        (topic, TOPIC_KEYS, "--topic"),
        (sector, SECTOR_KEYS, "--sector"),
        (severity, SEVERITY_KEYS, "--severity"),
    ):
        if value is not None and value not in keys:
            raise typer.BadParameter(f"{value!r}: one of {', '.join(keys)}", param_hint=option)
    with open_reader(paths(home, db, sources).db) as reader:
        rows = reader.items_labelled(
            since=start,
            source_id=source,
            language=lang,
            topic=topic,
            sector=sector,
            severity=severity,
            limit=limit,
        )
    output.listing(
        rows,
        as_json=json,
        title=f"{len(rows)} items",
        columns=("id", "date", "source", "lang", "severity", "topics", "title"),
        cells=lambda r: (
            r["id"],
            r.get("published") or r.get("first_seen"),
            r["source_id"],
            r.get("language"),
            r.get("severity"),
            output.shorten(", ".join(r.get("topics") or []), 30),
            output.shorten(r.get("title"), 80),
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
    """Show one item in full, its labels and who gave them, and the items of other sources
    that share its URL."""
    with open_reader(paths(home, db, sources).db) as reader:
        row = reader.item(item_id)
        labels = _labels_of(reader, item_id)
    if row is None:
        output.err.print(f"no item with id {item_id!r}")
        raise typer.Exit(1)
    effective, prediction, history = labels
    if json:
        output.print_json({**row, "labels": effective.to_dict(), "label_history": history})
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
    for line in _label_lines(effective, prediction):
        out.print(line, markup=False, highlight=False)
    out.print()
    out.print(row.get("text") or "", markup=False, highlight=False)


@app.command("label")
def label_item(
    item_id: str = typer.Argument(..., help="Item id, as listed by `items list`."),
    topics: str = typer.Option(None, "--topics", help="Topics, comma-separated."),
    sectors: str = typer.Option(
        None, "--sectors", help="Sectors, comma-separated ('' for none: off_topic only)."
    ),
    severity: str = typer.Option(None, "--severity", help="Severity: info ... critical."),
    by: str = typer.Option(
        None,
        "--by",
        envvar="TECHWATCH_CONSULTANT",
        help="Who labels (default: env TECHWATCH_CONSULTANT, else the OS user).",
        show_default=False,
    ),
    note: str = typer.Option(None, "--note", help="Why, for the record."),
    home: Home = None,
    db: Db = None,
    sources: SourcesFile = None,
    clients: ClientsDir = None,
    json: Json = False,
) -> None:
    """Correct an item's labels: they win over the model's, and the next training learns them.

    Give any of --topics, --sectors, --severity; the axes left out keep their labels. The
    item's story is scored again for every client right away, so the portfolio and the
    briefings show the new labels and priorities.
    """
    now = datetime.now(UTC)
    label = labelling.normalised(
        labelling.ConsultantLabel(
            item_id=item_id,
            labelled_by=by or os_user(),
            labelled_at=now,
            topics=labelling.parse_labels(topics),
            sectors=labelling.parse_labels(sectors),
            severity=severity.strip() if severity is not None else None,
            note=note,
        )
    )
    where = paths(home, db, sources, clients)
    with open_reader(where.db) as reader:
        row = reader.item(item_id)
        current = _labels_of(reader, item_id)[0]
    if row is None:
        output.err.print(f"no item with id {item_id!r}")
        raise typer.Exit(1)
    problems = labelling.problems(label, current)
    if problems:
        output.err.print(f"error: {'; '.join(problems)}", markup=False, highlight=False)
        raise typer.Exit(2)
    with open_writer(where.db) as writer:
        writer.add_label(label.to_row())
    scored, failure = _rescore(where.db, where.clients, item_id, now)
    with open_reader(where.db) as reader:
        effective, prediction, _ = _labels_of(reader, item_id)
    rescore = f"techwatch score --since {rescore_span(_seen(row), now)}"
    if json:
        output.print_json(
            {
                "item_id": item_id,
                "label": label.to_row(),
                "labels": effective.to_dict(),
                "scored": scored,
                **({"rescore": rescore} if failure else {}),
            }
        )
    else:
        output.out.print(f"labelled {item_id} as {label.labelled_by}", highlight=False)
        for line in _label_lines(effective, prediction):
            output.out.print(line, markup=False, highlight=False)
        if scored is not None:
            output.out.print(_scored_line(scored), markup=False, highlight=False)
    if failure is not None:
        output.err.print(f"configuration error: {failure}", markup=False, highlight=False)
        output.err.print(
            "The label is stored, but the clients' priorities were not updated: fix the "
            f"clients folder, then run `{rescore}`.",
            markup=False,
            highlight=False,
        )
        raise typer.Exit(2)


def rescore_span(seen: datetime, now: datetime) -> str:
    """The `techwatch score --since` span that reaches back to an item seen at `seen`: its
    story was last seen then or later, so that span scores it again."""
    return f"{max(1, (now - seen).days + 1)}d"


def _seen(row: dict[str, Any]) -> datetime:
    """The earliest date stored for an item (its story's last sighting is no earlier)."""
    dates = [d for d in (row.get("published"), row.get("first_seen")) if d is not None]
    return min(d if d.tzinfo else d.replace(tzinfo=UTC) for d in dates)


def _rescore(
    db: Path, clients_dir: Path, item_id: str, now: datetime
) -> tuple[dict[str, Any] | None, ConfigError | None]:
    """Score the item's story again for every client: (what was scored, or why it was not).

    No clients folder (a fresh install) means nothing to score; a client file with an error
    leaves the decisions as they were, and the caller says how to catch up."""
    if not clients_dir.is_dir():
        return None, None
    # Here, not at the top: the scoring and profile code would load with every items query
    # (see techwatch/cli/__init__.py).
    from techwatch import watch
    from techwatch.clients.config import load_clients

    try:
        profiles = load_clients(clients_dir)
    except ConfigError as error:
        return None, error
    story_ids, stats = watch.rescore_items(db, profiles, [item_id], now)
    return {
        "stories": story_ids,
        "clients": stats.clients,
        "decisions": stats.decisions,
        "by_priority": stats.by_priority,
    }, None


def _scored_line(scored: dict[str, Any]) -> str:
    if not scored["stories"]:
        return "not in a story yet: the next run's grouping scores it with these labels"
    counts = ", ".join(f"{n} {p}" for p, n in sorted(scored["by_priority"].items()))
    return (
        f"story {', '.join(scored['stories'])} scored again for {scored['clients']} clients: "
        f"{scored['decisions']} decisions" + (f" ({counts})" if counts else "")
    )


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


def _labels_of(
    reader: Reader, item_id: str
) -> tuple[labelling.EffectiveLabels, labelling.ModelLabels | None, list[dict[str, Any]]]:
    """(effective labels, the model's prediction or None, the consultants' label history)."""
    row = reader.predictions([item_id]).get(item_id)
    history = reader.label_history([item_id]).get(item_id, [])
    prediction = labelling.model_labels(row) if row else None
    records = [labelling.consultant_label(r) for r in history]
    return labelling.effective_labels(prediction, records), prediction, history


def _label_lines(
    effective: labelling.EffectiveLabels, prediction: labelling.ModelLabels | None
) -> list[str]:
    """One line per axis: the labels, then who gave them (a consultant, or the model with its
    highest scores on that axis)."""
    if not effective.origins:
        return [
            f"{'labels':>11}: not classified yet (`techwatch model apply` classifies the store)"
        ]
    keys = {"topics": TOPIC_KEYS, "sectors": SECTOR_KEYS, "severity": SEVERITY_KEYS}
    lines = []
    for axis in labelling.AXES:
        origin = effective.origins.get(axis)
        if origin is None:
            lines.append(f"{axis:>11}: unknown")
            continue
        if origin.by == "consultant":
            why = f" ({origin.note})" if origin.note else ""
            source = f"consultant {origin.who}, {output.cell(origin.at)}{why}"
        else:
            scores = labelling.top_scores(prediction.scores, keys[axis]) if prediction else []
            top = ", ".join(f"{label} {score:.2f}" for label, score in scores)
            source = f"model {origin.who}: {top}"
        lines.append(f"{axis:>11}: {output.cell(getattr(effective, axis))}   [{source}]")
    return lines
