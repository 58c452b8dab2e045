"""Labels files: every error names file and line; a missing axis stays unknown, not empty."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from techwatch.classify.corpus import CorpusError, counts, read_documents, read_examples, seed_files


def _file(tmp_path: Path, *lines: str) -> Path:
    path = tmp_path / "labels.jsonl"
    path.write_text("\n".join(lines) + "\n")
    return path


GOOD = json.dumps(
    {"id": "a", "title": "Patch Tuesday", "topics": ["vulnerability"], "sectors": ["all"],
     "severity": "high"}
)  # fmt: skip


def test_a_bad_label_names_file_and_line(tmp_path: Path) -> None:
    bad = json.dumps({"id": "b", "title": "x", "topics": ["vulnerabilty"]})
    path = _file(tmp_path, GOOD, "", bad)
    with pytest.raises(CorpusError, match=rf"{path}:3: id 'b': unknown topic 'vulnerabilty'"):
        read_examples([path])


def test_invalid_json_and_missing_title_name_the_line(tmp_path: Path) -> None:
    with pytest.raises(CorpusError, match=r"labels.jsonl:2: invalid JSON"):
        read_examples([_file(tmp_path, GOOD, "{not json")])
    with pytest.raises(CorpusError, match=r"labels.jsonl:1: missing or empty 'title'"):
        read_documents(_file(tmp_path, json.dumps({"id": "x", "text": "no title"})))


def test_the_taxonomy_rules_apply_across_known_axes(tmp_path: Path) -> None:
    mixed = json.dumps({"id": "m", "title": "t", "topics": ["off_topic", "ai"]})
    with pytest.raises(CorpusError, match="off_topic cannot be combined"):
        read_examples([_file(tmp_path, mixed)])
    no_sector = json.dumps({"id": "n", "title": "t", "topics": ["ai"], "sectors": []})
    with pytest.raises(CorpusError, match="sectors may be empty only for off_topic"):
        read_examples([_file(tmp_path, no_sector)])


def test_duplicate_ids_are_refused_with_both_places(tmp_path: Path) -> None:
    with pytest.raises(CorpusError, match=r":2: id 'a' already used at .*:1"):
        read_examples([_file(tmp_path, GOOD, GOOD)])


def test_partial_labels_are_kept_per_axis(tmp_path: Path) -> None:
    only_severity = json.dumps({"id": "s", "title": "CVE-2026-1234", "severity": "critical"})
    only_topics = json.dumps({"id": "t", "title": "Outage", "topics": ["outage"]})
    examples = read_examples([_file(tmp_path, GOOD, only_severity, only_topics)])
    severity_only, topics_only = examples[1], examples[2]
    assert (severity_only.topics, severity_only.sectors, severity_only.severity) == (
        None,
        None,
        "critical",
    )
    assert not severity_only.knows("topics") and topics_only.knows("topics")
    assert topics_only.sectors is None and topics_only.severity is None
    tally = counts(examples)
    assert tally["topics"]["examples"] == 2 and tally["severity"]["examples"] == 2
    assert tally["topics"]["labels"] == {"outage": 1, "vulnerability": 1}


def test_classify_inputs_need_only_id_and_title(tmp_path: Path) -> None:
    path = _file(tmp_path, json.dumps({"id": "1", "title": "Titre", "language": "fr"}))
    [document] = read_documents(path)
    assert (document.id, document.title, document.text, document.language) == (
        "1",
        "Titre",
        "",
        "fr",
    )


def test_the_seed_corpus_is_valid() -> None:
    """Whatever the annotators wrote so far must load: labels valid, ids unique."""
    files = seed_files()
    if not files:
        pytest.skip("no seed corpus yet")
    examples = read_examples(files)
    assert all(e.knows("topics") and e.knows("sectors") and e.knows("severity") for e in examples)
