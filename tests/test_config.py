"""sources.yml validation: every mistake is reported with file, line, entry and field.

Cases 9, 39 and 40 of RELIABILITY.md: unsafe URL schemes, misspelt keys, YAML 1.1 traps.
"""

from __future__ import annotations

import re
from pathlib import Path
from textwrap import dedent

import pytest

from techwatch.config import SourcesConfig, load_sources, parse_sources
from techwatch.errors import ConfigError
from techwatch.types import FetchSettings, Source

REPO = Path(__file__).resolve().parents[1]
FILE = Path("sources.yml")

# One valid entry; the cases below add or change one line (line numbers are the file's).
ENTRY = """\
sources:
  - id: cert-fr
    name: CERT-FR
    kind: feed
    url: https://www.cert.ssi.gouv.fr/avis/feed/
    category: advisory
"""


def with_line(line: str) -> str:
    """The valid entry plus one more line at line 7."""
    return ENTRY + f"    {line}\n"


def replacing(old: str, new: str) -> str:
    assert old in ENTRY
    return ENTRY.replace(old, new)


def errors(text: str) -> list[str]:
    """The problem lines of the ConfigError raised for `text` (without the count line)."""
    with pytest.raises(ConfigError) as raised:
        parse_sources(text, path=FILE)
    first, *rest = str(raised.value).splitlines()
    assert re.fullmatch(rf"{FILE}: {len(rest)} errors? in the configuration:", first), first
    return rest


