"""Stored items as the classifier reads them: title, the start of the text, language.

The text is cut at DOCUMENT_CHARS: what an item is about is said at its start (title, lead,
summary), long advisories mostly add lists of products and versions, and n-gram features cost
time in proportion to length. Training and classification cut at the same place.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Final

from techwatch.classify.corpus import Document

DOCUMENT_CHARS: Final = 3_000


def item_document(row: Mapping[str, Any], example_id: str | None = None) -> Document:
    """A store row (id, title, text, language) as a classifier document."""
    return Document(
        id=example_id or row["id"],
        title=row["title"],
        text=(row.get("text") or "")[:DOCUMENT_CHARS],
        language=row.get("language"),
    )


def example_id(item_id: str) -> str:
    """The id of a training example taken from the store: never clashes with seed ids."""
    return f"store:{item_id}"
