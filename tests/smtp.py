"""A plain SMTP server on 127.0.0.1 (aiosmtpd) that keeps what it receives, with the
TECHWATCH_SMTP_* settings pointing at it: shared by the CLI and flow tests that mail."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from contextlib import contextmanager
from email import message_from_bytes, policy
from typing import Any

import pytest
from aiosmtpd.controller import Controller


def free_port() -> int:
    """A port free right now on 127.0.0.1, for a server started next."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Inbox:
    """Every accepted message, parsed."""

    def __init__(self) -> None:
        self.messages: list[Any] = []

    async def handle_DATA(self, server, session, envelope):  # type: ignore[no-untyped-def]
        self.messages.append(message_from_bytes(envelope.original_content, policy=policy.default))
        return "250 Message accepted for delivery"


@contextmanager
def local_smtp(monkeypatch: pytest.MonkeyPatch, **env: str) -> Iterator[Inbox]:
    """Run a server for the block; `env` adds or overrides TECHWATCH_* settings."""
    port = free_port()
    inbox = Inbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=port, ready_timeout=10)
    controller.start()
    settings = {
        "TECHWATCH_SMTP_HOST": "127.0.0.1",
        "TECHWATCH_SMTP_PORT": str(port),
        "TECHWATCH_SMTP_SECURITY": "none",
        "TECHWATCH_MAIL_FROM": "veille@advisor.ch",
        "TECHWATCH_ADVISOR_EMAIL": "marie@advisor.ch",
    }
    for name, value in (settings | env).items():
        monkeypatch.setenv(name, value)
    try:
        yield inbox
    finally:
        controller.stop()
