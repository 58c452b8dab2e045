"""Whether a newly trained model replaces the current one, judged on the same held-out examples.

Models are never trained on the held-out part of their data (model.split: a stable hash of each
example's id), so a candidate and the current model are measured on examples neither has seen,
as long as the current one was trained under the same held-out policy and seed; when it was
not, it may have seen some of them, and the decision says so.

The rule: the candidate is promoted when none of the GATE metrics is below the current model's
by more than TOLERANCE, half a point, which is within the noise of a few hundred held-out
examples. Topics micro-F1 and sectors micro-F1 say whether items reach the right clients,
severity within-one whether their urgency is about right. A rejected candidate is saved all
the same (for inspection or a manual `techwatch model use`), only not marked current; the
previous versions always stay on disk for rollback.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, Final

from techwatch.classify import artefact, training
from techwatch.classify.corpus import Example
from techwatch.classify.evaluate import evaluate
from techwatch.classify.model import HELDOUT_POLICY, Model, split
from techwatch.classify.predict import classify

GATE: Final = (("topics", "micro_f1"), ("sectors", "micro_f1"), ("severity", "within_one"))
TOLERANCE: Final = 0.005


@dataclass(frozen=True)
class Measured:
    """The current model's gate metrics on the candidate's held-out examples."""

    version: str | None
    metrics: dict[str, float] = field(default_factory=dict)
    caveat: str | None = None  # why the comparison may be unfair, or why there is none


@dataclass(frozen=True)
class Decision:
    """Promote or not, and why, with both models' gate metrics."""

    promote: bool
    reasons: tuple[str, ...]
    candidate: dict[str, float]
    current: dict[str, float] | None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def gate_metrics(metrics: Mapping[str, Any]) -> dict[str, float]:
    """{"topics.micro_f1": 0.85, ...} for the GATE metrics present in an evaluation report."""
    found = {}
    for axis, name in GATE:
        value = metrics.get(axis, {}).get(name)
        if value is not None:
            found[f"{axis}.{name}"] = float(value)
    return found


def heldout(data: training.TrainingData, *, seed: int) -> list[Example]:
    """The examples every model of this data is measured on (consultants' labels never are)."""
    return split(data.examples, seed=seed)[1]


def measure_current(models: Path, examples: Sequence[Example], *, seed: int) -> Measured:
    """Evaluate the current model on `examples`; say when there is none or it may have seen them."""
    try:
        model = artefact.load(folder) if (folder := artefact.current_folder(models)) else None
    except artefact.ArtefactError as error:
        return Measured(None, caveat=f"the current model cannot be used: {error}")
    if model is None:
        return Measured(None, caveat="there is no current model")
    metrics = evaluate(examples, classify(model, [e.document for e in examples]))
    return Measured(model.version, gate_metrics(metrics), _fairness(model, seed))


def decide(candidate: Mapping[str, Any], current: Measured) -> Decision:
    """The promotion rule on the candidate's held-out metrics and the current model's (pure)."""
    mine = gate_metrics(candidate)
    if current.version is None:
        return Decision(True, (f"promoted: {current.caveat}",), mine, None)
    reasons: list[str] = []
    worse = False
    for key, value in mine.items():
        theirs = current.metrics.get(key)
        if theirs is None:
            reasons.append(f"{key}: {value:.3f}, the current model has no figure to compare")
        elif value < theirs - TOLERANCE:
            worse = True
            reasons.append(f"{key}: {value:.3f} is worse than the current {theirs:.3f}")
        else:
            reasons.append(f"{key}: {value:.3f} against the current {theirs:.3f}")
    if current.caveat:
        reasons.append(current.caveat)
    verdict = "kept the current model" if worse else "promoted"
    return Decision(not worse, (verdict, *reasons), mine, dict(current.metrics))


def keep(models: Path, candidate: Model, decision: Decision, *, now: datetime) -> dict[str, Any]:
    """Save the candidate as a new version, current only if promoted; the others stay."""
    previous = artefact.current_folder(models)
    version = training.save(models, candidate, now=now, make_current=decision.promote)
    return {
        "candidate": version,
        "promoted": decision.promote,
        "current": version if decision.promote else (previous.name if previous else None),
        "previous": previous.name if previous else None,
    }


def _fairness(model: Model, seed: int) -> str | None:
    held = model.metadata.get("heldout", {})
    if held.get("policy") == HELDOUT_POLICY and held.get("seed") == seed:
        return None
    return (
        f"the current model {model.version} was trained under another held-out split: it may "
        "have seen some of these examples, so its figures may be optimistic"
    )
