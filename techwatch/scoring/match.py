"""Does a story concern a client, through which asset, provider, keyword or sector, and why.

    index = build_index(clients)            once per run: every client term in one automaton
    concerned(index, evidence)              -> {client id: Relevance} for the clients it touches
    relevance(client, evidence)             the same for one client (tests, the CLI)

A story concerns a client through:
- an **advisory product** (each `Affected` of each `VulnFacts`): its CPE (vendor:product) or
  PURL (type/namespace/name; OSV packages get one from their ecosystem) equals an asset's, or
  its vendor and product name match an asset's vendor and product or alias (see
  `identifiers.names_match`; KEV's "Multiple Products" concerns every asset of the vendor).
  The asset's version (its `version`, else the one in its CPE or PURL) is then checked against
  the stated ranges and fixed versions (`versions.assess`): outside every range, or at/after
  the fix, rules the asset out, and the reason is kept in `Relevance.ruled_out`;
- the **text** (title, and the text's first MAX_TEXT_CHARS) naming an asset (name, product,
  alias), a provider (name, alias) or a watch keyword as a whole word (`text.TermFinder`;
  too short or too common terms are not searched, see `Index.ignored`). Naming an asset
  that the advisory's versions ruled out does not bring it back;
- the **sector**: a story that is not product-specific (no CVE, no affected product) concerns
  the clients of the sectors it names. A story labelled `all` without a product concerns every
  client only when it is about organisations rather than products: `regulation` (a new law
  applies to every organisation) and `phishing_fraud` rated high or critical (a major phishing
  wave; the many minor ones would drown every briefing). Otherwise `all` means "whoever uses
  the product", and the text match above finds them.

An item naming one of the client's **exclusions** (in title, text or affected products) never
reaches the client, whatever else matched: `Relevance.excluded_by` says by what.

Lanes: an asset match is `confirmed` when a CPE or PURL matches, or when the asset's version is
known to be in an affected range; otherwise (a name, an alias, vendor and product without a
usable version) it is `unconfirmed`: kept and shown as such, never dropped, since half of new
CVEs come without CPE. Provider and sector matches need no confirmation; a keyword alone is
`unconfirmed`.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Final, Literal

from techwatch.clients.profile import Asset, Client, Provider
from techwatch.scoring.evidence import Evidence
from techwatch.scoring.identifiers import (
    Purl,
    Words,
    forms_match,
    is_vendor_wide,
    osv_purl,
    parse_cpe,
    parse_purl,
    product_alternatives,
    product_forms,
    vendor_key,
)
from techwatch.scoring.reasons import Reason, reason
from techwatch.scoring.text import MAX_TEXT_CHARS, TermFinder, fold, term_problem
from techwatch.scoring.versions import Assessment, assess
from techwatch.types import Affected, product_label

Lane = Literal["confirmed", "unconfirmed"]
MatchKind = Literal["asset", "provider", "keyword", "sector"]
Field = Literal["title", "text", "products"]

# Topics about organisations rather than products: with sector `all` they concern everyone,
# phishing and fraud only when serious (a dozen phishing stories a night must not reach all).
SECTOR_WIDE_TOPICS: Final = {"regulation": None, "phishing_fraud": ("high", "critical")}
MAX_REASONS: Final = 6  # per match: a 60-CVE bulletin must not print 60 lines per asset

AssetRef = tuple[int, int]  # (client number, asset number) in the index


@dataclass(frozen=True, slots=True)
class Match:
    """One way the story reaches the client, with the reasons shown to the consultant."""

    kind: MatchKind
    name: str  # asset or provider name, keyword, or sector label
    lane: Lane
    reasons: tuple[Reason, ...]
    asset: Asset | None = None
    provider: Provider | None = None


@dataclass(frozen=True, slots=True)
class Relevance:
    """What one story means for one client.

    `matches`: why it concerns the client. `ruled_out`: assets an advisory names but whose
    version is not affected, with the reason (shown on request, e.g. `techwatch exposure`).
    `excluded_by`: the exclusion that keeps it from the client, if any.
    """

    client_id: str
    matches: tuple[Match, ...] = ()
    ruled_out: tuple[Match, ...] = ()
    excluded_by: Reason | None = None

    @property
    def concerned(self) -> bool:
        return bool(self.matches) and self.excluded_by is None

    @property
    def lane(self) -> Lane:
        """`confirmed` when an asset is confirmed, or when no asset but a provider or the
        sector matched; `unconfirmed` when only unconfirmed assets or keywords matched."""
        assets = [m for m in self.matches if m.kind == "asset"]
        if any(m.lane == "confirmed" for m in assets):
            return "confirmed"
        if assets:
            return "unconfirmed"
        solid = any(m.kind in ("provider", "sector") for m in self.matches)
        return "confirmed" if solid else "unconfirmed"

    @property
    def reasons(self) -> tuple[Reason, ...]:
        return tuple(r for m in self.matches for r in m.reasons)


@dataclass(frozen=True, slots=True)
class _Target:
    """What one searched term points at, for one client."""

    client: int
    kind: Literal["asset", "provider", "keyword", "exclusion"]
    ref: int  # asset or provider number; unused for keywords and exclusions
    term_kind: Literal["name", "alias", "product"]
    term: str  # as the client wrote it


@dataclass(frozen=True, slots=True, eq=False)
class Index:
    """Every client's terms and identifiers, built once and read for each story."""

    clients: tuple[Client, ...]
    finder: TermFinder
    targets: tuple[tuple[_Target, ...], ...]  # per finder term number
    by_name: dict[str, dict[str, list[tuple[Words, tuple[AssetRef, ...]]]]]
    by_vendor: dict[str, tuple[AssetRef, ...]]
    by_cpe: dict[tuple[str, Words], tuple[AssetRef, ...]]
    by_purl: dict[tuple[str, str, str], tuple[AssetRef, ...]]
    by_sector: dict[str, tuple[int, ...]]
    names: tuple[tuple[tuple[Words, ...], ...], ...]  # per client, per asset: product words
    versions: tuple[tuple[str | None, ...], ...]  # per client, per asset
    has_exclusions: bool
    ignored: tuple[tuple[str, str, str], ...]  # (client id, term, why): not searched in text


