"""`techwatch serve`: the nightly, morning and weekly schedules in one long-running process."""

from __future__ import annotations

from techwatch.cli.options import ClientsDir, Db, Home, SourcesFile, paths
from techwatch.cli.runs import prepare_prefect


def serve(
    home: Home = None, db: Db = None, sources: SourcesFile = None, clients: ClientsDir = None
) -> None:
    """Serve the deployments until Ctrl-C: ingestion at 02:00, briefings and emails at 06:30,
    training on Sundays at 03:30 (Europe/Zurich). See pipelines/serve.py."""
    where = paths(home, db, sources, clients)
    prepare_prefect(where, verbose=True)
    from pipelines.serve import main

    main(where)
