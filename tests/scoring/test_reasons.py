"""Every reason code is worded in every language, with exactly its declared parameters."""

from __future__ import annotations

import json

import pytest

from techwatch.scoring.reasons import CATALOGUE, VALUES, Reason, placeholders, reason, render

LANGUAGES = ("fr", "de", "en")
# One plausible value per parameter name used anywhere in the catalogue.
SAMPLES: dict[str, str | int | float] = {
    "asset": "Pare-feu",
    "criticality": 4,
    "exposure": "exposed",
    "vuln": "CVE-2024-21762",
    "cpe": "cpe:2.3:o:fortinet:fortios:7.2.3:*:*:*:*:*:*:*",
    "purl": "pkg:npm/lodash",
    "product": "FortiOS",
    "range": "< 7.2.5",
    "version": "7.2.3",
    "vendor": "Fortinet",
    "why": "no_ranges",
    "fixed": "7.2.5",
    "term_kind": "alias",
    "term": "Outlook",
    "field": "title",
    "provider": "HIN",
    "service": "secure e-mail",
    "keyword": "Tarmed",
    "sector": "health",
    "topic": "regulation",
    "date": "2025-10-14",
    "exploitation": "active",
    "epss_score": 0.42,
    "epss_percentile": 0.991,
    "data": "health,personal",
    "severity": "critical",
    "score": 9.8,
    "higher": "act_now",
    "lower": "act_soon",
    "days": 30,
    "target": "HIN",
}


def test_samples_cover_every_parameter() -> None:
    used = {name for wording in CATALOGUE.values() for name in wording.params}
    assert used <= set(SAMPLES), used - set(SAMPLES)


@pytest.mark.parametrize("code", sorted(CATALOGUE))
@pytest.mark.parametrize("language", LANGUAGES)
def test_every_code_renders_in_every_language(code: str, language: str) -> None:
    wording = CATALOGUE[code]
    template = getattr(wording, language)
    assert placeholders(template) == set(wording.params), f"{code}/{language}"
    text = render(reason(code, **{p: SAMPLES[p] for p in wording.params}), language)
    assert text and "{" not in text and "}" not in text


@pytest.mark.parametrize(
    ("language", "expected"),
    [
        ("fr", "l'alias « Outlook » apparaît dans le titre → Microsoft 365 "
               "(criticité 4, exposé à Internet)"),
        ("de", "Alias „Outlook“ erscheint im Titel → Microsoft 365 "
               "(Kritikalität 4, aus dem Internet erreichbar)"),
        ("en", "alias “Outlook” appears in the title → Microsoft 365 "
               "(criticality 4, exposed to the internet)"),
    ],
)  # fmt: skip
def test_the_issue_example_reads_as_promised(language: str, expected: str) -> None:
    found = reason(
        "text_term",
        term_kind="alias",
        term="Outlook",
        field="title",
        asset="Microsoft 365",
        criticality=4,
        exposure="exposed",
    )
    assert render(found, language) == expected


@pytest.mark.parametrize(
    ("code", "params", "language", "expected"),
    [
        ("sector", {"sector": "health"}, "de", "betrifft Ihre Branche: Gesundheit"),
        ("kev", {"vuln": "CVE-1", "date": "2024-02-09"}, "fr",
         "CVE-1 est exploitée activement (catalogue CISA KEV depuis le 09.02.2024)"),
        ("kev", {"vuln": "CVE-1", "date": "2024-02-09"}, "en",
         "CVE-1 is actively exploited (CISA KEV catalog since 2024-02-09)"),
        ("sensitive_data", {"asset": "NAS", "data": "health,personal"}, "en",
         "NAS holds health data, personal data"),
        ("unconfirmed_lowered", {"higher": "act_now", "lower": "act_soon"}, "de",
         "Produkt nicht bestätigt (Version oder Kennung fehlt): Priorität von „Sofort handeln“ "
         "auf „Zeitnah handeln“ gesenkt"),
        ("epss", {"vuln": "CVE-1", "epss_score": 0.123, "epss_percentile": 0.97}, "en",
         "CVE-1: probability of exploitation within 30 days 12.3%, higher than 97% of flaws "
         "(EPSS)"),
    ],
)  # fmt: skip
def test_labels_dates_and_numbers_are_localised(
    code: str, params: dict[str, str | float], language: str, expected: str
) -> None:
    assert render(reason(code, **params), language) == expected


def test_unknown_language_falls_back_to_french() -> None:
    assert render(reason("regulation"), "it") == render(reason("regulation"), "fr")


def test_translated_values_exist_in_every_language() -> None:
    for name, values in VALUES.items():
        for value, words in values.items():
            assert set(words) == set(LANGUAGES), (name, value)


@pytest.mark.parametrize(
    ("code", "params"),
    [("no_such_code", {}), ("sector", {}), ("sector", {"sector": "health", "extra": 1})],
)
def test_reason_refuses_unknown_codes_and_wrong_parameters(
    code: str, params: dict[str, str | int]
) -> None:
    with pytest.raises(ValueError, match="reason"):
        reason(code, **params)


def test_reasons_are_hashable_plain_data_that_round_trip_through_json() -> None:
    found = reason("cvss", vuln="CVE-1", version="3.1", score=9.8)
    assert found == Reason("cvss", (("vuln", "CVE-1"), ("version", "3.1"), ("score", 9.8)))
    assert len({found, reason("cvss", vuln="CVE-1", version="3.1", score=9.8)}) == 1
    data = json.loads(json.dumps(found.as_dict()))
    assert reason(data["code"], **data["params"]) == found


def test_values_are_shown_as_given_never_interpreted() -> None:
    hostile = reason("keyword", keyword="{field} {0} {__class__}", field="title")
    assert render(hostile, "en") == "watched keyword “{field} {0} {__class__}” appears in the title"