def build_index(clients: Sequence[Client]) -> Index:
    """Index every client's assets, providers, keywords and exclusions (see module docstring)."""
    terms: dict[str, list[_Target]] = {}
    ignored: list[tuple[str, str, str]] = []
    by_name: dict[str, dict[Words, list[AssetRef]]] = defaultdict(lambda: defaultdict(list))
    by_vendor: dict[str, list[AssetRef]] = defaultdict(list)
    by_cpe: dict[tuple[str, Words], list[AssetRef]] = defaultdict(list)
    by_purl: dict[tuple[str, str, str], list[AssetRef]] = defaultdict(list)
    by_sector: dict[str, list[int]] = defaultdict(list)
    names: list[tuple[tuple[Words, ...], ...]] = []
    versions: list[tuple[str | None, ...]] = []

    def add_term(text: str, target: _Target) -> None:
        problem = term_problem(text)
        if problem is not None:
            ignored.append((clients[target.client].id, text, problem))
            return
        bucket = terms.setdefault(fold(text), [])
        if target not in bucket:
            bucket.append(target)

    for number, client in enumerate(clients):
        for sector in client.sectors:
            by_sector[sector].append(number)
        client_names, client_versions = [], []
        for ref, asset in enumerate(client.assets):
            pair = (number, ref)
            forms = _asset_forms(asset)
            client_names.append(forms)
            client_versions.append(_asset_version(asset))
            vendor = vendor_key(asset.vendor)
            if vendor:
                by_vendor[vendor].append(pair)
                for words in forms:
                    by_name[vendor][words].append(pair)
            cpe = parse_cpe(asset.cpe) if asset.cpe else None
            if cpe is not None:
                by_cpe[cpe.key].append(pair)
            purl = parse_purl(asset.purl) if asset.purl else None
            if purl is not None:
                by_purl[purl.key].append(pair)
            add_term(asset.name, _Target(number, "asset", ref, "name", asset.name))
            add_term(asset.product, _Target(number, "asset", ref, "product", asset.product))
            for alias in asset.aliases:
                add_term(alias, _Target(number, "asset", ref, "alias", alias))
        names.append(tuple(client_names))
        versions.append(tuple(client_versions))
        for ref, provider in enumerate(client.providers):
            add_term(provider.name, _Target(number, "provider", ref, "name", provider.name))
            for alias in provider.aliases:
                add_term(alias, _Target(number, "provider", ref, "alias", alias))
        for keyword in client.keywords:
            add_term(keyword, _Target(number, "keyword", 0, "name", keyword))
        for exclusion in client.exclusions:
            add_term(exclusion, _Target(number, "exclusion", 0, "name", exclusion))

    return Index(
        clients=tuple(clients),
        finder=TermFinder(list(terms)),
        targets=tuple(tuple(t) for t in terms.values()),
        by_name={v: _by_first_word(words) for v, words in by_name.items()},
        by_vendor={k: tuple(v) for k, v in by_vendor.items()},
        by_cpe={k: tuple(v) for k, v in by_cpe.items()},
        by_purl={k: tuple(v) for k, v in by_purl.items()},
        by_sector={k: tuple(v) for k, v in by_sector.items()},
        names=tuple(names),
        versions=tuple(versions),
        has_exclusions=any(t.kind == "exclusion" for ts in terms.values() for t in ts),
        ignored=tuple(ignored),
    )


