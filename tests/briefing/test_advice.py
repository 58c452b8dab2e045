from datetime import date

import pytest

from techwatch.briefing.advice import GENERIC, TOPIC_ADVICE, Fix, KevAction, actions
from techwatch.taxonomy import LANGUAGES, TOPIC_KEYS


def test_every_advised_topic_exists_and_speaks_every_language():
    for topic, texts in TOPIC_ADVICE.items():
        assert topic in TOPIC_KEYS
        assert set(texts) == set(LANGUAGES)


def test_most_specific_steps_come_first():
    steps = actions(
        ("vulnerability", "exploited"),
        "fr",
        kev=(KevAction("CVE-2024-21762", "Apply   mitigations\nper vendor.", date(2024, 2, 16)),),
        fixes=(Fix("FortiOS", "7.2.7"),),
    )
    assert steps[0].startswith("Mesure exigée par la CISA pour CVE-2024-21762")
    assert "16.02.2024" in steps[0] and "« Apply mitigations per vendor. »" in steps[0]
    assert steps[1] == "Mettre à jour FortiOS vers la version 7.2.7 ou plus récente."
    assert steps[2] == TOPIC_ADVICE["exploited"]["fr"]
    assert len(steps) == 3


@pytest.mark.parametrize("language", ["de", "en"])
def test_language_of_the_client(language):
    (step,) = actions(("breach",), language)
    assert step == TOPIC_ADVICE["breach"][language]


def test_unknown_language_falls_back_to_french_and_nothing_known_gives_generic_advice():
    assert actions(("product_update",), "it") == (GENERIC["fr"],)


def test_duplicate_steps_are_given_once():
    fix = Fix("WordPress", "6.4.3")
    assert len(actions((), "en", fixes=(fix, fix))) == 1