# (case, document, line, field, expected fragment): each error names file:line, the entry
# `sources[0] (id "cert-fr")` and the field.
FIELD_CASES = [
    (
        "file-url",
        replacing("https://www.cert.ssi.gouv.fr/avis/feed/", "file:///etc/passwd"),
        5,
        'field "url"',
        'only http and https URLs are allowed, got "file:///etc/passwd"',
    ),
    (
        "ftp-url",
        replacing("https://www.cert.ssi.gouv.fr/avis/feed/", "ftp://ftp.example.org/feed.xml"),
        5,
        'field "url"',
        'only http and https URLs are allowed, got "ftp://ftp.example.org/feed.xml"',
    ),
    (
        "data-url",
        replacing("https://www.cert.ssi.gouv.fr/avis/feed/", '"data:text/xml,<rss/>"'),
        5,
        'field "url"',
        'only http and https URLs are allowed, got "data:text/xml,<rss/>"',
    ),
    (
        "javascript-url",
        replacing("https://www.cert.ssi.gouv.fr/avis/feed/", '"javascript:alert(1)"'),
        5,
        'field "url"',
        "only http and https URLs are allowed",
    ),
    (
        "schemeless-url",
        replacing("https://www.cert.ssi.gouv.fr/avis/feed/", "www.cert.ssi.gouv.fr/avis/feed/"),
        5,
        'field "url"',
        'did you mean "https://www.cert.ssi.gouv.fr/avis/feed/"?',
    ),
    (
        "url-without-host",
        replacing("https://www.cert.ssi.gouv.fr/avis/feed/", "https:///avis/feed/"),
        5,
        'field "url"',
        "no host",
    ),
    (
        "unknown-kind",
        replacing("kind: feed", "kind: rss"),
        4,
        'field "kind"',
        "must be one of: feed, cisa-kev, cve-json5, csaf, certfr-json, osv, epss, html, "
        'nvd-api, csaf-rolie, certfr-feed; got "rss"',
    ),
    (
        "unknown-category",
        replacing("category: advisory", "category: news"),
        6,
        'field "category"',
        "must be one of: advisory, vendor, press, regulation, status, blog",
    ),
    (
        "id-not-a-slug",
        replacing("id: cert-fr", "id: Cert_FR"),
        2,
        'field "id"',
        "must be a slug: lowercase letters, digits and single dashes, such as cert-fr-avis; "
        'got "Cert_FR"',
    ),
    (
        "language-NO-stays-text",
        with_line("language: NO"),
        7,
        'field "language"',
        'two-letter ISO 639-1 code such as fr, de, en or it; got "NO"',
    ),
    (
        "language-not-iso",
        with_line("language: french"),
        7,
        'field "language"',
        'got "french"',
    ),
    (
        "enabled-yes-is-text",
        with_line("enabled: yes"),
        7,
        'field "enabled"',
        'expected true or false, got "yes" (text: YAML 1.2 reads only true and false',
    ),
    (
        "enabled-on-is-text",
        with_line("enabled: on"),
        7,
        'field "enabled"',
        'expected true or false, got "on"',
    ),
    (
        "confirmed-NO-is-text",
        with_line("confirmed: NO"),
        7,
        'field "confirmed"',
        'expected true or false, got "NO"',
    ),
    (
        "name-0587-unquoted",
        replacing("name: CERT-FR", "name: 0587"),
        3,
        'field "name"',
        'expected text, got a number (0587); quote it to keep it as written: "0587"',
    ),
    (
        "name-1e3-is-a-number",
        replacing("name: CERT-FR", "name: 1e3"),
        3,
        'field "name"',
        'expected text, got a number (1e3); quote it to keep it as written: "1e3"',
    ),
    (
        "name-boolean",
        replacing("name: CERT-FR", "name: true"),
        3,
        'field "name"',
        'expected text, got a boolean (true); quote it to keep it as written: "true"',
    ),
    (
        "name-date",
        replacing("name: CERT-FR", "name: 2024-01-31"),
        3,
        'field "name"',
        "expected text, got a date (2024-01-31)",
    ),
    (
        "name-empty",
        replacing("name: CERT-FR", "name:"),
        3,
        'field "name"',
        "expected text, got an empty value",
    ),
    (
        "tag-number-in-flow-list",
        with_line("products: [exchange, 0587]"),
        7,
        'field "products[1]"',
        'got a number (0587); quote it to keep it as written: "0587"',
    ),
    (
        "tags-not-a-list",
        with_line("vendors: microsoft"),
        7,
        'field "vendors"',
        "expected a list, such as [microsoft, exchange]",
    ),
    (
        "poll-interval-too-short",
        with_line("poll_interval: 1m"),
        7,
        'field "poll_interval"',
        'must be at least 5m, out of courtesy to the publisher; got "1m"',
    ),
    (
        "poll-interval-unreadable",
        with_line("poll_interval: six hours"),
        7,
        'field "poll_interval"',
        'expected a duration such as 30s, 15m, 6h or 1d, or seconds, got "six hours"',
    ),
    (
        "unknown-key-with-suggestion",
        with_line("urll: https://example.org/"),
        7,
        "",
        "unknown field 'urll' (did you mean 'url'?)",
    ),
    (
        "unknown-key-poll-interval-s",
        with_line("poll_interval_s: 3600"),
        7,
        "",
        "unknown field 'poll_interval_s' (did you mean 'poll_interval'?)",
    ),
    (
        "secret-key",
        with_line("password: hunter2"),
        7,
        "",
        "field 'password' is not allowed: secrets never go in sources.yml; provide them through "
        "environment variables",
    ),
    (
        "api-token-key",
        with_line("api_token: abc"),
        7,
        "",
        "secrets never go in sources.yml",
    ),
    (
        "misspelt-required-key-is-one-error",
        replacing("category: advisory", "categry: advisory"),
        6,
        "",
        "unknown field 'categry' (did you mean 'category'?)",
    ),
    (
        "missing-url",
        ENTRY.replace("    url: https://www.cert.ssi.gouv.fr/avis/feed/\n", ""),
        2,
        "",
        'missing required field "url"',
    ),
]


@pytest.mark.parametrize(
    ("document", "line", "field", "fragment"),
    [case[1:] for case in FIELD_CASES],
    ids=[case[0] for case in FIELD_CASES],
)
def test_an_invalid_entry_is_reported_with_file_line_entry_and_field(
    document: str, line: int, field: str, fragment: str
) -> None:
    (message,) = errors(document)
    assert re.match(rf'{FILE}:{line}: sources\[0\] \(id "[^"]+"\): ', message), message
    assert field in message
    assert fragment in message


