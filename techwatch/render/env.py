"""Jinja2 environments shared by briefings and mail.

Undefined variables raise (a template that silently prints nothing would send a half-empty
document to a client); HTML templates are autoescaped, and Markdown templates escape feed
text with the `md` filter so that a title cannot inject links, markup or headings.
"""

from __future__ import annotations

import re
from functools import cache
from urllib.parse import urlsplit

from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape

# `(` and `)` only matter right after `]`, which is escaped, so they stay readable.
_MD_SPECIAL = re.compile(r"([\\`*_{}\[\]#|~])")
_LEADING_MARK = re.compile(r"^([-+=])")
_LEADING_NUMBER = re.compile(r"^(\d+)([.)])")


def md(text: object) -> str:
    """Markdown-escape untrusted text on one line: punctuation escaped, HTML as entities."""
    value = " ".join(str(text).split())
    value = value.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    value = _MD_SPECIAL.sub(r"\\\1", value)
    value = _LEADING_NUMBER.sub(r"\1\\\2", value)
    return _LEADING_MARK.sub(r"\\\1", value)


def safe_url(url: object) -> str | None:
    """The URL when it is a plain http(s) link a client may follow, else None."""
    if not isinstance(url, str) or any(c.isspace() or ord(c) < 32 for c in url):
        return None
    try:
        parts = urlsplit(url)
    except ValueError:
        return None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return None
    return url.replace("<", "%3C").replace(">", "%3E")


@cache
def environment() -> Environment:
    env = Environment(
        loader=PackageLoader("techwatch.render", "templates"),
        undefined=StrictUndefined,
        autoescape=select_autoescape(enabled_extensions=("html.j2",), default=False),
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    env.filters["md"] = md
    env.filters["safe_url"] = safe_url
    return env
