"""The demo's publisher: bundled feeds, a missing one (404) and a flaky one (503)."""

from __future__ import annotations

from pathlib import Path

from techwatch.demo.server import Site

FEEDS = Path(__file__).parent / "feeds"
SOURCES_TEMPLATE = Path(__file__).parent / "sources.yml"
#: A fixed port keeps the demo's URLs, hence its conditional-GET validators, stable across runs.
PREFERRED_PORT = 8931


def demo_site() -> Site:
    site = Site.from_folder(FEEDS)
    site.gone.add("/gone.rss")
    site.unavailable["/flaky.rss"] = 3600
    return site


def write_demo_sources(target: Path, base_url: str) -> Path:
    """Instantiate the demo sources.yml for the server's address."""
    target.parent.mkdir(parents=True, exist_ok=True)
    text = SOURCES_TEMPLATE.read_text(encoding="utf-8").replace("{base_url}", base_url)
    target.write_text(text, encoding="utf-8")
    return target