def test_credentials_in_a_url_are_refused_without_being_repeated() -> None:
    document = replacing(
        "https://www.cert.ssi.gouv.fr/", "https://admin:hunter2@www.cert.ssi.gouv.fr/"
    )
    (message,) = errors(document)
    assert message.startswith(f'{FILE}:5: sources[0] (id "cert-fr"): field "url": ')
    assert "must not carry a user name or password" in message
    assert "hunter2" not in message


SETTINGS_CASES = [
    ("concurrency: '20'", 'field "concurrency": expected a whole number, got "20"'),
    ("concurrency: 0", 'field "concurrency": must be at least 1; got a number (0)'),
    ("concurrency: true", 'field "concurrency": expected a whole number, got a boolean (true)'),
    ("allow_private_networks: yes", 'field "allow_private_networks": expected true or false'),
    ("max_bytes: 10 parsecs", 'field "max_bytes": expected a size such as 10MiB or 512KB'),
    ("connect_timeout_s: -1", 'field "connect_timeout_s": must be more than zero'),
    ("total_timeout_s: .inf", 'field "total_timeout_s": expected a duration such as 30s'),
    ("max_bytes: 1e7", 'field "max_bytes": expected a size such as 10MiB or 512KB, or a whole'),
    ("connect_timeout: 10s", "unknown field 'connect_timeout' (did you mean 'connect_timeout_s'"),
    ("smtp_password: x", "field 'smtp_password' is not allowed: secrets never go in sources.yml"),
]


@pytest.mark.parametrize(("line", "fragment"), SETTINGS_CASES, ids=[c[0] for c in SETTINGS_CASES])
def test_an_invalid_setting_is_reported_with_its_line(line: str, fragment: str) -> None:
    (message,) = errors(f"settings:\n  {line}\n" + ENTRY)
    assert message.startswith(f"{FILE}:2: settings: ")
    assert fragment in message


def test_settings_read_durations_and_sizes() -> None:
    document = dedent(
        """\
        settings:
          connect_timeout_s: 10s
          read_timeout_s: 20
          total_timeout_s: 1.5m
          backoff_max_s: 1d
          max_bytes: 10MiB
          allow_private_networks: true
        """
    )
    settings = parse_sources(document + ENTRY, path=FILE).settings
    assert settings.connect_timeout_s == 10.0
    assert settings.read_timeout_s == 20.0
    assert settings.total_timeout_s == 90.0
    assert settings.backoff_max_s == 86400.0
    assert settings.max_bytes == 10 * 1024 * 1024
    assert settings.allow_private_networks is True
    assert settings.concurrency == FetchSettings().concurrency


def test_a_valid_entry_becomes_a_frozen_source_with_defaults() -> None:
    config = parse_sources(ENTRY, path=FILE)
    assert isinstance(config, SourcesConfig)
    assert config.path == FILE
    assert config.settings == FetchSettings()
    assert config.sources == (
        Source(
            id="cert-fr",
            name="CERT-FR",
            kind="feed",
            url="https://www.cert.ssi.gouv.fr/avis/feed/",
            category="advisory",
            language=None,
            vendors=(),
            products=(),
            enabled=True,
            poll_interval_s=6 * 3600,
            confirmed=False,
        ),
    )


def test_quoted_values_are_kept_as_written() -> None:
    document = replacing("name: CERT-FR", 'name: "0587"') + (
        '    language: "no"\n'
        '    products: ["0587", "1e3", "NO"]\n'
        "    poll_interval: 3600\n"
        "    enabled: false\n"
        "    confirmed: true\n"
    )
    (source,) = parse_sources(document, path=FILE).sources
    assert source.name == "0587"
    assert source.language == "no"
    assert source.products == ("0587", "1e3", "NO")
    assert source.poll_interval_s == 3600
    assert source.enabled is False
    assert source.confirmed is True


