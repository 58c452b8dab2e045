"""`techwatch cves ...`: the CVE table (scores, KEV, EPSS, products, items that name them)."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any

import typer

from techwatch.cli import output
from techwatch.cli.options import Db, Home, Json, SourcesFile, parse_since, paths
from techwatch.storage import open_reader
from techwatch.types import product_label

app = typer.Typer(help="List and show CVEs with their CVSS, KEV and EPSS.", no_args_is_help=True)

_CVE_ID = re.compile(r"^CVE-\d{4}-\d{4,19}$")


@app.command("list")
def list_cves(
    home: Home = None,
    db: Db = None,
    sources: SourcesFile = None,
    json: Json = False,
    kev: bool = typer.Option(False, "--kev", help="Only CVEs in CISA's KEV catalog."),
    min_epss: float = typer.Option(
        None, "--min-epss", min=0.0, max=1.0, help="Only CVEs whose latest EPSS is at least this."
    ),
    min_cvss: float = typer.Option(
        None, "--min-cvss", min=0.0, max=10.0, help="Only CVEs whose CVSS base score is at least."
    ),
    since: str = typer.Option(
        None, "--since", help="Only CVEs seen or added to KEV since a span (7d, 12h) or date."
    ),
    vendor: str = typer.Option(None, "--vendor", help="Only CVEs affecting a vendor (substring)."),
    limit: int = typer.Option(50, "--limit", min=1, max=100_000, help="At most N CVEs."),
) -> None:
    """List CVEs, most recently seen first."""
    start = parse_since(since, datetime.now(UTC))
    with open_reader(paths(home, db, sources).db) as reader:
        rows = reader.cves(
            kev=kev, min_epss=min_epss, min_cvss=min_cvss, since=start, vendor=vendor, limit=limit
        )
    output.listing(
        rows,
        as_json=json,
        title=f"{len(rows)} CVEs",
        columns=("cve", "cvss", "kev", "epss", "vendors", "items", "title"),
        cells=lambda r: (
            r["cve_id"],
            _cvss(r),
            _kev(r),
            epss_text(r.get("epss"), r.get("epss_previous")),
            output.shorten(", ".join(r.get("vendors") or ()), 30),
            r.get("items"),
            output.shorten(r.get("title"), 70),
        ),
    )


@app.command("show")
def show_cve(
    cve_id: str = typer.Argument(..., help="CVE id, e.g. CVE-2021-44228."),
    home: Home = None,
    db: Db = None,
    sources: SourcesFile = None,
    json: Json = False,
) -> None:
    """Show everything known about one CVE: scores, KEV, EPSS history, products, items."""
    wanted = cve_id.strip().upper()
    if not _CVE_ID.match(wanted):
        raise typer.BadParameter(f"{cve_id!r} is not a CVE id (CVE-YYYY-NNNN)", param_hint="CVE_ID")
    with open_reader(paths(home, db, sources).db) as reader:
        row = reader.cve(wanted)
    if row is None:
        output.err.print(f"no item mentions {wanted}")
        raise typer.Exit(1)
    if json:
        output.print_json(row)
        return
    _print_cve(row)


@app.command("refresh")
def refresh_cves(
    home: Home = None,
    db: Db = None,
    sources: SourcesFile = None,
    json: Json = False,
) -> None:
    """Rebuild the CVE table, the product dictionary and item mentions from every item
    (runs do it for their own items; use this after an upgrade)."""
    from techwatch.enrich.refresh import refresh  # not loaded by the queries above
    from techwatch.runlock import lock_path_for, run_lock

    path = paths(home, db, sources).db
    with run_lock(lock_path_for(path)):
        report = refresh(path, since=None)
    if json:
        output.print_json(report.to_dict())
        return
    output.out.print(
        f"Refreshed {report.cves} CVEs and {report.mentions} product mentions of "
        f"{report.items} items in {report.seconds:.1f} s",
        highlight=False,
    )


def epss_text(score: float | None, previous: float | None) -> str:
    """'0.943 (+0.120)': the latest score, and its change since the previous day scored."""
    if score is None:
        return ""
    if previous is None or abs(score - previous) < 0.0005:
        return f"{score:.3f}"
    return f"{score:.3f} ({score - previous:+.3f})"


def _cvss(row: dict[str, Any]) -> str:
    if row.get("cvss_score") is None:
        return ""
    return f"{row['cvss_score']:.1f} {row.get('cvss_severity') or ''}".strip()


def _kev(row: dict[str, Any]) -> str:
    if not row.get("kev"):
        return ""
    added = row.get("kev_date_added")
    return f"{added}{' R' if row.get('kev_ransomware') else ''}"


def _print_cve(row: dict[str, Any]) -> None:
    out = output.out

    def line(label: str, value: Any) -> None:
        if value not in (None, "", [], ()):
            out.print(f"{label:>14}: {output.cell(value)}", markup=False, highlight=False)

    out.print(f"[bold]{row['cve_id']}[/bold] {row.get('title') or ''}", highlight=False)
    line("CVSS", _cvss_line(row))
    line("CWE", row.get("cwes"))
    if row.get("kev"):
        ransomware = {True: "known", None: "unknown", False: "no"}[row.get("kev_ransomware")]
        line("KEV added", row.get("kev_date_added"))
        line("KEV due", row.get("kev_due_date"))
        line("ransomware", ransomware)
        line("action", row.get("kev_required_action"))
    line("exploitation", row.get("exploitation"))
    line("EPSS", _epss_line(row))
    line("vendors", row.get("vendors"))
    line("products", [product_label(p["vendor"], p["product"]) for p in row.get("products") or ()])
    line("published", row.get("published"))
    line("first seen", row.get("first_seen"))
    line("description", f"from {row['description_from']}" if row.get("description_from") else "")
    out.print()
    out.print(row.get("description") or "", markup=False, highlight=False)
    history = row.get("epss_history") or []
    if history:
        out.print()
        out.print(
            output.table(
                "EPSS history",
                ("date", "score", "percentile"),
                ((h["date"], f"{h['score']:.5f}", f"{h['percentile']:.5f}") for h in history[:30]),
            )
        )
    items = row.get("mentioned_by") or []
    out.print()
    out.print(
        output.table(
            f"{len(items)} items",
            ("id", "source", "first seen", "title"),
            (
                (i["id"], i["source_id"], i["first_seen"], output.shorten(i["title"], 70))
                for i in items
            ),
        )
    )


def _cvss_line(row: dict[str, Any]) -> str:
    if row.get("cvss_score") is None:
        return ""
    parts = [f"{row['cvss_score']:.1f}", row.get("cvss_severity") or "", f"v{row['cvss_version']}"]
    if row.get("cvss_vector"):
        parts.append(row["cvss_vector"])
    if row.get("cvss_source"):
        parts.append(f"by {row['cvss_source']}")
    return " ".join(p for p in parts if p)


def _epss_line(row: dict[str, Any]) -> str:
    if row.get("epss") is None:
        return ""
    text = f"{row['epss']:.5f} (percentile {row['epss_percentile']:.5f}) on {row['epss_date']}"
    if row.get("epss_previous") is not None:
        text += f"; {row['epss_previous']:.5f} on {row['epss_previous_date']}"
    return text
