"""Evidence: the facts about one story that matching and priority rules read.

Built from the store (items, their classification, vulnerability facts, EPSS) by the briefing
code; plain frozen data here so that every decision is a pure, table-testable function.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from techwatch.types import EpssScore, VulnFacts


@dataclass(frozen=True, slots=True)
class Evidence:
    """One story (items about one event, from one or many sources) or a lone item.

    `topics`, `sectors` and `severity` are the consultant's labels when there are any, else the
    model's. `vulns` holds what the advisories state per CVE (affected products with versions
    and CPEs, CVSS, KEV entry, SSVC); `epss` the latest score per CVE.
    """

    story_id: str
    title: str
    text: str
    first_seen: datetime
    published: datetime | None = None
    language: str | None = None
    item_ids: tuple[str, ...] = ()
    source_ids: tuple[str, ...] = ()
    categories: tuple[str, ...] = ()  # source categories: advisory, vendor, press, status...
    urls: tuple[str, ...] = ()
    topics: tuple[str, ...] = ()
    sectors: tuple[str, ...] = ()
    severity: str | None = None
    cves: tuple[str, ...] = ()
    vulns: tuple[VulnFacts, ...] = ()
    epss: tuple[EpssScore, ...] = ()

    @property
    def kev(self) -> bool:
        """Listed in CISA's Known Exploited Vulnerabilities catalog (any of its CVEs)."""
        return any(v.kev is not None for v in self.vulns)
