"""Paths: option over environment over default."""

from __future__ import annotations

from pathlib import Path

from techwatch.settings import resolve_paths


def test_defaults_live_under_home(tmp_path: Path) -> None:
    paths = resolve_paths(home=tmp_path, env={})
    assert paths.db == tmp_path / "var" / "techwatch.duckdb"
    assert paths.sources == tmp_path / "sources.yml"
    assert paths.run_lock.parent == paths.db.parent


def test_environment_applies_when_no_option(tmp_path: Path) -> None:
    env = {"TECHWATCH_HOME": str(tmp_path), "TECHWATCH_DB": str(tmp_path / "x.duckdb")}
    paths = resolve_paths(env=env)
    assert paths.home == tmp_path
    assert paths.db == tmp_path / "x.duckdb"


def test_option_wins_over_environment(tmp_path: Path) -> None:
    env = {"TECHWATCH_DB": str(tmp_path / "env.duckdb"), "TECHWATCH_SOURCES": "/nowhere.yml"}
    paths = resolve_paths(db=tmp_path / "opt.duckdb", sources=tmp_path / "s.yml", env=env)
    assert paths.db == tmp_path / "opt.duckdb"
    assert paths.sources == tmp_path / "s.yml"
