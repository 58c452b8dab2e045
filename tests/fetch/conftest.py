"""Session fixtures for fetch tests: a self-signed certificate and a gzip bomb, built once."""

from __future__ import annotations

import ssl
import zlib

import pytest

from tests.tls import self_signed

BOMB_DECODED = 200 * 2**20


@pytest.fixture(scope="session")
def self_signed_tls(tmp_path_factory: pytest.TempPathFactory) -> ssl.SSLContext:
    """A server context whose certificate is valid for 127.0.0.1 but signed by nobody we trust."""
    cert_file, key_file = self_signed(tmp_path_factory.mktemp("tls"))
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert_file, key_file)
    return context


@pytest.fixture(scope="session")
def gzip_bomb() -> bytes:
    """200 MiB of zeros as a ~200 KiB gzip body, compressed in pieces to keep memory low."""
    compressor = zlib.compressobj(9, zlib.DEFLATED, 16 + zlib.MAX_WBITS)
    block = bytes(2**20)
    parts = [compressor.compress(block) for _ in range(BOMB_DECODED // len(block))]
    parts.append(compressor.flush())
    return b"".join(parts)
