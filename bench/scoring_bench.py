"""Scoring benchmark: one night's new stories against every client, as a ratio to a plain pass.

Issue 5's target: scoring all clients against one night's 20k new items in <= 10 s, with 200
clients of 30 assets each. Clients draw their assets' vendors and products from the real CISA
KEV catalog when ../shared/realdata is there (else from a built-in list), so advisories name
real vendor spellings. A night's stories (shares adjustable, defaults from what the sources
publish: ~130 new CVEs a day plus the records updated, 5-10 CERT-FR bulletins, mostly news):
15% CVE records (1-3 CVEs, 2 products each, a quarter of them products clients run), 0.5%
CERT-FR-like bulletins (10 CVEs sharing 40 products of one vendor), 3% sector stories
(regulation, phishing; a fifth of them for every sector), and news of 1-2.5 KB, 30% of which
name a product and 10% a provider. `--advisories 0.35 --bulletins 0.1 --sector 0.1` is a
stress mix where a tenth of all (story, client) pairs match.

Timed in the same process: building the index, matching (`concerned`) plus deciding
(`decide`) for every concerned client, and the baseline, a plain `.lower()` of every story's
title and text, so the ratio says what matching costs on this machine whatever its speed.
Both wall and CPU time are shown: on a shared machine wall time also measures the neighbours.

    .venv/bin/python bench/scoring_bench.py [--clients 200] [--assets 30] [--items 20000]
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import time
from collections import Counter
from datetime import UTC, date, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from techwatch.clients.profile import Asset, Client, Provider
from techwatch.scoring.evidence import Evidence
from techwatch.scoring.match import build_index, concerned
from techwatch.scoring.priority import decide
from techwatch.types import Affected, CvssScore, EpssScore, KevEntry, VulnFacts

NOW = datetime(2026, 11, 28, 3, 0, tzinfo=UTC)
REALDATA = Path(__file__).resolve().parents[2] / "shared" / "realdata"
KEV_PATH = REALDATA / "advisories" / "cisa-kev" / "known_exploited_vulnerabilities.json"
TARGET_S = 10.0

BUILT_IN_PRODUCTS = [
    ("Microsoft", "Windows"), ("Microsoft", "Exchange Server"), ("Microsoft", "Office"),
    ("Microsoft", "SharePoint"), ("Microsoft", "Edge"), ("Fortinet", "FortiOS"),
    ("Fortinet", "FortiClient EMS"), ("Citrix", "NetScaler ADC"),
    ("Synology", "DiskStation Manager"),
    ("QNAP", "QTS"), ("Apple", "macOS"), ("Apple", "iOS"), ("Google", "Chrome"),
    ("Mozilla", "Firefox"), ("Adobe", "Acrobat Reader"), ("WordPress", "WordPress"),
    ("Ivanti", "Connect Secure"), ("Cisco", "IOS XE"), ("VMware", "ESXi"), ("Zyxel", "USG FLEX"),
    ("SonicWall", "SMA 100"), ("Atlassian", "Confluence"), ("Veeam", "Backup & Replication"),
    ("Oracle", "WebLogic Server"), ("Apache", "HTTP Server"), ("Palo Alto Networks", "PAN-OS"),
]  # fmt: skip
PROVIDERS = [
    "Infomaniak", "Swisscom", "HIN", "Abacus", "Bexio", "Sunrise", "Hostpoint", "Cyon",
    "PostFinance", "UBS", "Raiffeisen", "Mediconsult", "Axept", "Proton", "Exoscale", "Green",
    "Salt", "Sage", "Klara", "Banana", "Winbiz", "Crésus", "Threema", "Nine", "Metanet",
]  # fmt: skip
KEYWORDS = [
    "dossier électronique du patient", "nLPD", "revDSG", "e-ID", "QR-facture", "TARDOC",
    "cyberattaque commune", "fiduciaire", "Praxissoftware", "Vereinsverwaltung", "TWINT",
]  # fmt: skip
SECTORS = ["health", "finance", "legal", "public_admin", "education", "nonprofit",
           "retail_hospitality", "industry", "media_creative", "it_services"]  # fmt: skip
# News topics, weighted roughly as in the labelled corpus: product news dominate.
TOPICS = (
    ["product_update"] * 6
    + ["ai"] * 3
    + ["open_source"] * 2
    + [
        "outage",
        "breach",
        "breach",
        "pricing_licensing",
        "end_of_life",
        "ransomware",
        "phishing_fraud",
    ]
)
VOCABULARY = str.split(
    "security update vulnerability patch attack cloud release version licence price support "
    "customers users administrators exploit remote code execution authentication bypass the "
    "a of to in for on with by from and or sécurité mise jour vulnérabilité attaque correctif "
    "logiciel données protection les des une pour dans avec Sicherheit Schwachstelle Angriff "
    "Aktualisierung Daten Schutz Anbieter Dienst Ausfall der die das und für mit report study "
    "market company announced today week researchers group campaign phishing ransomware data"
)


def vendor_products(rng: random.Random) -> list[tuple[str, str]]:
    """Distinct (vendor, product) pairs from the real KEV catalog, or the built-in list."""
    if KEV_PATH.is_file():
        entries = json.loads(KEV_PATH.read_bytes())["vulnerabilities"]
        pairs = {(e["vendorProject"], e["product"]) for e in entries}
        return sorted(p for p in pairs if "multiple" not in p[1].lower())
    return list(BUILT_IN_PRODUCTS)


def filler(rng: random.Random, chars: int) -> str:
    words: list[str] = []
    size = 0
    while size < chars:
        word = rng.choice(VOCABULARY)
        words.append(word)
        size += len(word) + 1
    return " ".join(words)


def version(rng: random.Random) -> str:
    return f"{rng.randint(1, 20)}.{rng.randint(0, 9)}.{rng.randint(0, 30)}"


def make_clients(count: int, assets: int, pairs: list[tuple[str, str]], rng: random.Random):
    clients = []
    for n in range(count):
        chosen = rng.sample(pairs, min(assets, len(pairs)))
        inventory = tuple(
            Asset(
                name=f"{product} ({k})",
                vendor=vendor,
                product=product,
                kind=rng.choice(["saas", "software", "device"]),
                criticality=rng.randint(1, 4),
                exposure=rng.choice(["exposed", "internal"]),
                version=version(rng) if rng.random() < 0.7 else None,
                aliases=(f"{vendor} {product}",) if rng.random() < 0.3 else (),
                data=tuple(rng.sample(["personal", "health", "financial"], rng.randint(0, 2))),
            )
            for k, (vendor, product) in enumerate(chosen)
        )
        providers = tuple(
            Provider(name, "service", criticality=rng.randint(1, 4), data=("personal",))
            for name in rng.sample(PROVIDERS, 3)
        )
        clients.append(
            Client(
                id=f"client-{n:03d}",
                name=f"Client {n}",
                sectors=(rng.choice(SECTORS),),
                assets=inventory,
                providers=providers,
                keywords=tuple(rng.sample(KEYWORDS, 3)),
                exclusions=("dentifrice",),
            )
        )
    return clients


def affected(
    rng: random.Random, pairs: list[tuple[str, str]], popular: float, vendor: str | None = None
) -> Affected:
    """A product from the clients' universe with probability `popular`, else from the long tail
    of products nobody here runs (most CVEs name such products)."""
    if rng.random() < popular:
        vendor, product = rng.choice(
            [p for p in pairs if p[0] == vendor] or pairs if vendor else pairs
        )
    else:
        vendor = vendor or f"Vendor{rng.randint(1, 20_000)}"
        product = f"Product{rng.randint(1, 50_000)}"
    low = version(rng)
    ranges = rng.choice([(f"< {low}",), (f">= {low.rsplit('.', 1)[0]}.0, < {low}",), ()])
    return Affected(vendor, product, versions=ranges, fixed=(low,) if rng.random() < 0.5 else ())


def vuln(rng: random.Random, n: int, products: tuple[Affected, ...]) -> VulnFacts:
    cve = f"CVE-2026-{n:05d}"
    score = round(rng.uniform(2.0, 10.0), 1)
    kev = None
    if rng.random() < 0.05:
        first = products[0] if products else Affected("Acme", "Gizmo")
        kev = KevEntry(date(2026, 11, 27), None, "Apply updates.", None, first.vendor,
                       first.product, "Flaw")  # fmt: skip
    return VulnFacts(
        vuln_id=cve,
        affected=products,
        cvss=(CvssScore("3.1", None, score, None),),
        kev=kev,
        ssvc=(("Exploitation", rng.choice(["none", "poc", "active"])),)
        if rng.random() < 0.3
        else (),
    )


def make_stories(
    count: int, pairs: list[tuple[str, str]], mix: argparse.Namespace, rng: random.Random
) -> list[Evidence]:
    popular = mix.popular
    bulletins = mix.advisories + mix.bulletins
    news = 1.0 - mix.sector
    stories = []
    for n in range(count):
        kind = rng.random()
        vulns: tuple[VulnFacts, ...] = ()
        topics: tuple[str, ...] = (rng.choice(TOPICS),)
        sectors: tuple[str, ...] = ("all",)
        title = filler(rng, 60)
        text = filler(rng, rng.randint(1000, 2500))
        if kind < mix.advisories:  # one CVE record or vendor advisory
            vulns = tuple(
                vuln(rng, n * 10 + k, tuple(affected(rng, pairs, popular) for _ in range(2)))
                for k in range(rng.randint(1, 3))
            )
            named = vulns[0].affected[0]
            title = f"{named.vendor} {named.product}: {filler(rng, 40)}"
            text = filler(rng, rng.randint(400, 900))
            topics = ("vulnerability",)
        elif kind < bulletins:  # a CERT-FR-like bulletin: one vendor, 10 CVEs, 40 products
            vendor = rng.choice(pairs)[0]
            shared = tuple(affected(rng, pairs, popular, vendor) for _ in range(40))
            vulns = tuple(vuln(rng, n * 10 + k, shared) for k in range(10))
            topics = ("vulnerability",)
        elif kind < news:  # news, naming a product or a provider now and then
            if rng.random() < 0.3:
                vendor, product = rng.choice(pairs)
                text = f"{text[:500]} {vendor} {product} {text[500:]}"
            if rng.random() < 0.1:
                title = f"{rng.choice(PROVIDERS)} {title}"
        else:  # sector-wide
            topics = (rng.choice(["regulation", "phishing_fraud"]),)
            sectors = (rng.choice(SECTORS),) if rng.random() < 0.8 else ("all",)
        stories.append(
            Evidence(
                story_id=f"story-{n}",
                title=title,
                text=text,
                first_seen=NOW,
                topics=topics,
                sectors=sectors,
                severity=rng.choice(["info", "low", "medium", "high", "critical"]),
                cves=tuple(v.vuln_id for v in vulns),
                vulns=vulns,
                epss=tuple(
                    EpssScore(v.vuln_id, rng.random() ** 4, rng.random(), date(2026, 11, 27))
                    for v in vulns
                ),
            )
        )
    return stories


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=200)
    parser.add_argument("--assets", type=int, default=30)
    parser.add_argument("--items", type=int, default=20_000)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument(
        "--popular",
        type=float,
        default=0.25,
        help="share of advisory products drawn from the clients' product universe",
    )
    parser.add_argument("--advisories", type=float, default=0.15, help="share of CVE records")
    parser.add_argument("--bulletins", type=float, default=0.005, help="share of bulletins")
    parser.add_argument("--sector", type=float, default=0.03, help="share of sector stories")
    args = parser.parse_args()
    rng = random.Random(args.seed)
    pairs = vendor_products(rng)
    clients = make_clients(args.clients, args.assets, pairs, rng)
    stories = make_stories(args.items, pairs, args, rng)
    by_id = {c.id: c for c in clients}

    started, cpu = time.perf_counter(), time.process_time()
    lowered = [f"{s.title} {s.text}".lower() for s in stories]
    baseline_s, baseline_cpu = time.perf_counter() - started, time.process_time() - cpu

    started, cpu = time.perf_counter(), time.process_time()
    index = build_index(clients)
    index_s, index_cpu = time.perf_counter() - started, time.process_time() - cpu

    started, cpu = time.perf_counter(), time.process_time()
    lanes: Counter[str] = Counter()
    priorities: Counter[str] = Counter()
    touched = 0
    for story in stories:
        for client_id, found in concerned(index, story).items():
            touched += 1
            if found.concerned:
                lanes[found.lane] += 1
                priorities[decide(story, found, by_id[client_id], NOW).priority] += 1
    score_s, score_cpu = time.perf_counter() - started, time.process_time() - cpu

    figures = {
        "clients": args.clients,
        "assets_per_client": args.assets,
        "stories": len(stories),
        "products_from": "real KEV catalog" if KEV_PATH.is_file() else "built-in list",
        "text_chars": sum(len(t) for t in lowered),
        "index_s": round(index_s, 3),
        "index_cpu_s": round(index_cpu, 3),
        "score_s": round(score_s, 3),
        "score_cpu_s": round(score_cpu, 3),
        "per_story_cpu_us": round(score_cpu / len(stories) * 1e6, 1),
        "baseline_lower_s": round(baseline_s, 3),
        "baseline_lower_cpu_s": round(baseline_cpu, 3),
        "ratio_to_baseline_cpu": round(score_cpu / baseline_cpu, 1),
        "mix": {k: getattr(args, k) for k in ("advisories", "bulletins", "sector", "popular")},
        "client_story_pairs_touched": touched,
        "touched_share": round(touched / (len(stories) * len(clients)), 4),
        "lanes": dict(lanes),
        "priorities": dict(priorities),
        "ignored_terms": len(index.ignored),
        "target_s": TARGET_S,
        "within_target_cpu": index_cpu + score_cpu <= TARGET_S,
    }
    print(json.dumps(figures, indent=2, ensure_ascii=False))


if __name__ == "__main__":
    main()