def _asset_forms(asset: Asset) -> tuple[Words, ...]:
    """The product words of an asset's product and aliases, as advisories would name them."""
    names = (asset.product, *asset.aliases)
    return tuple(dict.fromkeys(f for name in names for f in product_forms(name, asset.vendor)))


def _asset_version(asset: Asset) -> str | None:
    if asset.version:
        return asset.version
    cpe = parse_cpe(asset.cpe) if asset.cpe else None
    if cpe is not None and cpe.version:
        return cpe.version
    purl = parse_purl(asset.purl) if asset.purl else None
    return purl.version if purl is not None else None


def _by_first_word(
    names: dict[Words, list[AssetRef]],
) -> dict[str, list[tuple[Words, tuple[AssetRef, ...]]]]:
    """Asset names grouped by their first word: an advisory name is compared only with asset
    names whose first word it contains (names_match needs that)."""
    grouped: dict[str, list[tuple[Words, tuple[AssetRef, ...]]]] = defaultdict(list)
    for words, pairs in names.items():
        grouped[words[0]].append((words, tuple(pairs)))
    return dict(grouped)


# --- one story --------------------------------------------------------------------------------


@dataclass(slots=True)
class _Finding:
    """What the advisories of one story say about one asset, gathered over all of them."""

    confirmed: list[Reason] = field(default_factory=list)
    unconfirmed: list[Reason] = field(default_factory=list)
    ruled_out: list[Reason] = field(default_factory=list)
    text: list[Reason] = field(default_factory=list)

    @property
    def lane(self) -> Lane | None:
        """None when every advisory statement rules the asset out."""
        if self.confirmed:
            return "confirmed"
        if self.unconfirmed or self.text:
            return "unconfirmed"
        return None


