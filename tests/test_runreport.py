"""The advisor's run report: the quiet-source rule (table), and a report read from a real store."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import duckdb
import pytest

from techwatch import runreport
from techwatch.storage import open_reader
from techwatch.storage.writer import open_writer
from tests.storage.factories import item, outcome, source, state

DAY0 = datetime(2026, 11, 1, 1, 0, tzinfo=UTC)
RUNS = 25  # one nightly run a day


def days(*offsets: float) -> list[datetime]:
    return [DAY0 + timedelta(days=d) for d in offsets]


@pytest.mark.parametrize(
    ("history", "now_day", "quiet_days"),
    [
        (days(0, 1, 2, 3), 5, None),  # daily source, 2 days quiet: under the 7-day floor
        (days(0, 1, 2, 3), 10.5, 7.5),  # daily source, 7.5 days quiet: flagged
        (days(0, 1, 2), 30, None),  # 2 gaps only: not enough history to judge
        (days(0, 7, 14, 21), 40, None),  # weekly source, 19 days quiet: under 3 x 7
        (days(0, 7, 14, 21), 43.5, 22.5),  # weekly source, 22.5 days quiet: flagged
        (days(0, 1, 2, 30), 40, 10.0),  # one long pause does not move the median gap (1)
        ([], 40, None),  # never produced anything: no history
        (days(3, 0, 2, 1), 11, 8.0),  # order of the history does not matter
    ],
)
def test_quiet_verdict(history: list[datetime], now_day: float, quiet_days: float | None) -> None:
    verdict = runreport.quiet_verdict(history, DAY0 + timedelta(days=now_day))
    assert (verdict.quiet_days if verdict else None) == quiet_days


def test_quiet_verdict_keeps_the_usual_gap_and_last_item() -> None:
    verdict = runreport.quiet_verdict(days(0, 2, 4, 6), DAY0 + timedelta(days=30))
    assert verdict == runreport.Quiet(
        last_new=DAY0 + timedelta(days=6), quiet_days=24.0, usual_gap_days=2.0
    )


@pytest.mark.parametrize(
    ("env", "expected"),
    [
        ({}, "fr"),
        ({"TECHWATCH_ADVISOR_LANGUAGE": "EN"}, "en"),
        ({"TECHWATCH_ADVISOR_LANGUAGE": "xx"}, "fr"),
    ],
)
def test_language_from_env(env: dict[str, str], expected: str) -> None:
    assert runreport.language(env) == expected


def history_store(path: Path) -> Path:
    """25 nightly runs: `daily` brings an item every night, `quiet` stopped after night 5,
    `broken` fails from night 20 on; then one client decision and two emails in the last run."""
    sources = [source("daily"), source("quiet"), source("broken")]
    with open_writer(path) as w:
        w.sync_sources(sources, DAY0)
        for night in range(RUNS):
            start = DAY0 + timedelta(days=night)
            run_id = f"run-{night:02d}"
            w.begin_run(run_id, started_at=start, kind="ingest", flow_run_id=None)
            outcomes = [
                outcome("daily", [item("daily", f"d{night}")], started_at=start),
                outcome(
                    "quiet", [item("quiet", f"q{night}")] if night < 5 else [], started_at=start
                ),
                _broken(night, start),
            ]
            states = [_broken_state(night, start)]
            w.write_outcomes(run_id, outcomes, states, start)
            summary = {
                "new_items": 1,
                "updated_items": 0,
                "stories": {"new_stories": 1},
                "classification": {"model_version": "m-7", "skipped": None},
                "stage_seconds": {"collect": 1.5, "store": 0.2},
            }
            w.finish_run(
                run_id, finished_at=start + timedelta(minutes=3), status="ok", summary=summary
            )
    last = DAY0 + timedelta(days=RUNS - 1)
    with duckdb.connect(str(path)) as conn:
        conn.execute(
            "INSERT INTO client_stories VALUES ('dental', 's1', 'act_now', 3, 'confirmed', '[]', "
            "[], 't', ?, ?, ?, 'r1'), ('dental', 's0', 'watch', 0, 'confirmed', '[]', [], 't', "
            "?, ?, ?, 'r1')",
            [last, last, last + timedelta(minutes=1), last, last, last - timedelta(days=3)],
        )
        for n, status in enumerate(("sent", "failed")):
            conn.execute(
                "INSERT INTO outbox (idem_key, kind, client_id, period, status, next_attempt, "
                "message_id, sender, recipients, subject, created_at, updated_at) VALUES "
                "(?, 'summary', 'dental', 'W48', ?, ?, ?, 'a@b.ch', ['c@d.ch'], 's', ?, ?)",
                [f"summary/dental/{n}", status, last, f"<{n}@x>", last + timedelta(hours=5), last],
            )
    return path


def _broken(night: int, start: datetime):  # type: ignore[no-untyped-def]
    if night < 20:
        return outcome("broken", [item("broken", f"b{night}")], started_at=start)
    return outcome(
        "broken", status="failed", http_status=503, error_kind="http", error="unavailable",
        started_at=start,
    )  # fmt: skip


def _broken_state(night: int, start: datetime):  # type: ignore[no-untyped-def]
    if night < 20:
        return state("broken", last_success=start, last_attempt=start)
    ok = DAY0 + timedelta(days=19)
    return state(
        "broken", last_success=ok, last_attempt=start, consecutive_failures=night - 19,
        degraded=night >= 22,
    )  # fmt: skip


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return history_store(tmp_path_factory.mktemp("report") / "tw.duckdb")


def latest(store: Path, run_id: str | None = None) -> runreport.AdvisorReport:
    with open_reader(store) as reader:
        rows = reader.run_report_rows(run_id)
    assert rows is not None
    return runreport.build(rows)


def test_report_of_the_latest_run(store: Path) -> None:
    report = latest(store)
    assert report.run_id == "run-24"
    assert report.sources == {
        "ok": 2, "not_modified": 0, "failed": 1, "skipped": 0, "degraded": 1, "quiet": 1,
    }  # fmt: skip
    assert report.duration_s == 180.0
    assert (report.new_items, report.new_stories, report.model_version) == (1, 1, "m-7")
    # Only the decision taken during the run counts, not the one of three days before.
    assert report.clients == {"dental": {"act_now": 1}}
    assert report.emails["sent"] == 1 and report.emails["failed"] == 1
    assert report.stage_seconds == {"collect": 1.5, "store": 0.2}


def test_failing_and_quiet_sources_say_since_when(store: Path) -> None:
    broken, quiet = latest(store).attention
    assert (broken.source_id, broken.reason, broken.degraded) == (
        "broken", "HTTP 503: http: unavailable", True,
    )  # fmt: skip
    assert broken.consecutive_failures == 5
    assert broken.failing_days == pytest.approx(5.0, abs=0.01)
    assert quiet.source_id == "quiet" and quiet.quiet is not None
    assert quiet.quiet.usual_gap_days == 1.0
    assert quiet.quiet.quiet_days == pytest.approx(20.0, abs=0.01)


def test_an_earlier_run_by_id(store: Path) -> None:
    report = latest(store, "run-10")
    assert report.sources["failed"] == 0
    # `quiet` has been silent 6 days, under the 7-day floor; `broken` still worked.
    assert report.attention == ()


@pytest.mark.parametrize("lang", runreport.LANGUAGES)
def test_renders_in_every_language_and_format(store: Path, lang: str) -> None:
    report = latest(store)
    text = runreport.render(report, "text", lang)
    html = runreport.render(report, "html", lang)
    words = runreport.WORDS[lang]
    for rendered in (text, html):
        assert words["attention"] in rendered
        assert "broken" in rendered and "quiet" in rendered
    assert words["failing_for"].format(days=5.0, date="2026-11-20") in text
    assert f"{words['new_items']}{words['colon']} 1," in text
    assert html.startswith("<!DOCTYPE html>") and "<script" not in html
    assert json.loads(runreport.render(report, "json"))["run_id"] == "run-24"


def test_html_escapes_what_a_feed_controls(tmp_path: Path) -> None:
    rows = {
        "run": {
            "run_id": "r", "kind": "ingest", "status": "partial", "summary": {},
            "started_at": DAY0, "finished_at": DAY0,
        },
        "run_sources": [{
            "source_id": "s", "status": "failed", "http_status": None,
            "error_kind": "parse", "error": "<script>alert(1)</script>", "new_items": 0,
        }],
        "states": {}, "names": {"s": "<b>Name</b>"}, "new_item_runs": {},
        "decisions": [], "emails": {},
    }  # fmt: skip
    html = runreport.render(runreport.build(rows), "html", "en")
    assert "<script>" not in html and "&lt;script&gt;" in html and "&lt;b&gt;Name" in html
    assert "has never succeeded" in html
