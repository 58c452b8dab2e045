"""Training flow: labelled data -> fit -> evaluate on held-out data -> promote only if not worse.

The flow only orchestrates: every task body is one call into techwatch.classify. The rule and
its reasons live in techwatch/classify/promote.py; the candidate is always saved, and marked
current only when promoted, so the previous model stays for rollback either way.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from prefect import flow, get_run_logger, task
from prefect.cache_policies import NONE
from prefect.utilities.annotations import quote

from pipelines.ingest import db_task
from techwatch.classify import promote, realdata, training
from techwatch.classify.corpus import Example
from techwatch.classify.model import HASH_BITS, Model


@db_task
def gather(db_path: Path, label_files: Sequence[Path], include_seed: bool) -> training.TrainingData:
    folder = realdata.default_folder() if include_seed else None
    return training.gather(db_path, label_files, include_seed=include_seed, realdata_folder=folder)


@task(cache_policy=NONE)
def fit(data: training.TrainingData, seed: int, bits: int) -> Model:
    return training.train_model(data, now=datetime.now(UTC), seed=seed, bits=bits)


@task(cache_policy=NONE)
def heldout(data: training.TrainingData, seed: int) -> list[Example]:
    return promote.heldout(data, seed=seed)


@task(cache_policy=NONE)
def measure_current(models_path: Path, examples: list[Example], seed: int) -> promote.Measured:
    return promote.measure_current(models_path, examples, seed=seed)


@task(cache_policy=NONE)
def decide(candidate: Model, current: promote.Measured) -> promote.Decision:
    return promote.decide(candidate.metadata["metrics"], current)


@task(cache_policy=NONE)
def keep(models_path: Path, candidate: Model, decision: promote.Decision) -> dict[str, Any]:
    return promote.keep(models_path, candidate, decision, now=datetime.now(UTC))


@flow(name="techwatch-train", log_prints=False)
def train_flow(
    db_path: Path,
    models_path: Path,
    label_files: list[Path] | None = None,
    seed: int = 0,
    bits: int = HASH_BITS,
    include_seed: bool = True,
) -> dict[str, Any]:
    """Train a candidate on seed + real data + store + consultants' labels; promote if not worse.

    `label_files` add labelled JSON Lines files; `bits` sizes the hashed feature spaces and
    `include_seed` False leaves out the bundled corpora: the seed corpus and the real labelled
    advisories of ../shared/realdata (small models for tests and experiments).
    """
    logger = get_run_logger()
    data = gather(db_path, label_files or [], include_seed)
    candidate = fit(quote(data), seed, bits)
    examples = heldout(quote(data), seed)
    current = measure_current(models_path, quote(examples), seed)
    decision = decide(quote(candidate), current)
    kept = keep(models_path, quote(candidate), decision)
    logger.info("model %s: %s", kept["candidate"], "; ".join(decision.reasons))
    return {
        **kept,
        "reasons": list(decision.reasons),
        "metrics": {"candidate": decision.candidate, "current": decision.current},
        "heldout": len(examples),
        "origins": data.origins,
    }