def concerned(index: Index, evidence: Evidence) -> dict[str, Relevance]:
    """Relevance for every client the story touches (concerned, excluded or ruled out by
    version), keyed by client id, in the index's client order."""
    findings: dict[int, dict[int, _Finding]] = defaultdict(dict)
    products = _unique_affected(evidence)
    _advisory_findings(index, products, findings)
    hits = _text_hits(index, evidence, products)
    per_client: dict[int, list[tuple[_Target, Field]]] = defaultdict(list)
    for target, where in hits.items():
        per_client[target.client].append((target, where))
    sectors = _sector_matches(index, evidence)
    clients = set(findings) | set(per_client) | set(sectors)
    result: dict[str, Relevance] = {}
    for number in sorted(clients):
        found = _relevance(index, number, findings, per_client.get(number, []), sectors)
        if found is not None:
            result[found.client_id] = found
    return result


def relevance(client: Client, evidence: Evidence) -> Relevance:
    """One client's Relevance (an empty one when the story does not touch the client)."""
    return concerned(build_index([client]), evidence).get(client.id, Relevance(client.id))


def is_product_specific(evidence: Evidence) -> bool:
    """A story about CVEs or named affected products (not a sector-wide one)."""
    return bool(evidence.cves) or any(v.affected for v in evidence.vulns)


def _unique_affected(evidence: Evidence) -> list[tuple[Affected, str]]:
    """Each distinct advisory product once, with the CVEs naming it ("CVE-1 (+59)"). CERT-FR
    bulletins repeat one list of hundreds of products for each of their CVEs: the lists are
    told apart by identity first, which costs nothing, then products by value."""
    lists: dict[int, tuple[tuple[Affected, ...], list[str]]] = {}
    for vuln in evidence.vulns:
        if vuln.affected:
            lists.setdefault(id(vuln.affected), (vuln.affected, []))[1].append(vuln.vuln_id)
    mentions: dict[Affected, list[str]] = {}
    for products, vulns in lists.values():
        for affected in products:
            mentions.setdefault(affected, []).extend(vulns)
    found = []
    for affected, vulns in mentions.items():
        named = list(dict.fromkeys(vulns))
        label = named[0] if len(named) == 1 else f"{named[0]} (+{len(named) - 1})"
        found.append((affected, label))
    return found


def _advisory_findings(
    index: Index, products: list[tuple[Affected, str]], findings: dict[int, dict[int, _Finding]]
) -> None:
    """Every (asset, advisory product) pair the index can pair, assessed; findings are kept
    per client, then per asset."""
    for affected, label in products:
        for pair, how in _candidates(index, affected).items():
            per_asset = findings[pair[0]]
            finding = per_asset.get(pair[1])
            if finding is None:
                finding = per_asset[pair[1]] = _Finding()
            _assess_pair(index, pair, how, affected, label, finding)


def _candidates(index: Index, affected: Affected) -> dict[AssetRef, tuple[str, str]]:
    """Assets an advisory product may be, with how: ("cpe", cpe), ("purl", purl),
    ("name", ""), ("vendor", ""); the strongest identification wins."""
    found: dict[AssetRef, tuple[str, str]] = {}
    vendor = vendor_key(affected.vendor) if affected.vendor else ""
    if vendor and is_vendor_wide(affected.product):
        for pair in index.by_vendor.get(vendor, ()):
            found[pair] = ("vendor", "")
    elif vendor in index.by_name:
        groups = index.by_name[vendor]
        for alternative in product_alternatives(affected.product):
            for form in product_forms(alternative, affected.vendor):
                for word in set(form):
                    for words, pairs in groups.get(word, ()):
                        if forms_match(words, form, vendor):
                            found.update(dict.fromkeys(pairs, ("name", "")))
    purl = _affected_purl(affected)
    for pair in index.by_purl.get(purl.key, ()) if purl else ():
        found[pair] = ("purl", affected.purl or f"pkg:{purl.type}/{purl.namespace}/{purl.name}")
    for text in affected.cpes:
        cpe = parse_cpe(text)
        for pair in index.by_cpe.get(cpe.key, ()) if cpe else ():
            found[pair] = ("cpe", text)
    return found


