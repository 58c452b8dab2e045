"""A sender process to kill at the worst moment (case 32), driven over stdin/stdout.

    python -m tests.mail.worker DB PORT CLIENT...

Sends the summaries of CLIENT... to the SMTP server on 127.0.0.1:PORT; after the server has
accepted the first message and before the outbox records it, prints "accepted" and waits for
a line on stdin (or a SIGKILL from the test).
"""

from __future__ import annotations

import dataclasses
import sys
from pathlib import Path
from typing import Any

from techwatch.mail import outbox, send
from techwatch.mail.settings import Smtp
from tests.mail.factories import NOW, SETTINGS, client


def pause_after_acceptance() -> None:
    original = outbox._record

    def paused(*args: Any, **kwargs: Any) -> dict[str, Any]:
        print("accepted", flush=True)
        sys.stdin.readline()
        return original(*args, **kwargs)

    outbox._record = paused  # type: ignore[assignment]


def main(argv: list[str]) -> None:
    db, port, client_ids = Path(argv[0]), int(argv[1]), argv[2:]
    pause_after_acceptance()
    smtp = Smtp(host="127.0.0.1", port=port, security="none", timeout_s=10)
    settings = dataclasses.replace(SETTINGS, smtp=smtp)
    clients = [client(c) for c in client_ids]
    send.send(db, clients, settings, db.parent / "outbox", lambda: NOW, wait_s=10)
    print("done", flush=True)


if __name__ == "__main__":
    main(sys.argv[1:])
