"""Full-text search: ranked, accent-insensitive, read-only, and never a crash without fts."""

from __future__ import annotations

import logging
from dataclasses import replace
from datetime import timedelta
from pathlib import Path

import pytest

from techwatch.storage import fts, open_reader, open_writer
from tests.storage.factories import T0, item, outcome

CORPUS = [
    item("s1", "title-hit", title="Exchange server zero-day", text="Patch the mail gateway now."),
    item("s1", "text-hit", title="Weekly digest", text="A flaw in Exchange and other news."),
    item("s2", "accents", title="Sécurité des données", text="Mise à jour de sécurité critique."),
    item("s2", "plain", title="Printer drivers", text="Nothing about mail servers here."),
    item("s2", "cve", title="Advisory", text="Fixes CVE-2026-1234 in firmware 4.2."),
]


@pytest.fixture
def corpus(db: Path) -> Path:
    with open_writer(db) as w:
        w.write_outcomes("r1", [outcome("s1", CORPUS[:2]), outcome("s2", CORPUS[2:])], [], T0)
        w.rebuild_search_index()
    return db


def titles(db: Path, query: str) -> list[str]:
    with open_reader(db) as r:
        return [row["title"] for row in r.search(query)]


def test_finds_an_item_by_a_word_of_its_text(corpus: Path) -> None:
    assert titles(corpus, "gateway") == ["Exchange server zero-day"]


def test_a_title_hit_ranks_above_a_text_only_hit(corpus: Path) -> None:
    with open_reader(corpus) as r:
        hits = r.search("exchange")
    assert [h["title"] for h in hits] == ["Exchange server zero-day", "Weekly digest"]
    assert hits[0]["score"] > hits[1]["score"] > 0


def test_accents_and_case_do_not_matter(corpus: Path) -> None:
    assert titles(corpus, "securite") == ["Sécurité des données"]
    assert titles(corpus, "SÉCURITÉ") == ["Sécurité des données"]
    assert titles(corpus, "donnees") == ["Sécurité des données"]


def test_every_word_must_match_and_digits_count(corpus: Path) -> None:
    assert titles(corpus, "CVE-2026-1234") == ["Advisory"]
    assert titles(corpus, "CVE-2026-9999") == []
    assert titles(corpus, "exchange gateway") == ["Exchange server zero-day"]


def test_words_are_stemmed(corpus: Path) -> None:
    assert titles(corpus, "patched") == ["Exchange server zero-day"]


def test_nothing_found_and_empty_queries_give_empty_lists(corpus: Path) -> None:
    assert titles(corpus, "kubernetes") == []
    assert titles(corpus, "   ") == []
    assert titles(corpus, "100% 'quoted' _x_") == []


def test_a_batch_write_ranks_its_new_items_at_once(corpus: Path) -> None:
    later = item("s1", "later", title="Exchange follow-up", text="More on the flaw.")
    with open_writer(corpus) as w:
        w.write_outcomes("r2", [outcome("s1", [later])], [], T0 + timedelta(days=1))
    with open_reader(corpus) as r:
        hits = r.search("exchange")
        info = r.info()["search_index"]
    assert {h["title"] for h in hits[:2]} == {"Exchange server zero-day", "Exchange follow-up"}
    assert hits[2]["title"] == "Weekly digest"
    assert all(h["score"] is not None for h in hits)
    assert (info["items"], info["pending"]) == (len(CORPUS) + 1, 0)


QUERIES = ["exchange", "mail", "flaw", "securite", "printer", "cve-2026-1234", "patch"]


def scores(db: Path) -> dict[str, list[tuple[str, float]]]:
    with open_reader(db) as r:
        return {q: [(h["id"], round(h["score"], 9)) for h in r.search(q)] for q in QUERIES}


def test_updated_index_scores_exactly_as_a_full_rebuild(corpus: Path) -> None:
    """BM25 depends on every document (counts, lengths): updates must keep them all right."""
    later = item("s1", "later", title="Exchange follow-up", text="More on the mail flaw.")
    edited = replace(CORPUS[3], text="Now about Exchange patches and mail.", content_hash="2")
    rewritten = replace(CORPUS[0], title="Exchange advisory", content_hash="3")
    with open_writer(corpus) as w:
        w.write_outcomes("r2", [outcome("s1", [later, rewritten])], [], T0 + timedelta(days=1))
        w.write_outcomes("r3", [outcome("s2", [edited])], [], T0 + timedelta(days=2))
    updated = scores(corpus)
    with open_writer(corpus) as w:
        w.rebuild_search_index()
    assert scores(corpus) == updated
    assert [title for title in titles(corpus, "exchange")][:1] == ["Exchange advisory"]
    assert "Printer drivers" in titles(corpus, "patch")


def test_a_changed_item_is_searched_by_its_new_words_only(corpus: Path) -> None:
    edited = replace(
        CORPUS[3], title="Printer drivers", text="Now about ransomware.", content_hash="2"
    )
    with open_writer(corpus) as w:
        w.write_outcomes("r2", [outcome("s2", [edited])], [], T0 + timedelta(days=1))
    assert titles(corpus, "ransomware") == ["Printer drivers"]
    assert titles(corpus, "nothing") == []  # its old words no longer match


def test_a_writer_without_the_extension_still_writes(
    corpus: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    later = item("s1", "later", title="Exchange follow-up", text="More on the flaw.")
    monkeypatch.setattr(fts, "extension_path", lambda: None)
    with caplog.at_level(logging.WARNING), open_writer(corpus) as w:
        w.write_outcomes("r2", [outcome("s1", [later])], [], T0 + timedelta(days=1))
        w.rebuild_search_index()
    assert "full-text search unavailable" in caplog.text
    monkeypatch.undo()
    assert "Exchange follow-up" in titles(corpus, "exchange")


def test_without_the_extension_search_falls_back_with_a_warning(
    corpus: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setattr(fts, "extension_path", lambda: None)
    with caplog.at_level(logging.WARNING), open_reader(corpus) as r:
        hits = r.search("sécurité critique")
    assert [h["title"] for h in hits] == ["Sécurité des données"]
    assert hits[0]["score"] is None
    assert "not ranked" in caplog.text


def test_before_any_index_build_search_falls_back(db: Path) -> None:
    with open_writer(db):
        pass
    with open_reader(db) as r:
        assert r.search("anything") == []


def test_rebuild_search_index_can_be_called_explicitly(corpus: Path) -> None:
    with open_writer(corpus) as w:
        w.rebuild_search_index()
    with open_reader(corpus) as r:
        assert r.info()["search_index"]["items"] == len(CORPUS)
        assert r.info()["search_index"]["pending"] == 0
        assert [h["title"] for h in r.search("printer")] == ["Printer drivers"]


def test_long_texts_are_indexed_by_their_head_and_their_cve_ids(db: Path) -> None:
    filler = "Lorem ipsum dolor sit amet. " * 400  # well past the indexed head
    long_item = replace(
        item(
            "s1",
            "long",
            title="Monthly roundup",
            text=f"Opening words about backups. {filler} Closing words about zanzibar.",
        ),
        cves=("CVE-2026-55555",),
    )
    with open_writer(db) as w:
        w.write_outcomes("r1", [outcome("s1", [long_item])], [], T0)
        w.rebuild_search_index()
    assert titles(db, "backups") == ["Monthly roundup"]
    assert titles(db, "CVE-2026-55555") == ["Monthly roundup"]
    assert titles(db, "zanzibar") == [], "only the head of a long text is indexed"
