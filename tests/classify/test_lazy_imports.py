"""scikit-learn stays out of a process that has no model to apply (~100 MiB of an ingestion run).

Each check runs in a fresh interpreter: this test process has imported scikit-learn already.
"""

from __future__ import annotations

import importlib
import subprocess
import sys
from pathlib import Path

import pytest

HEAVY = ("sklearn", "scipy", "skops")


def _loaded_after(code: str) -> list[str]:
    loaded = f"','.join(m for m in {HEAVY!r} if m in sys.modules)"
    probe = f"{code}\nimport sys\nprint('loaded:' + {loaded})"
    done = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True, timeout=120
    )
    last = done.stdout.strip().splitlines()[-1]
    assert last.startswith("loaded:"), done.stdout
    return [m for m in last.removeprefix("loaded:").split(",") if m]


@pytest.mark.parametrize(
    "code",
    [
        "import techwatch.classify",
        "import techwatch.classify.apply",
        "from techwatch.classify import Document, evaluate, read_examples",
        "import pipelines.ingest",
    ],
)
def test_importing_does_not_load_scikit_learn(code: str) -> None:
    assert _loaded_after(code) == []


def test_a_run_without_a_model_never_loads_scikit_learn(tmp_path: Path) -> None:
    code = (
        "from datetime import UTC, datetime\n"
        "from pathlib import Path\n"
        "from techwatch.classify.apply import classify_new_items\n"
        f"r = classify_new_items(Path({str(tmp_path / 'x.duckdb')!r}), "
        f"Path({str(tmp_path / 'models')!r}), since=datetime.now(UTC), train_default=False)\n"
        "assert r.skipped and r.classified == 0, r"
    )
    assert _loaded_after(code) == []


def test_the_facade_names_still_resolve() -> None:
    from techwatch import classify as clf
    from techwatch.classify.model import Model
    from techwatch.classify.predict import classify

    module = importlib.import_module("techwatch.classify.evaluate")  # the submodule, imported
    assert clf.Model is Model and clf.classify is classify
    assert clf.evaluate is module.evaluate  # still the function, not the submodule
    with pytest.raises(AttributeError):
        _ = clf.no_such_name


def test_a_night_with_nothing_new_does_not_load_the_model(tmp_path: Path) -> None:
    """An unchanged night classifies nothing: the current model is named, never loaded (its
    folder here holds only metadata, so loading it would fail)."""
    models = tmp_path / "models"
    (models / "v1").mkdir(parents=True)
    (models / "v1" / "metadata.json").write_text('{"version": "v1"}', encoding="utf-8")
    (models / "current").write_text("v1\n", encoding="utf-8")
    db = tmp_path / "x.duckdb"
    code = (
        "from datetime import UTC, datetime\n"
        "from pathlib import Path\n"
        "from techwatch.storage import open_writer\n"
        "from techwatch.classify.apply import classify_new_items\n"
        f"db = Path({str(db)!r})\n"
        "with open_writer(db):\n"
        "    pass\n"
        f"r = classify_new_items(db, Path({str(models)!r}), since=datetime.now(UTC), "
        "train_default=False)\n"
        "assert (r.model_version, r.classified, r.skipped) == ('v1', 0, None), r"
    )
    assert _loaded_after(code) == []
