"""Fixtures for crawl tests: one parse pool for the module, a certificate the client trusts."""

from __future__ import annotations

import ssl
from collections.abc import Iterator
from pathlib import Path

import pytest

from techwatch.parse.pool import ParsePool
from tests.tls import self_signed


@pytest.fixture(scope="module")
def pool() -> Iterator[ParsePool]:
    with ParsePool(1, 20) as parse_pool:
        yield parse_pool


@pytest.fixture(scope="session")
def trusted_tls(tmp_path_factory: pytest.TempPathFactory) -> tuple[ssl.SSLContext, Path]:
    """A server context for 127.0.0.1 and its certificate file, for SSL_CERT_FILE: CSAF
    documents are only followed over https, so the ROLIE tests serve https that verifies."""
    cert_file, key_file = self_signed(tmp_path_factory.mktemp("crawl-tls"))
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert_file, key_file)
    return context, cert_file
