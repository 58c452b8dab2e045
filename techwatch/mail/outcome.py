"""What the delivery loop hands a transport and what a transport answers."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, Protocol

Result = Literal["sent", "sent_to_folder", "deferred", "failed", "uncertain"]


@dataclass(frozen=True, slots=True)
class Claimed:
    """One outbox row taken for sending: its envelope and its exact bytes."""

    id: int
    key: str
    client_id: str
    message_id: str
    sender: str
    recipients: tuple[str, ...]
    message: bytes
    attempts: int  # including this one


@dataclass(frozen=True, slots=True)
class Outcome:
    """`deferred`: try again later (4xx, connection trouble); `failed`: never (5xx);
    `uncertain`: the server may have accepted it (no reply after the final dot).
    `stop`: the transport cannot go on (server unreachable, TLS or login refused), so the
    rest of the run is left queued rather than tried against a dead server."""

    result: Result
    reply: str
    stop: bool = False


class Transport(Protocol):
    via: str  # "smtp" or "folder"

    def send(self, item: Claimed) -> Outcome: ...

    def close(self) -> None: ...
