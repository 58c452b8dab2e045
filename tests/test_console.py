"""The console script's target module must stay free of imports (see techwatch.console)."""

from __future__ import annotations

import subprocess
import sys
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _script_target() -> tuple[str, str]:
    scripts = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"][
        "scripts"
    ]
    module, _, function = scripts["techwatch"].partition(":")
    return module, function


def test_importing_the_script_target_does_not_import_the_cli() -> None:
    # Each parse worker re-imports the script that started the program, and so this module.
    module, _ = _script_target()
    code = (
        f"import sys, {module}; print(sorted(m for m in sys.modules if m.startswith('techwatch')))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=ROOT
    ).stdout
    assert "techwatch.cli" not in out
    assert module in out


def test_the_script_target_runs_the_cli() -> None:
    module, function = _script_target()
    code = (
        "import sys; sys.argv = ['techwatch', '--help']; "
        f"from {module} import {function}; {function}()"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT)
    assert done.returncode == 0, done.stderr
    assert "sources" in done.stdout and "items" in done.stdout
