"""Saved models: one skops file per axis plus metadata.json, under models/<version>/.

skops rebuilds objects from a declared schema instead of running pickle, and refuses any type
that is not trusted. The trusted list is explicit (TRUSTED_TYPES, on top of skops' own defaults
for scikit-learn, numpy and scipy): a file that needs anything else is refused, never loaded
with trust granted on the fly. A model trained for another label set is refused as well, since
its columns would silently mean other labels.

skops, scikit-learn and the model module are imported by the functions that need them:
`current_folder` answers "is there a model?" without loading ~100 MiB of libraries.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
import zipfile
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final

from techwatch.errors import TerminalError

if TYPE_CHECKING:
    from sklearn.pipeline import Pipeline

    from techwatch.classify.model import Model

METADATA: Final = "metadata.json"
CURRENT: Final = "current"
AXES: Final = ("topics", "sectors", "severity")
# Types beyond skops' defaults that our pipelines may contain: the functions of the structured
# features' FunctionTransformers (features.py, cvss_words.py). Anything else is refused.
TRUSTED_TYPES: Final[tuple[str, ...]] = (
    "techwatch.classify.features.stated_bands",
    "techwatch.classify.cvss_words.cvss_word_flags",
)


class ArtefactError(TerminalError):
    """A model folder that is missing, damaged, untrusted or made for another label set."""


def save(model: Model, folder: Path) -> Path:
    """Write the model to `folder` (which must not exist) atomically: all files or none."""
    import skops.io as sio

    if folder.exists():
        raise ArtefactError(f"{folder}: already exists; a model version is never overwritten")
    folder.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{folder.name}.", dir=folder.parent))
    try:
        files = {}
        for axis in AXES:
            path = staging / f"{axis}.skops"
            sio.dump(model.pipelines[axis], path)
            files[axis] = {"file": path.name, "sha256": _sha256(path)}
        metadata = {
            **model.metadata,
            "version": folder.name,
            "labels": {a: list(v) for a, v in model.labels.items()},
            "files": files,
        }
        (staging / METADATA).write_text(json.dumps(metadata, indent=2, ensure_ascii=False) + "\n")
        staging.rename(folder)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return folder


def load(folder: Path) -> Model:
    """Load a saved model, refusing untrusted content and a label set other than the code's."""
    from techwatch.classify.model import Model

    metadata = read_metadata(folder)
    check_label_set(metadata, folder)
    pipelines = {axis: _load_pipeline(folder, metadata, axis) for axis in AXES}
    labels = {axis: tuple(metadata["labels"][axis]) for axis in AXES}
    thresholds = {axis: dict(values) for axis, values in metadata["thresholds"].items()}
    return Model(pipelines, labels, thresholds, metadata)


def read_metadata(folder: Path) -> dict[str, Any]:
    """metadata.json of a model folder, checked for the format this code writes."""
    from techwatch.classify.model import FORMAT

    path = folder / METADATA
    try:
        metadata = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError as e:
        raise ArtefactError(f"{folder}: no model here ({METADATA} missing)") from e
    except (OSError, ValueError) as e:
        raise ArtefactError(f"{path}: unreadable: {e}") from e
    if not isinstance(metadata, dict) or metadata.get("format") != FORMAT:
        raise ArtefactError(f"{path}: unknown model format; retrain with `techwatch model train`")
    return metadata


def check_label_set(metadata: dict[str, Any], folder: Path) -> None:
    """Refuse a model whose label set differs from techwatch.taxonomy's."""
    from techwatch.classify.model import LABEL_SET

    for axis, keys in LABEL_SET.items():
        stored = metadata.get("label_set", {}).get(axis)
        if stored != list(keys):
            raise ArtefactError(
                f"{folder}: model {metadata.get('version')!r} was trained for another {axis} "
                f"label set ({_difference(stored, keys)}); retrain with `techwatch model train`"
            )


def current_folder(models: Path) -> Path | None:
    """The folder of the current model, or None when no model was marked current."""
    marker = models / CURRENT
    if not marker.is_file():
        return None
    version = marker.read_text(encoding="utf-8").strip()
    if not version or "/" in version or version.startswith("."):
        raise ArtefactError(f"{marker}: invalid version {version!r}")
    return models / version


def current_version(models: Path) -> str | None:
    """The current model's version as its metadata states it, read without loading the model
    (nor scikit-learn); None when no model was marked current."""
    folder = current_folder(models)
    if folder is None:
        return None
    try:
        version = json.loads((folder / METADATA).read_text(encoding="utf-8")).get("version")
    except (OSError, ValueError, AttributeError) as e:
        raise ArtefactError(f"{folder / METADATA}: unreadable: {e}") from e
    return str(version) if version else folder.name


def mark_current(models: Path, version: str) -> None:
    """Point `current` at a saved version (atomic rename, so readers never see half a name)."""
    if not (models / version / METADATA).is_file():
        raise ArtefactError(f"{models / version}: no saved model to mark current")
    staging = models / f".{CURRENT}.tmp"
    staging.write_text(version + "\n", encoding="utf-8")
    os.replace(staging, models / CURRENT)


def _load_pipeline(folder: Path, metadata: dict[str, Any], axis: str) -> Pipeline:
    import skops.io as sio
    from sklearn.pipeline import Pipeline

    entry = metadata.get("files", {}).get(axis, {})
    path = folder / str(entry.get("file", f"{axis}.skops"))
    if entry.get("sha256") and path.is_file() and _sha256(path) != entry["sha256"]:
        raise ArtefactError(f"{path}: content differs from the checksum in {METADATA}")
    try:
        untrusted = set(sio.get_untrusted_types(file=path))
        refused = sorted(untrusted - set(TRUSTED_TYPES))
        if refused:
            raise ArtefactError(f"{path}: refused, it contains untrusted types: {refused}")
        pipeline = sio.load(path, trusted=sorted(untrusted))
    except (OSError, zipfile.BadZipFile, KeyError, ValueError, TypeError) as e:
        raise ArtefactError(f"{path}: not a readable skops file: {e}") from e
    if not isinstance(pipeline, Pipeline):
        raise ArtefactError(f"{path}: expected a scikit-learn Pipeline, got {type(pipeline)}")
    return pipeline


def _difference(stored: Any, keys: tuple[str, ...]) -> str:
    if not isinstance(stored, list):
        return "none recorded"
    missing = [k for k in keys if k not in stored]
    extra = [k for k in stored if k not in keys]
    return f"missing {missing}, unknown {extra}" if missing or extra else "different order"


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()
