"""A real SMTP server on 127.0.0.1 (aiosmtpd, on a free port picked first), its TLS
certificate made in the test, and stored briefings in a real DuckDB file."""

from __future__ import annotations

import asyncio
import ssl
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword

from techwatch.mail.settings import Smtp
from tests.smtp import free_port
from tests.tls import self_signed

USER, PASSWORD = "advisor", "s3cret pass phrase"


@dataclass
class Mailbag:
    """What the server received, and how it should answer next (scripted replies)."""

    received: list[Any] = field(default_factory=list)
    rcpt_replies: dict[str, list[str]] = field(default_factory=dict)  # address -> replies
    data_replies: list[str] = field(default_factory=list)  # popped per DATA
    rset_replies: list[str] = field(default_factory=list)  # popped per RSET
    data_delay_s: float = 0.0
    data_started: int = 0  # DATA commands seen, whatever became of them
    peers: list[Any] = field(default_factory=list)  # client (host, port) of each message
    rsets: int = 0  # RSET commands seen

    @property
    def messages(self) -> list[EmailMessage]:
        return [
            message_from_bytes(e.original_content, policy=policy.default)  # type: ignore[misc]
            for e in self.received
        ]

    async def handle_RCPT(self, server, session, envelope, address, options):
        replies = self.rcpt_replies.get(address)
        if replies:
            return replies.pop(0)
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_RSET(self, server, session, envelope):
        self.rsets += 1
        return self.rset_replies.pop(0) if self.rset_replies else "250 OK"

    async def handle_DATA(self, server, session, envelope):
        self.data_started += 1
        if self.data_delay_s:
            await asyncio.sleep(self.data_delay_s)
        if self.data_replies:
            reply = self.data_replies.pop(0)
            if not reply.startswith("250"):
                return reply
        self.received.append(envelope)
        self.peers.append(session.peer)
        return "250 Message accepted for delivery"


@dataclass
class Server:
    port: int
    bag: Mailbag
    cert: Path | None = None

    def settings(self, **overrides: Any) -> Smtp:
        values: dict[str, Any] = dict(
            host="127.0.0.1", port=self.port, security="none", timeout_s=5.0
        )
        values.update(overrides)
        return Smtp(**values)


@pytest.fixture(scope="session")
def certificate(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """A self-signed certificate for 127.0.0.1 and localhost: (cert.pem, key.pem)."""
    return self_signed(tmp_path_factory.mktemp("tls"))


def _authenticate(server, session, envelope, mechanism, auth_data):  # type: ignore[no-untyped-def]
    ok = isinstance(auth_data, LoginPassword) and (
        auth_data.login.decode() == USER and auth_data.password.decode() == PASSWORD
    )
    return AuthResult(success=ok)


@pytest.fixture
def smtp_server(certificate: tuple[Path, Path]) -> Iterator[Callable[..., Server]]:
    """Start servers with `smtp_server(mode)`: mode plain, starttls or tls; `auth=True`
    requires AUTH (over TLS only, aiosmtpd's default). Every server is stopped at the end."""
    started: list[Controller] = []

    def start(mode: str = "plain", *, auth: bool = False) -> Server:
        bag = Mailbag()
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(*certificate)
        port = free_port()
        options: dict[str, Any] = {}
        if mode == "starttls":
            options = {"tls_context": context, "require_starttls": True}
        elif mode == "tls":
            options = {"ssl_context": context}
        if auth:
            options |= {"authenticator": _authenticate, "auth_required": True}
        controller = Controller(
            bag, hostname="127.0.0.1", port=port, server_hostname="localhost",
            ready_timeout=10, **options,
        )  # fmt: skip
        controller.start()
        started.append(controller)
        return Server(port, bag, certificate[0] if mode != "plain" else None)

    yield start
    for controller in started:
        controller.stop()


@pytest.fixture
def db(tmp_path: Path) -> Path:
    return tmp_path / "var" / "techwatch.duckdb"