def _affected_purl(affected: Affected) -> Purl | None:
    if affected.purl:
        return parse_purl(affected.purl)
    return osv_purl(affected.vendor, affected.product)


def _assess_pair(
    index: Index,
    pair: AssetRef,
    how: tuple[str, str],
    affected: Affected,
    vuln: str,
    finding: _Finding,
) -> None:
    client, ref = pair
    asset = index.clients[client].assets[ref]
    version = index.versions[client][ref]
    verdict = assess(version, affected, index.names[client][ref])
    method, identifier = how
    if verdict.status == "not_affected":
        target = finding.ruled_out
    elif verdict.status == "affected" or method in ("cpe", "purl"):
        target = finding.confirmed
    else:
        target = finding.unconfirmed
    if len(target) >= MAX_REASONS:  # the lane is settled and only MAX_REASONS are shown
        return
    product = affected.product or affected.vendor
    if verdict.status == "not_affected":
        target.append(_ruled_out_reason(verdict, vuln, product, asset, version or ""))
        return
    if method == "cpe":
        finding.confirmed.append(reason("cpe_match", vuln=vuln, cpe=identifier, **_about(asset)))
    elif method == "purl":
        finding.confirmed.append(reason("purl_match", vuln=vuln, purl=identifier, **_about(asset)))
    if verdict.status == "affected":
        shown = f"< {verdict.detail}" if verdict.why == "below_fix" else verdict.detail
        finding.confirmed.append(
            reason(
                "version_affected",
                vuln=vuln,
                product=product,
                range=shown,
                version=version or "",
                **_about(asset),
            )
        )
        return
    if method == "vendor":
        target.append(reason("vendor_wide", vuln=vuln, vendor=affected.vendor, **_about(asset)))
    elif method == "name":
        named = product_label(affected.vendor, affected.product)
        target.append(reason("product_named", vuln=vuln, product=named, **_about(asset)))
    target.append(_version_reason(verdict, asset, version))


def _about(asset: Asset) -> dict[str, str | int]:
    return {"asset": asset.name, "criticality": asset.criticality, "exposure": asset.exposure}


def _ruled_out_reason(
    verdict: Assessment, vuln: str, product: str, asset: Asset, version: str
) -> Reason:
    if verdict.why == "fixed":
        return reason(
            "version_fixed",
            vuln=vuln,
            product=product,
            fixed=verdict.detail,
            asset=asset.name,
            version=version,
        )
    return reason(
        "version_not_affected",
        vuln=vuln,
        product=product,
        range=verdict.detail,
        asset=asset.name,
        version=version,
    )


def _version_reason(verdict: Assessment, asset: Asset, version: str | None) -> Reason:
    if verdict.why == "no_version":
        return reason("version_missing", asset=asset.name)
    return reason("version_unconfirmed", asset=asset.name, version=version or "", why=verdict.why)


def _text_hits(
    index: Index, evidence: Evidence, products: list[tuple[Affected, str]]
) -> dict[_Target, Field]:
    """Every target named in the story, with the first field naming it (title first)."""
    title, text = evidence.title[:MAX_TEXT_CHARS], evidence.text[:MAX_TEXT_CHARS]
    fields: list[tuple[Field, str]] = [("title", title), ("text", text)]
    if index.has_exclusions:
        fields.append(("products", _products_text(evidence, products)))
    hits: dict[_Target, Field] = {}
    for where, content in fields:
        for number, _, _ in index.finder.find(fold(content)):
            for target in index.targets[number]:
                if where == "products" and target.kind != "exclusion":
                    continue
                hits.setdefault(target, where)
    return hits


def _products_text(evidence: Evidence, products: list[tuple[Affected, str]]) -> str:
    """The affected products' names, where exclusions are looked for too."""
    names = {f"{a.vendor} {a.product}" for a, _ in products}
    names |= {f"{v.kev.vendor} {v.kev.product}" for v in evidence.vulns if v.kev is not None}
    return " ; ".join(sorted(names))


