"""`techwatch classify` and `techwatch model ...`: label items, train, inspect and evaluate models.

Models live under <home>/var/models/<version>/ with a `current` marker file next to them.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.progress import Progress, TextColumn, TimeElapsedColumn

from techwatch.cli import output
from techwatch.cli.options import Db, Home, Json, SourcesFile, paths
from techwatch.files import write_atomically

if TYPE_CHECKING:
    from techwatch import classify as clf

# scikit-learn and skops take over a second to import: only the commands that need them do,
# so that `techwatch --help` and the other commands stay quick.

app = typer.Typer(
    help="Train, inspect and evaluate the classification model.", no_args_is_help=True
)

LabelsFiles = Annotated[
    list[Path] | None,
    typer.Option("--labels", help="Labels file (JSON Lines); repeat for several.", dir_okay=False),
]


def classify(
    input_file: Annotated[
        Path, typer.Option("--input", help="JSON Lines: id, title, text, language.")
    ],
    output_file: Annotated[
        Path, typer.Option("--output", help="JSON Lines written: one per input line.")
    ],
    home: Home = None,
    db: Db = None,
    sources: SourcesFile = None,
) -> None:
    """Label items on topics, sectors and severity with the current model."""
    from techwatch import classify as clf

    documents = _read(lambda: clf.read_documents(input_file))
    model = _current_or_default(_models(home, db, sources))
    lines = [json.dumps(p.to_json(), ensure_ascii=False) for p in clf.classify(model, documents)]
    write_atomically(output_file, "".join(line + "\n" for line in lines))
    output.err.print(f"{len(lines)} items classified with model {model.version}", highlight=False)


@app.command("train")
def train(
    labels: LabelsFiles = None,
    out: Annotated[
        Path | None, typer.Option("--out", help="Models folder (default: var/models).")
    ] = None,
    seed: Annotated[int, typer.Option("--seed", help="Random seed of splits and folds.")] = 0,
    home: Home = None,
    db: Db = None,
    sources: SourcesFile = None,
    json: Json = False,
) -> None:
    """Train on the seed corpus, the real labelled advisories when ../shared/realdata is there,
    the store's weak and consultants' labels and --labels files; save a new version and make
    it current."""
    from techwatch import classify as clf
    from techwatch.classify import realdata, training

    where = paths(home, db, sources)
    models = out or where.var / "models"
    for path in labels or []:
        _read(lambda path=path: clf.read_examples([path]))  # usage errors before a long training
    folder = realdata.default_folder()
    data = _read(lambda: training.gather(where.db, labels or [], realdata_folder=folder))
    counts = ", ".join(f"{origin} {n}" for origin, n in data.origins.items())
    output.err.print(f"training on {counts}...", highlight=False)
    now = datetime.now(UTC)
    model = training.train_model(data, now=now, seed=seed)
    version = training.save(models, model, now=now, make_current=True)
    _show_info({**model.metadata, "version": version}, as_json=json)


@app.command("apply")
def apply(
    every: Annotated[
        bool, typer.Option("--all", help="Reclassify every item, not only those that need it.")
    ] = False,
    home: Home = None,
    db: Db = None,
    sources: SourcesFile = None,
    json: Json = False,
) -> None:
    """Classify the items of the store with the current model (after a retrain, a rollback...).

    Without --all, only items the current model has not classified as they are now.
    """
    from techwatch.classify.apply import apply_model
    from techwatch.storage import open_reader

    where = paths(home, db, sources)
    model = _current_or_default(where.var / "models")
    with _progress(json) as advance:
        report = apply_model(where.db, model, now=datetime.now(UTC), every=every, on_batch=advance)
    with open_reader(where.db) as reader:
        counts = reader.class_counts()
    if json:
        output.print_json({**report.to_dict(), "store": counts})
        return
    output.out.print(
        f"{report.classified} items classified with model {report.model_version} "
        f"in {report.seconds:.1f} s; {counts['unclassified']} items without labels, "
        f"{counts['labelled_items']} labelled by consultants",
        highlight=False,
    )
    rows = sorted(counts["by_model"].items())
    output.out.print(output.table("items per model version", ("model", "items"), rows))


@app.command("use")
def use(
    version: Annotated[str, typer.Argument(help="A version under var/models (rollback).")],
    home: Home = None,
    db: Db = None,
    sources: SourcesFile = None,
) -> None:
    """Make a saved model version current, e.g. to roll back; then `model apply` relabels."""
    from techwatch.classify import artefact

    models = _models(home, db, sources)
    if "/" in version or version.startswith(".") or not (models / version).is_dir():
        output.err.print(f"error: no model {version!r} in {models}", highlight=False)
        raise typer.Exit(2)
    artefact.load(models / version)  # refuses a damaged model or another label set
    artefact.mark_current(models, version)
    output.err.print(f"model {version} is current; `techwatch model apply` relabels the store")


@app.command("info")
def info(home: Home = None, db: Db = None, sources: SourcesFile = None, json: Json = False) -> None:
    """Show the current model: version, training date, data counts, held-out metrics."""
    from techwatch.classify import artefact

    folder = artefact.current_folder(_models(home, db, sources))
    if folder is None:
        output.err.print("no model yet: run `techwatch model train`", highlight=False)
        raise typer.Exit(1)
    _show_info(artefact.read_metadata(folder), as_json=json)


@app.command("evaluate")
def evaluate(
    labels: LabelsFiles = None,
    home: Home = None,
    db: Db = None,
    sources: SourcesFile = None,
    json: Json = False,
) -> None:
    """Metrics of the current model on --labels files; without them, its held-out metrics."""
    from techwatch import classify as clf
    from techwatch.classify import artefact

    models = _models(home, db, sources)
    if not labels:
        folder = artefact.current_folder(models)
        if folder is None:
            output.err.print("no model yet: run `techwatch model train`", highlight=False)
            raise typer.Exit(1)
        output.err.print("no --labels: held-out metrics stored at training time", highlight=False)
        _show_metrics(artefact.read_metadata(folder).get("metrics", {}), as_json=json)
        return
    examples = _read(lambda: clf.read_examples(labels))
    model = _current_or_default(models)
    predictions = clf.classify(model, [e.document for e in examples])
    _show_metrics(clf.evaluate(examples, predictions), as_json=json)


def _models(home: Path | None, db: Path | None, sources: Path | None) -> Path:
    return paths(home, db, sources).var / "models"


def _read(reader: Any) -> Any:
    """Run a reader; a bad line is a usage error (exit 2) with file and line in the message."""
    from techwatch import classify as clf

    try:
        return reader()
    except clf.CorpusError as error:
        output.err.print(f"error: {error}", markup=False, highlight=False)
        raise typer.Exit(2) from error


def _current_or_default(models: Path) -> clf.Model:
    """The current model; on first use, train the default one (seed corpus, real data)."""
    from techwatch import classify as clf

    model = clf.load_current(models)
    if model is not None:
        return model
    output.err.print(
        f"no model in {models}: training the default model first (a few minutes)...",
        highlight=False,
    )
    return clf.train_and_save(models, now=datetime.now(UTC))


def _show_info(metadata: dict[str, Any], *, as_json: bool) -> None:
    from techwatch import classify as clf

    summary = {
        key: metadata.get(key)
        for key in ("version", "created_at", "versions", "origins", "data", "heldout", "metrics")
    }
    if as_json:
        output.print_json(summary)
        return
    output.out.print(f"model {summary['version']} trained {summary['created_at']}")
    origins = summary["origins"] or {}
    if origins:
        output.out.print("examples: " + ", ".join(f"{k} {v}" for k, v in origins.items()))
    data = summary["data"] or {}
    for axis in clf.corpus.AXES:
        axis_data = data.get(axis, {})
        labels = ", ".join(f"{k} {v}" for k, v in axis_data.get("labels", {}).items())
        output.out.print(f"{axis}: {axis_data.get('examples', 0)} examples ({labels})")
    _show_metrics(summary["metrics"] or {}, as_json=False)


def _show_metrics(metrics: dict[str, Any], *, as_json: bool) -> None:
    from techwatch import classify as clf

    if as_json:
        output.print_json(metrics)
        return
    for axis in clf.corpus.AXES:
        report = metrics.get(axis, {})
        rows = [
            (label, v["precision"], v["recall"], v["f1"], v["support"])
            for label, v in report.get("per_label", {}).items()
        ]
        title = f"{axis}: {report.get('examples', 0)} examples, " + ", ".join(
            f"{k} {report[k]:.3f}"
            for k in ("micro_f1", "macro_f1", "accuracy", "within_one")
            if k in report
        )
        output.out.print(output.table(title, ("label", "P", "R", "F1", "n"), rows))
    confusion = metrics.get("severity", {}).get("confusion")
    if confusion:
        labels = confusion["labels"]
        rows = [
            (t, *r) for t, r in zip(labels, confusion["rows_truth_columns_predicted"], strict=True)
        ]
        output.out.print(output.table("severity confusion (rows: truth)", ("", *labels), rows))


@contextmanager
def _progress(quiet: bool) -> Iterator[Callable[[int], None]]:
    """A progress bar on stderr for long work (items done so far); nothing when not a terminal."""
    if quiet or not output.err.is_terminal:
        yield lambda n: None
        return
    bar = Progress(
        TextColumn("[bold]classify"), TextColumn("{task.completed} items"), TimeElapsedColumn(),
        console=output.err, transient=True,
    )  # fmt: skip
    task = bar.add_task("items", total=None)
    with bar:
        yield lambda n: bar.advance(task, n)
