"""RELIABILITY 10: an invalid certificate fails closed, once, with no insecure retry."""

from __future__ import annotations

import ssl
from datetime import datetime
from pathlib import Path

import pytest

from techwatch.fetch.client import verifying_ssl_context
from tests.fetch.helpers import fetch_failure
from tests.fetch.server import Handler, LocalServer
from tests.tls import self_signed

pytestmark = pytest.mark.timeout(20)


def test_a_self_signed_certificate_is_refused_without_retry(
    now: datetime, self_signed_tls: ssl.SSLContext
) -> None:
    def feed(h: Handler) -> None:
        h.reply(200, b"<rss/>")

    with LocalServer({"/feed": feed}, tls=self_signed_tls) as server:
        failure = fetch_failure(server.url(), now)
    assert server.url().startswith("https://")
    assert failure.error.kind == "tls"
    assert not failure.error.transient
    assert "certificate" in failure.error.args[0]
    assert server.connections == 1  # one handshake attempt, no second try of any kind
    assert server.requests == []  # no request was sent over an unverified channel


def test_clients_share_one_verifying_context_per_trust_store(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Loading the CA bundle is paid once per process, not per client; pointing SSL_CERT_FILE
    elsewhere gives a context that trusts what it names."""
    monkeypatch.delenv("SSL_CERT_FILE", raising=False)
    default = verifying_ssl_context()
    assert verifying_ssl_context() is default
    assert default.verify_mode is ssl.CERT_REQUIRED and default.check_hostname
    cert_file, _ = self_signed(tmp_path)
    monkeypatch.setenv("SSL_CERT_FILE", str(cert_file))
    custom = verifying_ssl_context()
    assert custom is not default
    assert custom.verify_mode is ssl.CERT_REQUIRED
    assert len(custom.get_ca_certs()) == 1
