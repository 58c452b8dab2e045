"""What a training learns from, and training a new model version from it.

Labelled data comes from six origins, counted in the model's metadata (held-out rows included):

    seed           the hand-written corpus in the repository
    realdata:*     real labelled advisories (../shared/realdata/labeled, realdata.py), capped,
                   when a folder is given: the default model's and `model train`'s
    realnews       the DEV half and the train part (few of its off_topic items) of the
                   hand-labelled real news items (realnews.py), read from the same realdata
                   folder: always trained on, never
                   held out (few and precious; their TEST half is the held-out measure,
                   bench/classify_realnews.py)
    weak:*         advisories in the store that label themselves (weak.py)
    consultant     consultants' labels (`techwatch items label`): always trained on, never
                   held out, since each was given so that the next model learns it
    labels-files   JSON Lines files given with --labels

A consultant's label of an item that is also a weak example overrides it axis by axis.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from pathlib import Path
from typing import Any

from techwatch import labelling
from techwatch.classify import artefact, realdata, realnews
from techwatch.classify.corpus import Example, read_examples, seed_files
from techwatch.classify.documents import DOCUMENT_CHARS, example_id, item_document
from techwatch.classify.model import HASH_BITS, Model, new_version, train
from techwatch.classify.weak import READ_CHARS, READ_FACTOR, WEAK_CAP, WeakExample, harvest
from techwatch.storage import open_reader


@dataclass(frozen=True)
class TrainingData:
    """Examples to split into training and held-out parts, and examples only to train on."""

    examples: list[Example]
    train_only: list[Example] = field(default_factory=list)
    origins: dict[str, int] = field(default_factory=dict)
    sources: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class StoreLabels:
    """What the store holds for training: weak examples and consultants' labelled items."""

    weak: list[WeakExample] = field(default_factory=list)
    labelled: list[Mapping[str, Any]] = field(default_factory=list)  # item rows
    history: Mapping[str, list[Mapping[str, Any]]] = field(default_factory=dict)


def gather(
    db_path: Path | None,
    label_files: Sequence[Path] = (),
    *,
    include_seed: bool = True,
    weak_cap: int = WEAK_CAP,
    realdata_folder: Path | None = None,
    realnews_labels: Path = realnews.LABELS,
) -> TrainingData:
    """Seed corpus, --labels files, real labelled advisories and news items (DEV half, labels
    in `realnews_labels`, items under the folder's parent) when `realdata_folder` is given,
    and, when the database exists, its weak and consultant labels."""
    seed = seed_files() if include_seed else []
    files = read_examples([*seed, *label_files])  # ids unique across all files
    seeded = len(read_examples(seed))
    origins = ["seed"] * seeded + ["labels-files"] * (len(files) - seeded)
    sources = [*map(str, seed), *map(str, label_files)]
    news: list[Example] = []
    if realdata_folder is not None:
        taken = {e.document.id for e in files}  # a --labels file may hold the same rows
        for name, examples in realdata.for_training(realdata.load(realdata_folder)).items():
            fresh = [e for e in examples if e.document.id not in taken]
            files, origins = [*files, *fresh], [*origins, *[f"realdata:{name}"] * len(fresh)]
        news = realnews.for_training(realdata_folder.parent, realnews_labels)
        news = [e for e in news if e.document.id not in taken]
        news_files = [str(realnews_labels), str(realnews.TRAIN_LABELS)]
        sources += [str(realdata_folder), *(news_files if news else [])]
    store = StoreLabels()
    if db_path is not None and db_path.is_file():
        store = read_store(db_path, weak_cap)
    return combine(files, origins, store, sources, news=news)


def read_store(db_path: Path, weak_cap: int) -> StoreLabels:
    """Weak examples (a capped, balanced draw) and consultants' labels from the store."""
    with open_reader(db_path) as reader:
        rows = reader.weak_candidates(per_kind=weak_cap * READ_FACTOR, text_chars=READ_CHARS)
        labelled = reader.labelled_documents(DOCUMENT_CHARS)
        history = reader.label_history()
    return StoreLabels(harvest(rows, cap=weak_cap), labelled, history)


def combine(
    files: Sequence[Example],
    file_origins: Sequence[str],
    store: StoreLabels,
    sources: Sequence[str] = (),
    *,
    news: Sequence[Example] = (),
) -> TrainingData:
    """Put the origins together; consultants' labels override weak ones on the axes they say.

    `news` (realnews DEV and train items) train only, as consultants' labels do: held out, a
    fifth of them would not teach (TEST topics micro-F1 0.651 held out, 0.657 all trained; sectors
    macro-F1 0.245 -> 0.321)."""
    consultant = [_consultant_example(row, store.history[row["id"]]) for row in store.labelled]
    overridden = {e.document.id for e in consultant}
    weak = [w for w in store.weak if w.example.document.id not in overridden]
    weak_by_id = {w.example.document.id: w.example for w in store.weak}
    train_only = [_over(e, weak_by_id.get(e.document.id)) for e in consultant]
    train_only = [e for e in train_only if any(e.knows(axis) for axis in labelling.AXES)]
    origins = Counter([*file_origins, *(w.origin for w in weak)])
    origins["consultant"] = len(train_only)
    origins[realnews.ORIGIN] = len(news)
    return TrainingData(
        examples=[*files, *(w.example for w in weak)],
        train_only=[*train_only, *news],
        origins={k: v for k, v in sorted(origins.items()) if v},
        sources=[*sources, *(["store"] if store.weak or store.labelled else [])],
    )


def train_model(
    data: TrainingData, *, now: datetime, seed: int = 0, bits: int = HASH_BITS
) -> Model:
    """Train (held-out part measured, never trained on) and record the counts per origin."""
    model = train(
        data.examples,
        now=now,
        seed=seed,
        sources=data.sources,
        bits=bits,
        train_only=data.train_only,
    )
    return replace(model, metadata={**model.metadata, "origins": data.origins})


def save(models: Path, model: Model, *, now: datetime, make_current: bool) -> str:
    """Save as a new version (never overwriting one); mark it current when asked."""
    folder, n = models / new_version(now), 1
    while folder.exists():
        n += 1
        folder = models / f"{new_version(now)}-{n}"
    artefact.save(model, folder)
    if make_current:
        artefact.mark_current(models, folder.name)
    return folder.name


def _consultant_example(item: Mapping[str, Any], history: Sequence[Mapping[str, Any]]) -> Example:
    said = labelling.effective_labels(None, [labelling.consultant_label(r) for r in history])
    document = item_document(item, example_id(item["id"]))
    return Example(document, said.topics, said.sectors, said.severity)


def _over(consultant: Example, weak: Example | None) -> Example:
    """The consultant's axes, and the weak example's on the axes the consultant did not say."""
    if weak is None:
        return consultant
    return replace(
        consultant,
        **{axis: getattr(weak, axis) for axis in labelling.AXES if not consultant.knows(axis)},
    )