def test_duplicate_ids_name_both_entries_and_lines() -> None:
    document = ENTRY + (
        "  - id: cert-fr\n"
        "    name: CERT-FR again\n"
        "    kind: feed\n"
        "    url: https://www.cert.ssi.gouv.fr/alerte/feed/\n"
        "    category: advisory\n"
    )
    (message,) = errors(document)
    assert message == (
        f'{FILE}:7: sources[1] (id "cert-fr"): field "id": duplicate id "cert-fr", '
        "already used by sources[0] on line 2"
    )


def test_all_errors_of_the_file_are_reported_together_in_line_order() -> None:
    document = dedent(
        """\
        settings:
          concurency: 4
        sources:
          - id: one
            name: One
            kind: feed
            url: ftp://example.org/one
            category: advisory
          - id: two
            name: Two
            kind: feed
            url: https://example.org/two
            category: press
            enabled: yes
        extra: 1
        """
    )
    messages = errors(document)
    assert [m.split(": ", 1)[0] for m in messages] == [
        f"{FILE}:2",
        f"{FILE}:7",
        f"{FILE}:14",
        f"{FILE}:15",
    ]
    assert "unknown field 'concurency' (did you mean 'concurrency'?)" in messages[0]
    assert 'sources[0] (id "one"): field "url"' in messages[1]
    assert 'sources[1] (id "two"): field "enabled"' in messages[2]
    assert "unknown field 'extra' (allowed: settings, sources)" in messages[3]


@pytest.mark.parametrize(
    ("document", "fragment"),
    [
        ("", f"{FILE}:1: the file is empty"),
        ("# only a comment\n", f"{FILE}:1: the file is empty"),
        ("settings:\n  concurrency: 4\n", f"{FILE}:1: no `sources:` list"),
        ("sources:\n", f"{FILE}:1: sources: expected a list of sources, got an empty value"),
        ("sources: []\n", f"{FILE}:1: sources: the list is empty"),
        ("- a\n- b\n", f"{FILE}:1: expected `settings:` and `sources:` at the top level"),
        ("sources:\n  - just a string\n", f"{FILE}:2: sources[0]: expected a mapping"),
        ("settings: 3\n" + ENTRY, f"{FILE}:1: settings: expected a mapping of settings"),
    ],
    ids=[
        "empty",
        "comment-only",
        "no-sources",
        "sources-null",
        "sources-empty",
        "top-list",
        "entry-not-mapping",
        "settings-not-mapping",
    ],
)
def test_a_file_without_usable_sources_gets_a_clear_message(document: str, fragment: str) -> None:
    (message,) = errors(document)
    assert message.startswith(fragment)


@pytest.mark.parametrize(
    ("document", "fragment"),
    [
        (
            ENTRY + "    url: https://example.org/again\n",
            f"{FILE}:7: duplicate key 'url' (first on line 5); each key may appear once",
        ),
        (
            "settings:\n  concurrency: 4\n  concurrency: 8\n" + ENTRY,
            f"{FILE}:3: duplicate key 'concurrency' (first on line 2)",
        ),
        (
            "sources:\n\t- id: cert-fr\n",
            f"{FILE}:2: a tab character is not allowed here; indent YAML with spaces",
        ),
        (
            ENTRY + "    vendors: [microsoft\n",
            f"{FILE}:8: invalid YAML",
        ),
        (
            "%YAML 1.1\n---\n" + ENTRY,
            f"{FILE}:1: only YAML 1.2 is accepted (found %YAML 1.1)",
        ),
    ],
    ids=["duplicate-key-in-entry", "duplicate-key-in-settings", "tab", "unclosed", "yaml-1.1"],
)
def test_yaml_errors_point_at_the_line(document: str, fragment: str) -> None:
    with pytest.raises(ConfigError) as raised:
        parse_sources(document, path=FILE)
    assert str(raised.value).startswith(fragment)


