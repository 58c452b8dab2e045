"""Small builders for scoring tests: a client from a few assets, an evidence from a title."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from techwatch.clients.profile import Asset, Client, Provider
from techwatch.scoring.evidence import Evidence
from techwatch.types import Affected, VulnFacts

NOW = datetime(2026, 11, 28, 3, 0, tzinfo=UTC)


def asset(name: str, vendor: str, product: str, **fields: Any) -> Asset:
    defaults: dict[str, Any] = {"kind": "software", "criticality": 3, "exposure": "internal"}
    return Asset(name=name, vendor=vendor, product=product, **{**defaults, **fields})


def client(*assets: Asset, **fields: Any) -> Client:
    defaults: dict[str, Any] = {"id": "c1", "name": "Client", "sectors": ("health",)}
    return Client(assets=assets, **{**defaults, **fields})


def evidence(title: str, text: str = "", **fields: Any) -> Evidence:
    return Evidence(
        story_id=fields.pop("story_id", "s1"), title=title, text=text, first_seen=NOW, **fields
    )


def vuln(cve: str, *affected: Affected, **fields: Any) -> VulnFacts:
    return VulnFacts(vuln_id=cve, affected=affected, **fields)


def advisory(title: str, cve: str, *affected: Affected, **fields: Any) -> Evidence:
    """A story about one CVE with the given affected products."""
    facts = vuln(cve, *affected, **fields.pop("facts", {}))
    topics = fields.pop("topics", ("vulnerability",))
    return evidence(title, cves=(cve,), vulns=(facts,), topics=topics, **fields)


# The demo dental practice's inventory, as the issue describes it.
M365 = asset(
    "Microsoft 365",
    "Microsoft",
    "Microsoft 365",
    kind="saas",
    criticality=4,
    exposure="exposed",
    aliases=("M365", "Office 365", "Outlook"),
    data=("health", "personal"),
)
FIREWALL = asset(
    "firewall",
    "Fortinet",
    "FortiOS",
    kind="device",
    criticality=4,
    exposure="exposed",
    version="7.2.3",
    aliases=("FortiGate",),
    data=("credentials",),
)
NAS = asset(
    "NAS",
    "Synology",
    "DiskStation Manager",
    kind="device",
    criticality=3,
    version="7.2.1",
    aliases=("Synology NAS", "DSM"),
    data=("health", "personal"),
)
HIN = Provider(
    "HIN",
    "secure e-mail for health professionals",
    aliases=("Health Info Net",),
    criticality=4,
    data=("health", "personal"),
)
DENTAL = client(
    M365,
    FIREWALL,
    NAS,
    id="dental",
    providers=(HIN,),
    keywords=("dossier électronique du patient",),
    exclusions=("dentifrice",),
)
