"""Fetching sources over HTTP within the guards of RELIABILITY.md (cases 1-10).

`FeedClient` is the entry point; `AddressPolicy` decides which addresses may be reached.
Modules: `client` (requests, redirects, status and error mapping), `guards` (address checks and
the resolver that enforces them), `decode` (Content-Encoding with a size cap).
"""

from __future__ import annotations

from techwatch.fetch.client import FeedClient
from techwatch.fetch.guards import AddressPolicy

__all__ = ["AddressPolicy", "FeedClient"]
