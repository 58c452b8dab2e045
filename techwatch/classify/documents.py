"""Stored items as the classifier reads them: title, the start of the text, language.

The text is cut at DOCUMENT_CHARS: what an item is about is said at its start (title, lead,
summary), long advisories mostly add lists of products and versions, and n-gram features cost
time in proportion to length. Training and classification cut at the same place.

Why 1,000 (3,000 before session 27): the default model trained at each, same seed, measured on
held-out real data, was as good (real news TEST, 136 items: topics micro/macro-F1 0.661/0.566
against 0.649/0.576, sectors macro-F1 0.350/0.351, severity accuracy 0.875/0.882; CVE
descriptions' severity accuracy 0.7446/0.7455 over 5,152; ICS `industry` recall 0.979/0.975;
CERT-FR `vulnerability` recall 1.0 both) and classified news-length items 1.6x faster
(bench/classify_bench.py --min-chars 1500: 1,465 against 908 items/s on one core).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Final

from techwatch.classify.corpus import Document

DOCUMENT_CHARS: Final = 1_000


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
