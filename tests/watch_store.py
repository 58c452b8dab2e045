"""A small real store for scoring and briefing tests: a KEV-listed FortiOS flaw told by two
sources, and an off-topic item; classified and grouped into stories."""

from datetime import UTC, date, datetime, timedelta
from importlib import resources
from pathlib import Path

from techwatch.dedupe import item_id
from techwatch.storage.writer import open_writer
from techwatch.stories.run import group_pending
from techwatch.types import Affected, KevEntry, ParsedItem, VulnFacts
from tests.storage.factories import outcome, source

NOW = datetime(2026, 11, 27, 6, 0, tzinfo=UTC)
DEMO_CLIENTS = Path(str(resources.files("techwatch.demo") / "clients"))
CVE = "CVE-2026-24858"


def advisory(identity: str, title: str, text: str, facts=(), cves=(CVE,)) -> ParsedItem:
    return ParsedItem(
        source_id=identity.split(":")[0],
        identity=identity,
        url=f"https://{identity.split(':')[0]}.example/{identity.split(':')[1]}",
        canonical_url=None,
        title=title,
        text=text,
        html=f"<p>{text}</p>",
        published=NOW - timedelta(hours=3),
        language="en",
        cves=cves,
        content_hash=f"h:{identity}",
        facts=facts,
    )


FORTIOS = VulnFacts(
    CVE,
    description="Authentication bypass in FortiOS SSL-VPN.",
    affected=(Affected("Fortinet", "FortiOS", versions=("7.2.0 - 7.2.4",), fixed=("7.2.5",)),),
    kev=KevEntry(date(2026, 11, 26), date(2026, 12, 17), "Apply vendor mitigations.", True,
                 "Fortinet", "FortiOS", "Fortinet FortiOS Authentication Bypass"),
)  # fmt: skip


def fortios_store(path: Path) -> Path:
    """A store with a KEV-listed FortiOS flaw told by two sources, and an off-topic item."""
    items = {
        "kev": [advisory("kev:1", "Fortinet FortiOS auth bypass", "Exploited.", (FORTIOS,))],
        "news": [
            advisory("news:1", "FortiGate firewalls attacked through SSL-VPN flaw",
                     "Attackers exploit FortiOS devices."),
            advisory("news:2", "New cookie recipe", "Nothing about computers.", cves=()),
        ],
    }  # fmt: skip
    with open_writer(path) as w:
        w.sync_sources([source("kev", category="advisory"), source("news", category="press")], NOW)
        w.write_outcomes("run", [outcome(s, i) for s, i in items.items()], [], NOW)
        w.write_predictions(
            [_prediction(f"{s}:{n}") for s, n in [("kev", 1), ("news", 1), ("news", 2)]]
        )
    group_pending(path, now=NOW)
    return path


def _prediction(identity: str) -> dict:
    source_id, _ = identity.split(":")
    off = identity == "news:2"
    return {
        "item_id": item_id(source_id, identity),
        "model_version": "m-test",
        "topics": ["off_topic"] if off else ["vulnerability", "exploited"],
        "sectors": [] if off else ["all"],
        "severity": "info" if off else "critical",
        "scores": {"vulnerability": 0.9},
        "classified_at": NOW,
    }
