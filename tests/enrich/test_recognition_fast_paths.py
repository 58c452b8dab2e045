"""Recognition's fast text paths find exactly what their plain forms find: the case check's
search without a regex and the accent stripping's one-regex pass (enrich.products), and
folding's byte table (enrich.names.fold), on hand-made edge cases and on real advisory texts."""

from __future__ import annotations

import re
import unicodedata
from datetime import UTC, datetime
from pathlib import Path

import pytest

from techwatch.enrich.names import fold
from techwatch.enrich.products import CAPITAL, UPPER, _Cased, without_accents
from techwatch.parse.registry import parse_document


def reference_pattern(word: str, case: int) -> re.Pattern[str]:
    """The case check as first written: a leading look-behind, then the word."""
    if case == UPPER:
        return re.compile(rf"(?<!\w){re.escape(word.upper())}(?!\w)")
    return re.compile(rf"(?<!\w){re.escape(word[0].upper())}(?i:{re.escape(word[1:])})(?!\w)")


def reference_fold(text: str) -> str:
    """`fold` as first written: one regex over the ASCII form."""
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    ascii_form = decomposed.encode("ascii", "ignore").decode("ascii")
    return re.sub(r"[^a-z0-9]+", " ", ascii_form).strip()


def reference_plain(text: str) -> str:
    return "".join(c for c in unicodedata.normalize("NFKD", text) if not unicodedata.combining(c))


@pytest.mark.parametrize(
    ("word", "text"),
    [
        ("exchange", "Exchange"),  # the whole text
        ("exchange", "Microsoft Exchange 2019"),
        ("exchange", "the exchange rate"),  # not capitalised
        ("exchange", "EXCHANGE and ExChAnGe"),  # the first letter decides, then any case
        ("exchange", "_Exchange"),  # "_" is a word character
        ("exchange", "xExchange, Exchange2019, Exchanges"),  # inside longer words only
        ("exchange", "ZExchange; Exchange."),  # a later whole word counts
        ("exchange", "éExchange"),  # an accented letter before it is a word character
        ("logo", "neues Logo, LOGO! 8"),
        ("csa", "the Csa and CSA, CSAs"),
        ("3com", "3COM switch; 3Com router"),
        ("pan os", "PAN OS and PAN-OS"),  # a term of two words: its space as written
        ("ios", ""),
        ("bios", "Bıos, BİOS"),  # a regex's ignore-case takes "ı" for "i"; "İ" loses its dot
        ("close", "Cloſe"),  # and "ſ" for "s"
        ("ios", "İOS ıOS"),  # "İ" is "I" once its accent is gone; "ı" is no capital
        ("kelvin", "\u212aelvin"),  # the Kelvin sign is a K once decomposed
        ("os", "ΣOS ΟΣ OS"),  # Greek letters are word characters
        ("x", "x X_ X"),
        ("ios", "Scenarios, iOS, IOS"),  # inside a word, then lower case, then whole
    ],
)
@pytest.mark.parametrize("case", [CAPITAL, UPPER])
def test_the_case_check_finds_what_its_reference_finds(word: str, text: str, case: int) -> None:
    found = _Cased(text).has(word, case)
    assert found == (reference_pattern(word, case).search(without_accents(text)) is not None)


@pytest.mark.parametrize(
    "text",
    [
        "Citrix NetScaler® ADC (Gateway)",
        "  --Fortinet,   Inc.--  ",
        "\u210cello",  # a capital that NFKD gives back in ASCII: not a-z, so a space
        "Straße ﬁle Ⅻ ½ Ærø Œuvre",
        "日本語 Zürich\t\n\x00\x7f end",
        "",
        " ",
        "A_B-C.D/E",
    ],
)
def test_folding_gives_what_its_reference_gives(text: str) -> None:
    assert fold(text) == reference_fold(text)


REAL = (
    ("cert-fr-avis/*/*.json", "certfr-json", 25),
    ("csaf-cisa/*-2024/*.json", "csaf", 10),
    ("cve-json5-vulnrichment/*/*.json", "cve-json5", 10),
)


@pytest.fixture(scope="module")
def real_texts(realdata: Path) -> list[str]:
    texts: list[str] = []
    for pattern, kind, count in REAL:
        for path in sorted((realdata / "advisories").glob(pattern))[:count]:
            parsed = parse_document(
                kind, "s", path.read_bytes(), url=path.as_uri(), fetched_at=datetime.now(UTC)
            )
            texts.extend(t for item in parsed.items for t in (item.title, item.text))
    return texts


def test_real_texts_lose_their_accents_as_the_reference_says(real_texts: list[str]) -> None:
    assert any(not t.isascii() for t in real_texts)  # French texts: marks to remove
    assert [without_accents(t) for t in real_texts] == [reference_plain(t) for t in real_texts]


def test_real_texts_fold_as_the_reference_says(real_texts: list[str]) -> None:
    assert [fold(t) for t in real_texts] == [reference_fold(t) for t in real_texts]


def test_the_case_check_agrees_with_its_reference_on_real_texts(real_texts: list[str]) -> None:
    plains = [without_accents(t) for t in real_texts]
    words = sorted({w.casefold() for t in plains[:20] for w in re.findall(r"[A-Za-z0-9]{3,}", t)})
    assert len(words) > 200
    checked = found = 0
    cased = [_Cased(t) for t in real_texts]
    for word in words[:: max(1, len(words) // 300)]:
        for case in (CAPITAL, UPPER):
            slow = reference_pattern(word, case)
            for text, plain in zip(cased, plains, strict=True):
                hit = text.has(word, case)
                assert hit == (slow.search(plain) is not None), (word, case)
                checked += 1
                found += hit
    assert 0 < found < checked
