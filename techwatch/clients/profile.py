"""A client's profile as the rest of the product sees it: validated, frozen, plain data.

Matching (`techwatch.scoring.match`) reads the inventory, priority rules read criticality,
exposure and data sensitivity, briefings and mail read language, contacts and cadence.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Language = Literal["fr", "de", "en"]
Priority = Literal["act_now", "act_soon", "plan", "watch"]
PRIORITIES: tuple[Priority, ...] = ("act_now", "act_soon", "plan", "watch")  # most urgent first
AssetKind = Literal["saas", "software", "device", "website", "service_provider"]
Exposure = Literal["exposed", "internal"]
DataKind = Literal["personal", "health", "financial", "legal", "children", "credentials", "other"]
CadenceKind = Literal["daily", "weekly", "monthly"]


@dataclass(frozen=True, slots=True)
class Asset:
    """Something the client runs or uses, named as the client knows it.

    `vendor` and `product` are what advisories name (matched against CVE `affected`, KEV and
    CSAF product trees); `aliases` are other names people and news use ("M365", "Outlook").
    `criticality`: 1 (convenience) to 4 (the business stops without it).
    """

    name: str
    vendor: str
    product: str
    kind: AssetKind
    criticality: int
    exposure: Exposure
    version: str | None = None
    cpe: str | None = None
    purl: str | None = None
    aliases: tuple[str, ...] = ()
    data: tuple[DataKind, ...] = ()
    owner: str | None = None


@dataclass(frozen=True, slots=True)
class Provider:
    """A company the client depends on: its breaches and outages matter without a product match."""

    name: str
    service: str  # what it provides: "hosting", "IT support", "accounting SaaS"...
    aliases: tuple[str, ...] = ()
    criticality: int = 3
    data: tuple[DataKind, ...] = ()


@dataclass(frozen=True, slots=True)
class Contact:
    name: str
    email: str
    role: str | None = None
    receives_summary: bool = True


@dataclass(frozen=True, slots=True)
class Cadence:
    """How often the client hears from us: daily, weekly on `weekday` (0 = Monday), or monthly
    on `day` of the month (1-28, so that every month has it)."""

    kind: CadenceKind = "weekly"
    weekday: int = 0
    day: int = 1


@dataclass(frozen=True, slots=True)
class Client:
    id: str
    name: str
    sectors: tuple[str, ...]  # taxonomy sector labels, never `all`
    language: Language = "fr"
    contacts: tuple[Contact, ...] = ()
    cadence: Cadence = Cadence()
    min_priority_to_mail: Priority = "act_soon"
    assets: tuple[Asset, ...] = ()
    providers: tuple[Provider, ...] = ()
    keywords: tuple[str, ...] = ()  # watch terms: an item naming one concerns the client
    exclusions: tuple[str, ...] = ()  # an item naming one never reaches the client
