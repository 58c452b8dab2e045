"""Synthetic feeds for benchmarks: realistic sizes and markup, deterministic from a seed."""

from __future__ import annotations

import argparse
import multiprocessing
import random
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from typing import Any
from xml.sax.saxutils import escape

_VOCABULARY = """
security update vulnerability patch firewall exchange server ransomware attack cloud
microsoft fortinet synology wordpress plugin release version licence price support end
sécurité mise à jour vulnérabilité attaque correctif logiciel données protection
Sicherheit Schwachstelle Angriff Aktualisierung Daten Schutz Anbieter Dienst Ausfall
customers users administrators exploit remote code execution authentication bypass
"""
WORDS = _VOCABULARY.split()


def _sentence(rng: random.Random, n: int) -> str:
    return " ".join(rng.choice(WORDS) for _ in range(n)).capitalize() + "."


def entry_html(rng: random.Random, target_bytes: int) -> str:
    """Paragraphs, a list and links, until about `target_bytes` of HTML."""
    parts: list[str] = []
    size = 0
    while size < target_bytes:
        kind = rng.random()
        if kind < 0.6:
            href = f"https://example.org/{rng.randint(1, 10**6)}?utm_source=rss"
            words = _sentence(rng, rng.randint(12, 30))
            chunk = f'<p>{words} <a href="{href}">{rng.choice(WORDS)}</a></p>'
        elif kind < 0.8:
            items = "".join(f"<li>{_sentence(rng, 6)}</li>" for _ in range(3))
            chunk = f"<ul>{items}</ul>"
        else:
            chunk = f"<p><strong>{_sentence(rng, 5)}</strong> <em>{_sentence(rng, 8)}</em></p>"
        parts.append(chunk)
        size += len(chunk)
    return "".join(parts)


def rss_feed(index: int, entries: int, seed: int = 7) -> bytes:
    """An RSS 2.0 feed of `entries` items with 1-3 KB of HTML each."""
    rng = random.Random(seed * 100_003 + index)
    base = datetime(2026, 11, 27, tzinfo=UTC)
    items = []
    for n in range(entries):
        published = format_datetime(base - timedelta(hours=n * 3 + index % 7))
        html = entry_html(rng, rng.randint(1000, 3000))
        title = escape(_sentence(rng, rng.randint(5, 11)))
        items.append(
            f"<item><title>{title}</title>"
            f"<link>https://news{index}.example.org/articles/{n}?utm_medium=rss</link>"
            f'<guid isPermaLink="false">feed{index}-entry{n}</guid>'
            f"<pubDate>{published}</pubDate>"
            f"<description>{escape(html)}</description></item>"
        )
    body = "".join(items)
    return (
        f'<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel>'
        f"<title>Bench feed {index}</title><link>https://news{index}.example.org/</link>"
        f"<description>Synthetic feed {index}</description>{body}</channel></rss>"
    ).encode()


def sources_yaml(base_url: str, feeds: int, concurrency: int) -> str:
    """The sources.yml of the ingestion bench: one feed source per generated feed."""
    lines = [
        "settings:",
        "  allow_private_networks: true",
        f"  concurrency: {concurrency}",
        "sources:",
    ]
    for i in range(feeds):
        lines += [
            f"  - id: bench-{i}",
            f"    name: Bench feed {i}",
            "    kind: feed",
            f"    url: {base_url}/feed{i}.rss",
            "    category: press",
        ]
    return "\n".join(lines) + "\n"


def start_feed_server(
    feeds: int, entries: int, latency: tuple[float, float]
) -> tuple[multiprocessing.process.BaseProcess, str]:
    """A feed server process for a benchmark, and its base URL: `feeds` feeds of `entries`
    entries at /feed{i}.rss, each answer delayed by `latency` seconds (min, max). Its own
    process, so that its threads take nothing from the measured one; `terminate()` it."""
    ctx = multiprocessing.get_context("spawn")
    port_q = ctx.Queue()
    server = ctx.Process(target=_serve_forever, args=(feeds, entries, latency, port_q), daemon=True)
    server.start()
    return server, port_q.get(timeout=120)


def _serve_forever(feeds: int, entries: int, latency: tuple[float, float], port_q: Any) -> None:
    import time

    from techwatch.demo.server import Site, serve

    site = Site(
        documents={f"/feed{i}.rss": rss_feed(i, entries) for i in range(feeds)}, latency_s=latency
    )
    with serve(site) as base_url:
        port_q.put(base_url)
        while True:
            time.sleep(3600)


def add_workload_arguments(parser: argparse.ArgumentParser) -> None:
    """The served workload of issue 2's benchmark, the same options for every feed bench."""
    parser.add_argument("--feeds", type=int, default=500)
    parser.add_argument("--entries", type=int, default=30)
    parser.add_argument("--concurrency", type=int, default=50)
    parser.add_argument("--latency-ms", type=float, nargs=2, default=(20.0, 50.0))
    parser.add_argument("--batch-size", type=int, default=100)
