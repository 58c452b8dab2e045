"""Folding and whole-word search of client terms in item text."""

from __future__ import annotations

import pytest

from techwatch.scoring.text import TermFinder, fold, term_problem


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Microsoft-365", "microsoft 365"),
        ("Sécurité  de\tl’ÉTAT", "securite de l'etat"),
        ("Straße", "strasse"),
        ("cœur", "coeur"),
        ("C++ / .NET", "c++ / .net"),
        ("Fortinet’s\u00a0FortiGate", "fortinet's fortigate"),
    ],
)
def test_fold(text: str, expected: str) -> None:
    assert fold(text) == expected


def found(terms: list[str], text: str) -> list[str]:
    finder = TermFinder([fold(t) for t in terms])
    return sorted({finder.terms[number] for number, _, _ in finder.find(fold(text))})


@pytest.mark.parametrize(
    ("terms", "text", "expected"),
    [
        (["Microsoft 365"], "Panne de Microsoft-365 ce matin", ["microsoft 365"]),
        (["Microsoft 365"], "Microsoft365 outage", ["microsoft 365"]),
        (["Office 365"], "OFFICE 365 et office365", ["office 365"]),
        (["Outlook"], "L'outlook de l'économie", ["outlook"]),  # whole word, any case
        (["NAS-Box"], "nasty NAS box", ["nas box"]),
        (["Synology"], "Synologys NAS", ["synology"]),  # German genitive
        (["imprimante"], "les imprimantes du cabinet", ["imprimante"]),  # French plural
        (["Drucker"], "mit den Druckern", ["drucker"]),
        (["Sécurité"], "securite", ["securite"]),  # accents on neither side
        ([".NET"], "ASP.NET and .NET 8 on example.net", [".net"]),
        (["C++"], "C++20 code, and C++ code", ["c++"]),
        (["M365"], "M365, Teams", ["m365"]),
        (["Fortinet"], "FortinetZ and xFortinet", []),
        (["Microsoft", "Microsoft 365"], "Microsoft 365", ["microsoft", "microsoft 365"]),
    ],
)
def test_whole_words_case_accent_and_dash_insensitive(
    terms: list[str], text: str, expected: list[str]
) -> None:
    assert found(terms, text) == expected


def test_terms_whose_variants_collide_are_all_found() -> None:
    # "office 365" is also searched as "office365", which is another client's own term
    assert found(["Office 365", "Office365"], "office365") == ["office 365", "office365"]


@pytest.mark.parametrize(
    ("term", "problem"),
    [
        ("AD", "too_short"),
        ("365", "numeric"),
        ("2019", "numeric"),
        ("Firewall", "common"),
        ("NAS", "common"),
        ("Teams", "common"),
        ("Site web", "common"),
        ("Pare-feu", "common"),
        ("Logiciel du cabinet", "common"),
        ("Outlook", None),
        ("M365", None),
        ("C++", None),
        ("Exchange Server", None),
        ("Office 365", None),
        ("Microsoft Teams", None),
        ("Synology NAS", None),
    ],
)
def test_flood_guard(term: str, problem: str | None) -> None:
    assert term_problem(term) == problem


def test_an_empty_finder_finds_nothing() -> None:
    assert TermFinder([]).find("anything") == []
