"""Configuration values: parsers that accept what a person writes, in strict pydantic fields.

Each parser takes the plain YAML value, returns the normalised value (seconds, bytes, stripped
text) or raises a `PydanticCustomError` whose message reads well after `field "name": `.
The `Annotated` types at the end are what models use:

    poll_interval: PollInterval = 6 * 3600     # 1h, 90m or 3600 -> 3600
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from typing import Annotated, Any
from urllib.parse import urlsplit

from pydantic import PlainValidator
from pydantic_core import PydanticCustomError

__all__ = [
    "Duration",
    "Flag",
    "Language",
    "PollInterval",
    "Size",
    "Slug",
    "Text",
    "Url",
    "Whole0",
    "Whole1",
    "invalid",
    "one_of",
    "parse_duration",
    "parse_flag",
    "parse_language",
    "parse_poll_interval",
    "parse_positive_duration",
    "parse_size",
    "parse_slug",
    "parse_text",
    "parse_url",
    "whole_number",
]

MIN_POLL_INTERVAL_S = 5 * 60

# Searched, not tested char by char in Python: ~5x faster on the texts of a sources.yml.
CONTROL = re.compile(r"[\x00-\x1f]")
SPACE = re.compile(r"\s")  # str.isspace's characters (the same Unicode property)
SLUG = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")
DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h|d|w)\s*$")
DURATION_UNITS = {"ms": 0.001, "s": 1, "m": 60, "h": 3600, "d": 86400, "w": 7 * 86400}
SIZE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([KMG]i?B|B)\s*$", re.IGNORECASE)
SIZE_UNITS = {
    "b": 1,
    "kb": 10**3,
    "mb": 10**6,
    "gb": 10**9,
    "kib": 2**10,
    "mib": 2**20,
    "gib": 2**30,
}
# ISO 639-1: a typo such as "ge" or "sp" is caught instead of being stored as a language.
_ISO_639_1_CODES = """
    aa ab ae af ak am an ar as av ay az ba be bg bh bi bm bn bo br bs ca ce ch co cr cs cu cv
    cy da de dv dz ee el en eo es et eu fa ff fi fj fo fr fy ga gd gl gn gu gv ha he hi ho hr ht
    hu hy hz ia id ie ig ii ik io is it iu ja jv ka kg ki kj kk kl km kn ko kr ks ku kv kw ky la
    lb lg li ln lo lt lu lv mg mh mi mk ml mn mr ms mt my na nb nd ne ng nl nn no nr nv ny oc oj
    om or os pa pi pl ps pt qu rm rn ro ru rw sa sc sd se sg si sk sl sm sn so sq sr ss st su sv
    sw ta te tg th ti tk tl tn to tr ts tt tw ty ug uk ur uz ve vi vo wa wo xh yi yo za zh
    zu"""
ISO_639_1 = frozenset(_ISO_639_1_CODES.split())


def invalid(kind: str, message: str, **context: Any) -> PydanticCustomError:
    """The error a parser raises: `kind` is the pydantic error type, `message` a template."""
    return PydanticCustomError(kind, message, context)


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def parse_duration(value: Any) -> float:
    """A number of seconds, or a string such as 30s, 15m, 6h, 1d; never .nan or .inf."""
    if _is_number(value) and math.isfinite(value):
        return float(value)
    if isinstance(value, str) and (found := DURATION.match(value)):
        return float(found.group(1)) * DURATION_UNITS[found.group(2)]
    raise invalid("duration", "expected a duration such as 30s, 15m, 6h or 1d, or seconds")


def parse_positive_duration(value: Any) -> float:
    """A duration of more than zero seconds."""
    seconds = parse_duration(value)
    if seconds <= 0:
        raise invalid("duration", "must be more than zero")
    return seconds


def parse_poll_interval(value: Any) -> int:
    """Whole seconds between two fetches of a source; at least MIN_POLL_INTERVAL_S."""
    seconds = parse_duration(value)
    if seconds < MIN_POLL_INTERVAL_S:
        raise invalid("duration", "must be at least 5m, out of courtesy to the publisher")
    return round(seconds)


def parse_size(value: Any) -> int:
    """Bytes as a whole number, or a string such as 10MiB or 512KB."""
    if isinstance(value, int) and not isinstance(value, bool):
        number = float(value)
    elif isinstance(value, str) and (found := SIZE.match(value)):
        number = float(found.group(1)) * SIZE_UNITS[found.group(2).lower()]
    else:
        raise invalid("size", "expected a size such as 10MiB or 512KB, or a whole number of bytes")
    if number < 1:
        raise invalid("size", "must be at least one byte")
    return int(number)


def whole_number(minimum: int) -> Callable[[Any], int]:
    """A parser of whole numbers of at least `minimum` (a boolean is not a number)."""

    def check(value: Any) -> int:
        if not isinstance(value, int) or isinstance(value, bool):
            raise invalid("int_type", "expected a whole number")
        if value < minimum:
            raise invalid("int_range", "must be at least {minimum}", minimum=minimum)
        return value

    return check


def parse_text(value: Any) -> str:
    """Non-empty single-line text, stripped; a number or a date written unquoted is refused."""
    if not isinstance(value, str):
        raise invalid("string_type", "expected text")
    if not value.strip():
        raise invalid("string_empty", "must not be empty")
    if CONTROL.search(value):
        raise invalid("string_control", "must be a single line without control characters")
    return value.strip()


def parse_flag(value: Any) -> bool:
    """true or false, and nothing YAML 1.1 would have read as a boolean."""
    if not isinstance(value, bool):
        raise invalid("bool_type", "expected true or false")
    return value


def parse_slug(value: Any) -> str:
    """An identifier such as cert-fr-avis: lowercase letters, digits and single dashes."""
    text = parse_text(value)
    if not SLUG.match(text):
        raise invalid(
            "slug",
            "must be a slug: lowercase letters, digits and single dashes, such as cert-fr-avis",
        )
    return text


def one_of(kind: str, allowed: tuple[str, ...]) -> Callable[[Any], str]:
    """A parser of text that must be one of `allowed`; `kind` is its error type."""

    def check(value: Any) -> str:
        text = parse_text(value)
        if text not in allowed:
            raise invalid(kind, "must be one of: {allowed}", allowed=", ".join(allowed))
        return text

    return check


def parse_language(value: Any) -> str | None:
    """An ISO 639-1 code such as fr; an empty value means not known."""
    if value is None:
        return None  # `language:` left empty, or ~: not known
    text = parse_text(value)
    if text not in ISO_639_1:
        raise invalid(
            "language", "must be a lowercase two-letter ISO 639-1 code such as fr, de, en or it"
        )
    return text


def parse_url(value: Any) -> str:
    """http and https only, with a host and without credentials (case 9 of RELIABILITY.md)."""
    text = parse_text(value)
    if SPACE.search(text):
        raise invalid("url", "must not contain spaces")
    parts = urlsplit(text)
    scheme = parts.scheme.lower()
    if scheme not in ("http", "https"):
        hint = f'; did you mean "https://{text}"?' if not parts.scheme else ""
        raise invalid(
            "url",
            'only http and https URLs are allowed, got "{url}"{hint}',
            url=text,
            hint=hint,
        )
    try:
        host, _port = parts.hostname, parts.port
    except ValueError as e:
        raise invalid("url", 'invalid port in "{url}"', url=text) from e
    if not host:
        raise invalid("url", 'the URL has no host: "{url}"', url=text)
    if parts.username is not None or parts.password is not None:
        # "url_credentials" is in yamldoc.NO_ECHO: the value is never quoted back.
        raise invalid(
            "url_credentials",
            "must not carry a user name or password; secrets come from environment variables",
        )
    return text


Text = Annotated[str, PlainValidator(parse_text)]
Flag = Annotated[bool, PlainValidator(parse_flag)]
Duration = Annotated[float, PlainValidator(parse_positive_duration)]
Size = Annotated[int, PlainValidator(parse_size)]
Whole0 = Annotated[int, PlainValidator(whole_number(0))]
Whole1 = Annotated[int, PlainValidator(whole_number(1))]
Slug = Annotated[str, PlainValidator(parse_slug)]
Language = Annotated[str | None, PlainValidator(parse_language)]
Url = Annotated[str, PlainValidator(parse_url)]
PollInterval = Annotated[int, PlainValidator(parse_poll_interval)]
