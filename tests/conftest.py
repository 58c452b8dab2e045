"""Shared fixtures: the real-data corpus (skipped when absent) and an injected clock."""

from __future__ import annotations

import os
from datetime import UTC, datetime
from pathlib import Path

import pytest
from hypothesis import settings

# CI explores the same examples every time, so a red build always means a changed behaviour;
# runs on a developer's machine keep drawing new examples to find new counterexamples.
settings.register_profile("ci", derandomize=True, print_blob=True)
if os.environ.get("CI"):
    settings.load_profile("ci")

_DEFAULT_REALDATA = Path(__file__).resolve().parents[2] / "shared" / "realdata"
REALDATA = Path(os.environ.get("TECHWATCH_REALDATA", _DEFAULT_REALDATA))


@pytest.fixture(scope="session")
def realdata() -> Path:
    """Path to ../shared/realdata; tests that need it are skipped cleanly when it is absent."""
    if not REALDATA.is_dir():
        pytest.skip(f"real-data corpus not found at {REALDATA}")
    return REALDATA


@pytest.fixture
def now() -> datetime:
    """A fixed, timezone-aware clock for pure decisions."""
    return datetime(2026, 11, 28, 3, 0, tzinfo=UTC)


def pytest_itemcollected(item: pytest.Item) -> None:
    """Under pytest-xdist (`--dist loadgroup`), the tests of a real Prefect API run in one
    worker: the harness's server then starts once, not once per worker. (Marked as each test
    is collected: xdist reads the groups in its own pytest_collection_modifyitems.)"""
    if "prefect_api" in getattr(item, "fixturenames", ()):
        item.add_marker(pytest.mark.xdist_group("prefect"))
