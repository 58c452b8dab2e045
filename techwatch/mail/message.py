"""MailContent -> the exact bytes to send: pure, so that a retry sends the very same message.

Structure: `multipart/alternative` (text, then HTML). When the briefing has stories, its full
HTML is attached and the message becomes `multipart/mixed` wrapping that alternative part
first, then the attachment: mail clients show the alternative part as the body and the
briefing as a file. The "nothing to report" email has no attachment and stays
`multipart/alternative`.

Headers: every value that reaches a header passes through `one_line` (control, format and
line-separator characters become spaces) and addresses go through `email.headerregistry`,
so that no value can add a header line. The Message-ID is derived from the idempotency key and
the sender's domain: a deliberate resend after a crash carries the same Message-ID, and the
recipient's mail client can recognise it.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from email import policy
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import format_datetime
from urllib.parse import quote

from techwatch.briefing.model import Briefing
from techwatch.briefing.period import ZONE
from techwatch.clients.profile import Client
from techwatch.errors import TerminalError
from techwatch.mail.compose import MailContent, compose
from techwatch.mail.settings import Advisor, Mailbox, MailSettings

KIND_SUMMARY = "summary"
KINDS = (KIND_SUMMARY,)
_SAFE_FILENAME = re.compile(r"[^A-Za-z0-9._-]+")
_UNSAFE_CATEGORIES = ("Cc", "Cf", "Cs", "Co", "Cn", "Zl", "Zp")


class MailBuildError(TerminalError):
    """A message cannot be built (no recipient, an address that is not one)."""


@dataclass(frozen=True, slots=True)
class Outgoing:
    """One message ready for the outbox: its identity, its envelope and its exact bytes."""

    key: str
    kind: str
    client_id: str
    period: str
    briefing_id: str | None
    message_id: str
    sender: str  # envelope sender (MAIL FROM)
    recipients: tuple[str, ...]  # envelope recipients (RCPT TO)
    subject: str
    message: bytes  # CRLF line endings, as sent


def idempotency_key(kind: str, client_id: str, period: str) -> str:
    """One message per (kind, client, period): queueing it again finds the same key."""
    return f"{kind}/{client_id}/{period}"


def message_id(key: str, domain: str) -> str:
    """`<digest.techwatch@domain>`, the same for the same key and sender domain."""
    digest = hashlib.sha256(key.encode("utf-8")).hexdigest()[:32]
    return f"<{digest}.techwatch@{_ascii_domain(domain)}>"


def recipients(client: Client) -> tuple[Mailbox, ...]:
    """The client's contacts who receive the summary, each address once."""
    seen: dict[str, Mailbox] = {}
    for contact in client.contacts:
        if contact.receives_summary and contact.email.lower() not in seen:
            seen[contact.email.lower()] = Mailbox(contact.email, contact.name)
    return tuple(seen.values())


def build(
    content: MailContent,
    *,
    key: str,
    sender: Mailbox,
    advisor: Advisor,
    to: Sequence[Mailbox],
    date: datetime,
    language: str,
    unsubscribe_subject: str,
) -> EmailMessage:
    """The message with its headers; `date` must be aware (it is shown in Europe/Zurich)."""
    if not to:
        raise MailBuildError(f"{key}: no recipient")
    msg = EmailMessage(policy=policy.SMTP)
    msg["From"] = address(sender)
    msg["To"] = [address(m) for m in to]
    msg["Reply-To"] = address(Mailbox(advisor.email, advisor.name))
    msg["Subject"] = one_line(content.subject)
    msg["Date"] = format_datetime(date.astimezone(ZONE))
    msg["Message-ID"] = message_id(key, sender.address.rpartition("@")[2])
    msg["Auto-Submitted"] = "auto-generated"
    unsubscribe = quote(one_line(unsubscribe_subject), safe="")
    msg["List-Unsubscribe"] = f"<mailto:{_plain_address(advisor.email)}?subject={unsubscribe}>"
    msg.set_content(content.text, subtype="plain", charset="utf-8", cte="quoted-printable")
    msg.add_alternative(content.html, subtype="html", charset="utf-8", cte="quoted-printable")
    if content.attachment is not None:
        msg.add_attachment(
            content.attachment.html,
            subtype="html",
            charset="utf-8",
            cte="quoted-printable",
            filename=safe_filename(content.attachment.filename),
        )
    # After the parts: set_content and make_mixed move Content-* headers into the first part.
    msg["Content-Language"] = one_line(language)
    return msg


def outgoing(
    msg: EmailMessage,
    *,
    key: str,
    kind: str,
    client_id: str,
    period: str,
    briefing_id: str | None,
) -> Outgoing:
    """The outbox record of a built message: envelope from its headers, bytes as sent."""
    to = msg["To"].addresses
    return Outgoing(
        key=key,
        kind=kind,
        client_id=client_id,
        period=period,
        briefing_id=briefing_id,
        message_id=str(msg["Message-ID"]),
        sender=msg["From"].addresses[0].addr_spec,
        recipients=tuple(a.addr_spec for a in to),
        subject=str(msg["Subject"]),
        message=msg.as_bytes(policy=policy.SMTP),
    )


def one_line(value: object) -> str:
    """A header-safe value: line breaks, control and invisible format characters become
    spaces, runs of spaces one space. `Subject: a\\r\\nBcc: x` stays one Subject."""
    text = "".join(" " if unicodedata.category(c) in _UNSAFE_CATEGORIES else c for c in str(value))
    return " ".join(text.split())


def address(mailbox: Mailbox) -> Address:
    """A header address; an address that is not a plain `local@domain` is refused."""
    try:
        return Address(
            display_name=one_line(mailbox.name), addr_spec=_plain_address(mailbox.address)
        )
    except (ValueError, IndexError) as error:
        raise MailBuildError(f"not a usable email address: {mailbox.address!r}") from error


def safe_filename(name: str) -> str:
    return _SAFE_FILENAME.sub("_", one_line(name)).strip("._") or "attachment"


def _plain_address(text: str) -> str:
    if one_line(text) != text or " " in text or text.count("@") != 1:
        raise MailBuildError(f"not a usable email address: {text!r}")
    return text


def _ascii_domain(domain: str) -> str:
    """Message-IDs are ASCII: an internationalised domain in its IDNA form."""
    try:
        return domain.encode("idna").decode("ascii")
    except UnicodeError:
        return "localhost"


def summary(
    briefing: Briefing,
    client: Client,
    settings: MailSettings,
    *,
    briefing_id: str | None,
    now: datetime,
) -> Outgoing:
    """The client risk summary of `briefing`, ready to queue (dated `now`)."""
    key = idempotency_key(KIND_SUMMARY, client.id, briefing.period.label)
    msg = build(
        compose(briefing, client, settings.advisor),
        key=key,
        sender=settings.sender,
        advisor=settings.advisor,
        to=recipients(client),
        date=now,
        language=client.language,
        unsubscribe_subject=f"unsubscribe {client.id}",
    )
    return outgoing(
        msg,
        key=key,
        kind=KIND_SUMMARY,
        client_id=client.id,
        period=briefing.period.label,
        briefing_id=briefing_id,
    )
