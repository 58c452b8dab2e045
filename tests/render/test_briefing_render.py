"""Rendering a briefing: same content in every format and language, hostile feed text inert."""

import json
from datetime import UTC, datetime

import pytest
from bs4 import BeautifulSoup
from hypothesis import assume, given
from hypothesis import strategies as st
from markdown_it import MarkdownIt

from techwatch.briefing.model import Briefing, Entry, Health, Link
from techwatch.briefing.period import parse_period
from techwatch.render import i18n
from techwatch.render.briefing import render

HOSTILE_TITLE = "<script>alert(1)</script><img src=x onerror=alert(2)> [click](javascript:x) # H"
NOW = datetime(2026, 11, 28, 7, 0, tzinfo=UTC)


def entry(priority="act_now", lane="confirmed", **overrides) -> Entry:
    values = dict(
        story_id=f"s-{priority}",
        priority=priority,
        lane=lane,
        title=f"FortiOS flaw ({priority})",
        summary="A flaw in FortiOS SSL-VPN lets an attacker run code.",
        why=("CVE-2024-21762 affects FortiOS < 7.2.7 -> firewall (FortiOS 7.2.3)",),
        actions=("Update FortiOS to 7.2.7.",),
        links=(
            Link("CERT-FR", "Avis CERTFR-2024-AVI-0100", "https://www.cert.ssi.gouv.fr/a/", NOW),
            Link("Hostile", "data link", "data:text/html,<script>alert(1)</script>"),
            Link("Hostile", "js link", "javascript:alert(1)"),
        ),
        first_seen=NOW,
        topics=("vulnerability", "exploited"),
        severity="critical",
        cves=("CVE-2024-21762",),
    )
    values.update(overrides)
    return Entry(**values)


def briefing(entries=(), language="fr", **overrides) -> Briefing:
    values = dict(
        client_id="cabinet-dentaire",
        client_name="Cabinet dentaire du Lac",
        language=language,
        period=parse_period("2026-W48"),
        generated_at=NOW,
        items_watched=1234,
        health=Health(checked=56, failing=3),
        entries=tuple(entries),
    )
    values.update(overrides)
    return Briefing(**values)


FULL = (
    entry("act_now"),
    entry("plan", lane="unconfirmed", renewed=True),
    entry("watch", title=HOSTILE_TITLE, summary=HOSTILE_TITLE, why=(HOSTILE_TITLE,)),
)


@pytest.mark.parametrize("language", i18n.LANGUAGES)
def test_html_has_every_story_grouped_by_priority_in_the_client_language(language):
    soup = BeautifulSoup(render(briefing(FULL, language), "html"), "html.parser")
    assert soup.html["lang"] == language
    headings = [h.get_text() for h in soup.find_all("h2")]
    assert headings == [
        f"{i18n.label('priority', p, language)} (1)" for p in ("act_now", "plan", "watch")
    ]
    assert len(soup.find_all("article")) == 3
    notes = [p.get_text() for p in soup.select("p.note")]
    assert notes == [i18n.WORDS[language]["unconfirmed"], i18n.WORDS[language]["renewed"]]
    assert soup.find("meta", attrs={"name": "viewport"}) is not None


def test_hostile_feed_text_is_inert_in_html():
    soup = BeautifulSoup(render(briefing(FULL), "html"), "html.parser")
    assert soup.find_all(["script", "img", "iframe", "svg", "form"]) == []
    assert all(not k.startswith("on") for tag in soup.find_all(True) for k in tag.attrs)
    hrefs = [a["href"] for a in soup.find_all("a")]
    assert hrefs and all(h.startswith("https://") for h in hrefs)
    assert HOSTILE_TITLE in [h.get_text() for h in soup.find_all("h3")]  # shown, as text


def test_hostile_feed_text_is_inert_in_markdown():
    tokens = MarkdownIt("commonmark").parse(render(briefing(FULL), "md"))
    flat = [t for block in tokens for t in [block, *(block.children or [])]]
    assert not [t for t in flat if t.type in ("html_block", "html_inline", "image")]
    links = [t.attrGet("href") for t in flat if t.type == "link_open"]
    assert links == ["https://www.cert.ssi.gouv.fr/a/"] * 3
    headings = [tokens[i + 1].content for i, t in enumerate(tokens) if t.type == "heading_open"]
    assert len(headings) == 1 + 3 + 3  # title, one per priority group, one per story


@pytest.mark.parametrize("fmt", ["md", "html", "json"])
@pytest.mark.parametrize("language", i18n.LANGUAGES)
def test_empty_period_says_so_with_the_number_of_sources(fmt, language):
    text = render(briefing((), language), fmt)
    if fmt == "json":
        assert json.loads(text)["entries"] == []
    else:
        assert i18n.word(language, "nothing", checked=56) in text


def test_json_round_trips_every_field():
    data = json.loads(render(briefing(FULL, omitted=4, model_version="m1"), "json"))
    assert data["period"]["label"] == "2026-W48"
    assert data["period"]["start"] == "2026-11-22T23:00:00+00:00"
    assert [e["priority"] for e in data["entries"]] == ["act_now", "plan", "watch"]
    assert data["entries"][0]["links"][0]["published"] == NOW.isoformat()
    assert (data["omitted"], data["model_version"]) == (4, "m1")


def test_omitted_stories_are_counted_in_the_client_language():
    html = render(briefing(FULL[:1], "de", omitted=7), "html")
    assert i18n.word("de", "omitted", n=7) in BeautifulSoup(html, "html.parser").get_text()


def test_unknown_format_is_refused():
    with pytest.raises(ValueError, match="unknown format"):
        render(briefing(), "pdf")


def test_every_language_has_the_same_words():
    keys = {lang: set(words) for lang, words in i18n.WORDS.items()}
    assert keys["de"] == keys["fr"] == keys["en"]


@pytest.mark.parametrize(
    "period", [parse_period("2026-W48"), parse_period("2026-11"), parse_period("2026-11-28")]
)
def test_a_stored_briefing_is_shown_again_exactly(period):
    from techwatch.briefing.period import last_days
    from techwatch.render.briefing import from_json, to_json

    for p in (period, last_days(7, NOW)):
        original = briefing(FULL, "de", period=p, omitted=2, model_version="m", advisor="A")
        again = from_json(json.loads(json.dumps(to_json(original))))
        assert again == original
        assert render(again, "html") == render(original, "html")


@given(st.text(alphabet=st.characters(codec="utf-8", exclude_categories=("Cs", "Cc")), max_size=80))
def test_md_escaped_text_reads_back_as_the_same_plain_text(text):
    from techwatch.render.env import md

    expected = " ".join(text.split())
    assume(expected)
    tokens = MarkdownIt("commonmark").parse(f"- {md(text)}\n")
    inline = [t for t in tokens if t.type == "inline"]
    assert [t.type for t in tokens if t.type.endswith("_open")] == [
        "bullet_list_open",
        "list_item_open",
        "paragraph_open",
    ]
    (paragraph,) = inline
    assert {c.type for c in paragraph.children} <= {"text", "softbreak"}
    assert "".join(c.content for c in paragraph.children) == expected
