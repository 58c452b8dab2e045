"""The schedules: `techwatch serve`'s deployments (built, not served) and prefect.yaml agree."""

from __future__ import annotations

import importlib
from pathlib import Path

import pytest
from prefect.cli.deploy._models import PrefectYamlModel
from prefect.client.schemas.objects import ConcurrencyLimitStrategy
from ruamel.yaml import YAML

from pipelines.serve import deployments
from techwatch.settings import resolve_paths

ROOT = Path(__file__).resolve().parents[2]
EXPECTED = {
    # deployment: (flow name, entrypoint, cron, collision strategy)
    "nightly": ("techwatch-ingest", "pipelines/ingest.py:ingest_flow", "0 2 * * *", "CANCEL_NEW"),
    "morning": (
        "techwatch-briefings", "pipelines/briefings.py:briefings_flow", "30 6 * * *", "ENQUEUE",
    ),
    "weekly": ("techwatch-train", "pipelines/train.py:train_flow", "30 3 * * 0", "CANCEL_NEW"),
}  # fmt: skip


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> dict[str, object]:
    home = tmp_path_factory.mktemp("home")
    return {d.name: d for d in deployments(resolve_paths(home=home, env={}))}


def test_serve_builds_three_deployments_on_zurich_time(served: dict[str, object]) -> None:
    assert set(served) == set(EXPECTED)
    for name, (flow, entrypoint, cron, strategy) in EXPECTED.items():
        deployment = served[name]
        assert deployment.flow_name == flow  # type: ignore[attr-defined]
        assert deployment.entrypoint == entrypoint  # type: ignore[attr-defined]
        [schedule] = deployment.schedules  # type: ignore[attr-defined]
        assert (schedule.schedule.cron, schedule.schedule.timezone) == (cron, "Europe/Zurich")
        assert schedule.active
        # One run of a flow at a time; the collision strategy says what a late one does.
        assert deployment.concurrency_limit == 1  # type: ignore[attr-defined]
        options = deployment.concurrency_options  # type: ignore[attr-defined]
        assert options.collision_strategy == ConcurrencyLimitStrategy(strategy)


def test_served_parameters_point_at_the_store(
    served: dict[str, object], tmp_path_factory: pytest.TempPathFactory
) -> None:
    nightly = served["nightly"].parameters  # type: ignore[attr-defined]
    morning = served["morning"].parameters  # type: ignore[attr-defined]
    assert nightly["db_path"] == morning["db_path"]
    assert nightly["db_path"].endswith("var/techwatch.duckdb")
    assert morning["var_path"].endswith("var")
    assert served["weekly"].parameters["models_path"].endswith("var/models")  # type: ignore[attr-defined]


def test_prefect_yaml_declares_the_same_deployments() -> None:
    raw = YAML(typ="safe").load((ROOT / "prefect.yaml").read_text())
    model = PrefectYamlModel.model_validate(raw)  # Prefect's own reading of the file
    assert {d.name for d in model.deployments} == set(EXPECTED)
    for entry in raw["deployments"]:
        flow, entrypoint, cron, strategy = EXPECTED[entry["name"]]
        assert entry["entrypoint"] == entrypoint
        assert entry["schedules"] == [{"cron": cron, "timezone": "Europe/Zurich"}]
        assert entry["concurrency_limit"] == {"limit": 1, "collision_strategy": strategy}
        assert entry["work_pool"]["name"] == "techwatch"
        path, _, name = entrypoint.partition(":")
        module = importlib.import_module(path.removesuffix(".py").replace("/", "."))
        assert getattr(module, name).name == flow
        # Every parameter is one the flow takes.
        assert set(entry["parameters"]) <= set(getattr(module, name).parameters.properties)