def test_a_self_referring_alias_is_an_error_not_a_hang() -> None:
    document = "sources:\n  - &entry\n    id: loop\n    vendors: *entry\n"
    messages = errors(document)
    assert all(re.match(rf'{FILE}:\d+: sources\[0\] \(id "loop"\): ', m) for m in messages)


def test_an_alias_bomb_is_refused_within_budget() -> None:
    layers = ["a0: &a0 [x, x, x, x, x, x, x, x, x, x]"]
    layers += [f"a{i}: &a{i} [{', '.join([f'*a{i - 1}'] * 10)}]" for i in range(1, 9)]
    document = "\n".join(layers) + "\n" + with_line("vendors: *a8")
    messages = errors(document)
    assert f'{FILE}:11: sources[0] (id "cert-fr"): too many values' in "\n".join(messages)


# --- reading the file ----------------------------------------------------------------------


def test_load_sources_reads_a_file(tmp_path: Path) -> None:
    path = tmp_path / "sources.yml"
    path.write_text(ENTRY, encoding="utf-8")
    config = load_sources(path)
    assert config.path == path
    assert [s.id for s in config.sources] == ["cert-fr"]


def test_errors_from_a_file_name_its_path(tmp_path: Path) -> None:
    path = tmp_path / "sources.yml"
    path.write_text(with_line("enabled: yes"), encoding="utf-8")
    with pytest.raises(ConfigError, match=re.escape(f'{path}:7: sources[0] (id "cert-fr")')):
        load_sources(path)


def test_a_missing_file_is_a_config_error(tmp_path: Path) -> None:
    path = tmp_path / "nowhere.yml"
    with pytest.raises(ConfigError, match=re.escape(f"{path}: file not found")):
        load_sources(path)


def test_a_folder_is_a_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="is a folder, not a file"):
        load_sources(tmp_path)


def test_a_file_that_is_not_utf8_names_the_line(tmp_path: Path) -> None:
    path = tmp_path / "sources.yml"
    path.write_bytes(ENTRY.encode() + "    name: Zürich\n".encode("latin-1"))
    with pytest.raises(ConfigError, match=re.escape(f"{path}:7: the file is not valid UTF-8")):
        load_sources(path)


def test_a_utf8_byte_order_mark_is_accepted(tmp_path: Path) -> None:
    path = tmp_path / "sources.yml"
    path.write_bytes(b"\xef\xbb\xbf" + ENTRY.encode())
    assert len(load_sources(path).sources) == 1


# --- the shipped sources.yml ---------------------------------------------------------------


@pytest.fixture(scope="module")
def shipped() -> SourcesConfig:
    return load_sources(REPO / "sources.yml")


def test_the_shipped_sources_load_with_at_least_40_enabled_in_fr_de_en(
    shipped: SourcesConfig,
) -> None:
    enabled = [s for s in shipped.sources if s.enabled]
    assert len(enabled) >= 40
    assert {"fr", "de", "en"} <= {s.language for s in enabled}


def test_the_shipped_settings_are_production_settings(shipped: SourcesConfig) -> None:
    settings = shipped.settings
    assert settings.user_agent == "techwatch/0.1 (+https://github.com/techwatch/techwatch)"
    assert settings.max_bytes == 10 * 1024 * 1024
    assert settings.concurrency == 20
    assert settings.allow_private_networks is False


def test_the_shipped_poll_intervals_follow_the_category(shipped: SourcesConfig) -> None:
    for source in shipped.sources:
        if source.category == "status":
            assert 15 * 60 <= source.poll_interval_s <= 30 * 60, source.id
        if source.category in ("press", "blog"):
            assert source.poll_interval_s >= 3 * 3600, source.id


def test_every_unconfirmed_shipped_url_says_where_it_comes_from(shipped: SourcesConfig) -> None:
    lines = (REPO / "sources.yml").read_text(encoding="utf-8").splitlines()
    for source in shipped.sources:
        if source.confirmed:
            continue
        start = lines.index(f"  - id: {source.id}")
        assert lines[start - 1].lstrip().startswith("#"), f"{source.id} needs a comment"
