"""Delivery to a folder: each message as a `.eml` file plus its HTML body as a page a person
can open in a browser. Used when no SMTP server is configured (the demo, a fresh machine),
and by `techwatch mail preview`.
"""

from __future__ import annotations

from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path

from techwatch.files import write_atomically
from techwatch.mail.message import safe_filename
from techwatch.mail.outcome import Claimed, Outcome


def write_message(folder: Path, stem: str, message: bytes) -> tuple[Path, Path]:
    """Write `<stem>.eml` and `<stem>.html` (the HTML alternative) atomically; their paths."""
    folder.mkdir(parents=True, exist_ok=True)
    name = safe_filename(stem)
    eml, html = folder / f"{name}.eml", folder / f"{name}.html"
    write_atomically(eml, message)
    write_atomically(html, html_body(message).encode("utf-8"))
    return eml, html


def html_body(message: bytes) -> str:
    """The HTML alternative of a message, as the recipient's mail client shows it."""
    parsed = message_from_bytes(message, policy=policy.default)
    assert isinstance(parsed, EmailMessage)
    part = parsed.get_body(preferencelist=("html",))
    if part is None:
        return ""
    assert isinstance(part, EmailMessage)
    return str(part.get_content())


class FolderTransport:
    via = "folder"

    def __init__(self, folder: Path) -> None:
        self.folder = folder

    def send(self, item: Claimed) -> Outcome:
        try:
            eml, _ = write_message(self.folder, item.key.replace("/", "-"), item.message)
        except OSError as error:
            return Outcome("deferred", f"cannot write to {self.folder}: {error}", stop=True)
        return Outcome("sent_to_folder", str(eml))

    def close(self) -> None:
        return None
