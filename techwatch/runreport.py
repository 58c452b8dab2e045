"""The advisor's run report: what last night's run did and what needs a look (pure).

Rows read by `Reader.run_report_rows` go in, an `AdvisorReport` comes out; rendering it as
text, HTML or JSON needs no database either. Times shown are measured at the end of the
run, so the same run always gives the same report.

Failing sources. How long a source has been failing is counted from its last successful run
(ok or not modified) up to this run, both from the runs' history, so an older run's report
tells what was true then; `degraded` is only known for the latest run.

Quiet sources. A source that answers but brings nothing new for much longer than usual is
flagged (a feed that moved, an advisory page whose layout changed): from the start times of
its last 30 runs that brought new items, the usual gap is the median gap between them;
the source is quiet when the time since its last new item exceeds `QUIET_FACTOR` times that
gap, and at least `QUIET_MIN_DAYS` days (a daily feed silent over a weekend is not news).
Fewer than `QUIET_MIN_GAPS` gaps is not enough history to judge: never flagged.
"""

from __future__ import annotations

import json
import statistics
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta
from itertools import pairwise
from typing import Any

from techwatch.clients.profile import PRIORITIES
from techwatch.render.env import environment

QUIET_FACTOR = 3.0
QUIET_MIN_DAYS = 7.0
QUIET_MIN_GAPS = 3
EMAIL_STATUSES = ("queued", "sending", "sent", "sent_to_folder", "failed", "uncertain")
LANGUAGES = ("fr", "en")
DEFAULT_LANGUAGE = "fr"
KIND = "run_report"


@dataclass(frozen=True, slots=True)
class Quiet:
    """A source silent for much longer than usual."""

    last_new: datetime
    quiet_days: float
    usual_gap_days: float


@dataclass(frozen=True, slots=True)
class SourceLine:
    """A source that needs a look: failed, degraded or quiet."""

    source_id: str
    name: str
    status: str
    reason: str | None
    degraded: bool
    consecutive_failures: int
    last_success: datetime | None
    failing_days: float | None  # since the last success; None when not failing or never ok
    quiet: Quiet | None = None


@dataclass(frozen=True, slots=True)
class AdvisorReport:
    """One run, as the advisor reads it: totals, then what needs a look."""

    run_id: str
    kind: str
    status: str
    started_at: datetime
    finished_at: datetime | None
    duration_s: float | None
    sources: dict[str, int]  # ok, not_modified, failed, degraded, skipped, quiet
    new_items: int
    updated_items: int
    new_stories: int
    clients: dict[str, dict[str, int]]  # client -> priority -> stories decided in the run
    emails: dict[str, int]
    model_version: str | None
    classification_skipped: str | None
    stage_seconds: dict[str, float]
    attention: tuple[SourceLine, ...] = field(default=())

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def quiet_verdict(
    new_item_runs: Sequence[datetime],
    now: datetime,
    *,
    factor: float = QUIET_FACTOR,
    min_days: float = QUIET_MIN_DAYS,
    min_gaps: int = QUIET_MIN_GAPS,
) -> Quiet | None:
    """Whether a source whose runs with new items started at `new_item_runs` is quiet now."""
    times = sorted(new_item_runs)
    gaps = [(b - a).total_seconds() / 86400 for a, b in pairwise(times)]
    if len(gaps) < min_gaps:
        return None
    usual = statistics.median(gaps)
    quiet = (now - times[-1]).total_seconds() / 86400
    if quiet <= max(factor * usual, min_days):
        return None
    return Quiet(last_new=times[-1], quiet_days=round(quiet, 1), usual_gap_days=round(usual, 2))


def build(rows: Mapping[str, Any]) -> AdvisorReport:
    """The report of one run from `Reader.run_report_rows` (see the module docstring)."""
    run = rows["run"]
    summary = run.get("summary") or {}
    at = run["finished_at"] or run["started_at"]
    lines = _source_lines(rows, at)
    counts = {k: 0 for k in ("ok", "not_modified", "failed", "skipped")}
    for row in rows["run_sources"]:
        counts[row["status"]] = counts.get(row["status"], 0) + 1
    counts["degraded"] = sum(1 for line in lines if line.degraded)
    counts["quiet"] = sum(1 for line in lines if line.quiet)
    classification = summary.get("classification") or {}
    duration = (
        (run["finished_at"] - run["started_at"]).total_seconds() if run["finished_at"] else None
    )
    return AdvisorReport(
        run_id=run["run_id"],
        kind=run["kind"],
        status=run["status"],
        started_at=run["started_at"],
        finished_at=run["finished_at"],
        duration_s=round(duration, 1) if duration is not None else None,
        sources=counts,
        new_items=int(summary.get("new_items", 0)),
        updated_items=int(summary.get("updated_items", 0)),
        new_stories=int((summary.get("stories") or {}).get("new_stories", 0)),
        clients=_clients(rows["decisions"]),
        emails={s: int(rows["emails"].get(s, 0)) for s in EMAIL_STATUSES},
        model_version=classification.get("model_version"),
        classification_skipped=classification.get("skipped"),
        stage_seconds=dict(summary.get("stage_seconds") or {}),
        attention=lines,
    )