def _sector_matches(index: Index, evidence: Evidence) -> dict[int, Match]:
    """Clients a sector-wide story concerns (see the module docstring). The Match is the same
    object for every client of a sector: nothing in it is client-specific."""
    if is_product_specific(evidence):
        return {}
    found: dict[int, Match] = {}
    wide = next((t for t in evidence.topics if _sector_wide(t, evidence.severity)), None)
    if "all" in evidence.sectors and wide is not None:
        everyone = Match("sector", "all", "confirmed", (reason("sector_all", topic=wide),))
        found.update(dict.fromkeys(range(len(index.clients)), everyone))
    for sector in evidence.sectors:
        clients = index.by_sector.get(sector, ())
        if clients:
            named = Match("sector", sector, "confirmed", (reason("sector", sector=sector),))
            for number in clients:
                found.setdefault(number, named)
    return found


def _sector_wide(topic: str, severity: str | None) -> bool:
    if topic not in SECTOR_WIDE_TOPICS:
        return False
    severities = SECTOR_WIDE_TOPICS[topic]
    return severities is None or severity in severities


def _relevance(
    index: Index,
    number: int,
    findings: dict[int, dict[int, _Finding]],
    hits: list[tuple[_Target, Field]],
    sectors: dict[int, Match],
) -> Relevance | None:
    client = index.clients[number]
    per_asset = findings.get(number, {})
    if not hits and not per_asset:  # reached by its sector only (a law, a phishing wave)
        return Relevance(client.id, (sectors[number],))
    excluded_by = None
    providers: dict[int, list[Reason]] = defaultdict(list)
    keywords: list[Match] = []
    for target, where in hits:
        if target.kind == "exclusion":
            excluded_by = excluded_by or reason("excluded", term=target.term, field=where)
        elif target.kind == "asset":
            asset = client.assets[target.ref]
            text = reason(
                "text_term", term_kind=target.term_kind, term=target.term, field=where,
                **_about(asset),
            )  # fmt: skip
            per_asset.setdefault(target.ref, _Finding()).text.append(text)
        elif target.kind == "provider":
            provider = client.providers[target.ref]
            named = reason(
                "provider_named", term=target.term, field=where, provider=provider.name,
                service=provider.service,
            )  # fmt: skip
            providers[target.ref].append(named)
        else:
            keyword = reason("keyword", keyword=target.term, field=where)
            keywords.append(Match("keyword", target.term, "unconfirmed", (keyword,)))
    matches, ruled_out = _asset_matches(client, per_asset)
    matches += [
        Match("provider", client.providers[ref].name, "confirmed", tuple(found[:MAX_REASONS]),
              provider=client.providers[ref])
        for ref, found in sorted(providers.items())
    ]  # fmt: skip
    matches += keywords
    if number in sectors:
        matches.append(sectors[number])
    if not matches and not ruled_out:
        return None
    return Relevance(client.id, tuple(matches), tuple(ruled_out), excluded_by)


def _asset_matches(
    client: Client, findings: dict[int, _Finding]
) -> tuple[list[Match], list[Match]]:
    matches: list[Match] = []
    ruled_out: list[Match] = []
    for ref, finding in sorted(findings.items()):
        asset = client.assets[ref]
        lane = finding.lane
        if lane is None or (finding.ruled_out and not (finding.confirmed or finding.unconfirmed)):
            reasons = _capped([*finding.ruled_out, *finding.text])
            ruled_out.append(Match("asset", asset.name, "unconfirmed", reasons, asset=asset))
            continue
        reasons = _capped([*finding.confirmed, *finding.text, *finding.unconfirmed])
        matches.append(Match("asset", asset.name, lane, reasons, asset=asset))
    return matches, ruled_out


def _capped(reasons: Iterable[Reason]) -> tuple[Reason, ...]:
    return tuple(dict.fromkeys(reasons))[:MAX_REASONS]
