"""enrich.warm: what an import's parse workers load before their enrichment work."""

from __future__ import annotations

import json
import subprocess
import sys

from techwatch.enrich import warm


def test_ready_names_the_modules_the_workers_compute_with() -> None:
    assert warm.ready() == ("techwatch.enrich.cverows", "techwatch.enrich.mentions")


def test_loading_it_brings_arrow_and_the_enrichment_but_not_the_store() -> None:
    """A worker loads what the CVE rows and mentions need, not the store (duckdb, readers),
    which enrich.refresh would bring (~0.6 s of a worker's CPU)."""
    code = (
        "import json, sys, techwatch.enrich.warm; "
        "print(json.dumps(sorted(m for m in sys.modules if m.split('.')[0] in "
        "('pyarrow', 'duckdb', 'techwatch'))))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, check=True, text=True)
    loaded = set(json.loads(out.stdout))
    assert {"pyarrow", "techwatch.enrich.cverows", "techwatch.enrich.mentions"} <= loaded
    assert not {"duckdb", "techwatch.storage", "techwatch.enrich.refresh"} & loaded
