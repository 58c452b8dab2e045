"""Identity keys: one stored item per (source, identity), stable across runs."""

from __future__ import annotations

import hashlib


def item_id(source_id: str, identity: str) -> str:
    """Stable primary key of an item: a short hash of its source and identity."""
    digest = hashlib.sha256(f"{source_id}\x00{identity}".encode()).hexdigest()
    return digest[:20]