def _source_lines(rows: Mapping[str, Any], at: datetime) -> tuple[SourceLine, ...]:
    """Failed, degraded and quiet sources: failing longest first, then quiet ones."""
    names: Mapping[str, str] = rows["names"]
    states: Mapping[str, Mapping[str, Any]] = rows["states"]
    history: Mapping[str, Sequence[datetime]] = rows["new_item_runs"]
    lines = []
    for row in rows["run_sources"]:
        state = states.get(row["source_id"], {})
        failed = row["status"] == "failed"
        quiet = None if failed else quiet_verdict(history.get(row["source_id"], ()), at)
        if not (failed or state.get("degraded") or quiet):
            continue
        last_success = state.get("last_success")
        failing = failed and last_success is not None
        lines.append(
            SourceLine(
                source_id=row["source_id"],
                name=names.get(row["source_id"], row["source_id"]),
                status=row["status"],
                reason=_reason(row) if failed else None,
                degraded=bool(state.get("degraded")),
                consecutive_failures=int(state.get("consecutive_failures") or 0),
                last_success=last_success,
                failing_days=round((at - last_success) / timedelta(days=1), 1) if failing else None,
                quiet=quiet,
            )
        )
    return tuple(sorted(lines, key=_attention_order))


def _attention_order(line: SourceLine) -> tuple[int, float, str]:
    if line.status == "failed":
        # Never succeeded counts as failing forever.
        days = line.failing_days if line.failing_days is not None else float("inf")
        return (0, -days, line.source_id)
    return (1 if line.degraded else 2, 0.0, line.source_id)


def _reason(row: Mapping[str, Any]) -> str:
    parts = [str(row[k]) for k in ("error_kind", "error") if row.get(k)]
    if (row.get("http_status") or 0) >= 400:
        parts.insert(0, f"HTTP {row['http_status']}")
    return ": ".join(parts) or "unknown"


def _clients(decisions: Sequence[Mapping[str, Any]]) -> dict[str, dict[str, int]]:
    clients: dict[str, dict[str, int]] = {}
    for row in decisions:
        clients.setdefault(row["client_id"], {})[row["priority"]] = int(row["n"])
    return {
        client: {p: found[p] for p in PRIORITIES if p in found}
        for client, found in sorted(clients.items())
    }


WORDS: dict[str, dict[str, str]] = {
    "en": {
        "title": "techwatch run report",
        "run": "Run",
        "status": "status",
        "duration": "Duration",
        "sources": "Sources",
        "ok": "ok",
        "not_modified": "not modified",
        "failed": "failed",
        "degraded": "degraded",
        "skipped": "not due",
        "quiet": "quiet",
        "attention": "Sources that need a look",
        "none": "none",
        "failing_for": "failing for {days} days (last success {date})",
        "never_ok": "has never succeeded",
        "quiet_for": "nothing new for {days} days (usually every {gap} days)",
        "new_items": "New items",
        "colon": ":",
        "updated": "updated",
        "stories": "new stories",
        "clients": "Stories decided per client",
        "emails": "Client emails",
        "model": "Model",
        "no_model": "no model: {why}",
        "stages": "Duration per stage",
        "subject": "[techwatch] Run {date}: {failed} failed, {new} new items",
    },
    "fr": {
        "title": "Rapport d'exécution techwatch",
        "run": "Exécution",
        "status": "statut",
        "duration": "Durée",
        "sources": "Sources",
        "ok": "ok",
        "not_modified": "inchangées",
        "failed": "en échec",
        "degraded": "dégradées",
        "skipped": "pas dues",
        "quiet": "silencieuses",
        "attention": "Sources à examiner",
        "none": "aucune",
        "failing_for": "en échec depuis {days} jours (dernier succès le {date})",
        "never_ok": "n'a jamais réussi",
        "quiet_for": "rien de nouveau depuis {days} jours (d'habitude tous les {gap} jours)",
        "new_items": "Nouveaux articles",
        "colon": "\u00a0:",
        "updated": "mis à jour",
        "stories": "nouveaux sujets",
        "clients": "Sujets décidés par client",
        "emails": "Courriels aux clients",
        "model": "Modèle",
        "no_model": "pas de modèle : {why}",
        "stages": "Durée par étape",
        "subject": "[techwatch] Exécution du {date} : {failed} en échec, {new} nouveaux articles",
    },
}


def language(env: Mapping[str, str]) -> str:
    """TECHWATCH_ADVISOR_LANGUAGE when offered, else French."""
    chosen = env.get("TECHWATCH_ADVISOR_LANGUAGE", "").strip().lower()
    return chosen if chosen in LANGUAGES else DEFAULT_LANGUAGE


def subject(report: AdvisorReport, lang: str = DEFAULT_LANGUAGE) -> str:
    return WORDS[lang]["subject"].format(
        date=report.started_at.date().isoformat(),
        failed=report.sources.get("failed", 0),
        new=report.new_items,
    )


def render(report: AdvisorReport, fmt: str, lang: str = DEFAULT_LANGUAGE) -> str:
    """The report as `text`, `html` or `json` (JSON is language-neutral)."""
    if fmt == "json":
        return json.dumps(report.to_dict(), default=str, indent=2, ensure_ascii=False)
    words = WORDS[lang]
    template = environment().get_template(f"report.{'html' if fmt == 'html' else 'txt'}.j2")
    return template.render(
        r=report,
        w=words,
        lang=lang,
        subject=subject(report, lang),
        notes=[_note(line, words) for line in report.attention],
        priorities=PRIORITIES,
    )


def _note(line: SourceLine, words: Mapping[str, str]) -> str:
    """What to say about a source in the attention list."""
    if line.status == "failed" and line.last_success is None:
        return f"{line.reason} - {words['never_ok']}"
    if line.status == "failed":
        date = line.last_success.date().isoformat() if line.last_success else ""
        return f"{line.reason} - {words['failing_for'].format(days=line.failing_days, date=date)}"
    if line.quiet is not None:
        return words["quiet_for"].format(days=line.quiet.quiet_days, gap=line.quiet.usual_gap_days)
    return words["degraded"]
