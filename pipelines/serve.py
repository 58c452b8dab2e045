"""One long-running process serving the deployments on their schedules (`techwatch serve`).

    techwatch-ingest     02:00 Europe/Zurich, nightly
    techwatch-briefings  06:30 Europe/Zurich, daily; each client's cadence is applied inside
                         the flow, which then mails the advisor the run report
    techwatch-train      Sunday 03:30 Europe/Zurich

Overlap. Each deployment has a Prefect concurrency limit of 1, which the Prefect server
enforces when a run is about to start (for served and worker runs alike): a nightly run that
finds the previous one still running is cancelled (the next night catches up, every due
source is fetched then), a morning run waits for its turn (clients must get their email).
The hard guarantee is our own run lock (`<db>.lock`, techwatch.runlock): two writers of one
database never run together, whatever started them, with or without a Prefect server.

Paths come from the environment as for every command (TECHWATCH_HOME, TECHWATCH_DB, ...),
resolved once when the process starts; `prefect.yaml` declares the same deployments for a
Prefect server with workers.
"""

from __future__ import annotations

from typing import Any

from prefect import serve
from prefect.client.schemas.objects import ConcurrencyLimitConfig, ConcurrencyLimitStrategy
from prefect.schedules import Cron

from pipelines.briefings import briefings_flow
from pipelines.ingest import ingest_flow
from pipelines.train import train_flow
from techwatch.settings import Paths, resolve_paths

ZONE = "Europe/Zurich"
INGEST_CRON = "0 2 * * *"
BRIEFINGS_CRON = "30 6 * * *"
TRAIN_CRON = "30 3 * * 0"


def _one_at_a_time(strategy: ConcurrencyLimitStrategy) -> ConcurrencyLimitConfig:
    return ConcurrencyLimitConfig(limit=1, collision_strategy=strategy)


def deployments(where: Paths) -> list[Any]:
    """The three deployments over the store at `where` (built, not yet served)."""
    cancel, enqueue = ConcurrencyLimitStrategy.CANCEL_NEW, ConcurrencyLimitStrategy.ENQUEUE
    return [
        ingest_flow.to_deployment(
            name="nightly",
            schedule=Cron(INGEST_CRON, timezone=ZONE),
            concurrency_limit=_one_at_a_time(cancel),
            parameters={
                "sources_path": str(where.sources),
                "db_path": str(where.db),
                "models_path": str(where.var / "models"),
                "clients_path": str(where.clients),
                "lock_wait_s": 60.0,
            },
        ),
        briefings_flow.to_deployment(
            name="morning",
            schedule=Cron(BRIEFINGS_CRON, timezone=ZONE),
            concurrency_limit=_one_at_a_time(enqueue),
            parameters={
                "db_path": str(where.db),
                "clients_path": str(where.clients),
                "var_path": str(where.var),
            },
        ),
        train_flow.to_deployment(
            name="weekly",
            schedule=Cron(TRAIN_CRON, timezone=ZONE),
            concurrency_limit=_one_at_a_time(cancel),
            parameters={"db_path": str(where.db), "models_path": str(where.var / "models")},
        ),
    ]


def main(where: Paths | None = None) -> None:
    """Serve the deployments until interrupted (Ctrl-C pauses their schedules)."""
    serve(*deployments(where or resolve_paths()))


if __name__ == "__main__":
    main()
