"""Messages as a mail client parses them: structure, headers, and no header injection from any
value that reaches a header (RELIABILITY.md cases 27-29)."""

from __future__ import annotations

import dataclasses
from email import message_from_bytes, policy
from email.message import EmailMessage

import pytest

from techwatch.clients.profile import Contact
from techwatch.mail.message import (
    MailBuildError,
    idempotency_key,
    message_id,
    one_line,
    summary,
)
from techwatch.mail.settings import Advisor, Mailbox
from tests.mail.factories import INJECTION, NOW, SETTINGS, briefing, client, entry


def parsed(raw: bytes) -> EmailMessage:
    msg = message_from_bytes(raw, policy=policy.default)
    assert isinstance(msg, EmailMessage)
    return msg


def test_nothing_to_report_is_multipart_alternative_text_then_html():
    out = summary(briefing(), client(), SETTINGS, briefing_id="b1", now=NOW)
    msg = parsed(out.message)
    assert msg.get_content_type() == "multipart/alternative"
    assert [p.get_content_type() for p in msg.iter_parts()] == ["text/plain", "text/html"]
    assert "Rien ne requiert votre attention" in msg.get_body(("plain",)).get_content()
    assert msg["Subject"] == "[Veille] Rien à signaler - semaine 48"
    assert msg["Date"].datetime == NOW
    assert msg["Content-Language"] == "fr"
    assert msg["Auto-Submitted"] == "auto-generated"
    assert out.recipients == ("claire@cabinet.example",)
    assert b"\r\n" in out.message and b"\n" not in out.message.replace(b"\r\n", b"")


def test_with_stories_the_full_briefing_is_attached_after_the_alternative_part():
    out = summary(briefing((entry(),)), client(), SETTINGS, briefing_id="b1", now=NOW)
    msg = parsed(out.message)
    assert msg.get_content_type() == "multipart/mixed"
    body, attachment = msg.iter_parts()
    assert body.get_content_type() == "multipart/alternative"
    assert attachment.get_content_disposition() == "attachment"
    assert attachment.get_filename() == "veille-2026-W48.html"
    assert "FortiOS SSL-VPN flaw 0" in attachment.get_content()


def test_message_id_is_stable_per_key_and_domain():
    key = idempotency_key("summary", "cabinet", "2026-W48")
    assert key == "summary/cabinet/2026-W48"
    assert message_id(key, "conseil.example") == message_id(key, "conseil.example")
    assert message_id(key, "conseil.example") != message_id(key + "x", "conseil.example")
    assert message_id(key, "conseil.example").endswith(".techwatch@conseil.example>")
    assert message_id(key, "bücher.example").endswith("@xn--bcher-kva.example>")
    first = summary(briefing(), client(), SETTINGS, briefing_id="b1", now=NOW)
    later = summary(briefing(), client(), SETTINGS, briefing_id="b2", now=NOW.replace(hour=9))
    assert first.message_id == later.message_id == parsed(first.message)["Message-ID"]


def test_no_value_can_add_a_header_line():
    hostile_client = dataclasses.replace(
        client(contacts=(Contact(INJECTION, "claire@cabinet.example"),)), name=INJECTION
    )
    settings = dataclasses.replace(
        SETTINGS,
        sender=Mailbox("veille@conseil.example", INJECTION),
        advisor=Advisor("jean@conseil.example", INJECTION, INJECTION),
    )
    hostile = briefing((entry(title=INJECTION),), period="2026-W48")
    out = summary(hostile, hostile_client, settings, briefing_id=INJECTION, now=NOW)
    msg = parsed(out.message)
    names = [name.lower() for name in msg]
    assert names == [
        "from", "to", "reply-to", "subject", "date", "message-id", "auto-submitted",
        "list-unsubscribe", "mime-version", "content-type", "content-language",
    ]  # fmt: skip
    assert msg.get_all("Bcc") is None and msg.get_all("X-Injected") is None
    assert [a.addr_spec for a in msg["To"].addresses] == ["claire@cabinet.example"]
    assert msg["To"].addresses[0].display_name == one_line(INJECTION)
    assert msg["From"].addresses[0].addr_spec == "veille@conseil.example"
    head = out.message.split(b"\r\n\r\n", 1)[0]
    assert not any(
        line.lower().startswith((b"bcc:", b"x-injected:")) for line in head.split(b"\r\n")
    )


@pytest.mark.parametrize(
    "address",
    ["claire@cabinet.example\r\nBcc: victim@evil.example", "claire@cabinet.example, x@y.z",
     "not an address", "a@b@c"],
)  # fmt: skip
def test_a_recipient_address_that_is_not_one_is_refused(address):
    bad = client(contacts=(Contact("Claire", address),))
    with pytest.raises(MailBuildError, match="not a usable email address"):
        summary(briefing(), bad, SETTINGS, briefing_id="b1", now=NOW)


def test_a_client_without_a_contact_receiving_the_summary_gets_no_message():
    silent = client(contacts=(Contact("IT", "it@cabinet.example", receives_summary=False),))
    with pytest.raises(MailBuildError, match="no recipient"):
        summary(briefing(), silent, SETTINGS, briefing_id="b1", now=NOW)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("a\r\nBcc: x", "a Bcc: x"),
        ("a\nb\rc", "a b c"),
        ("tab\there", "tab here"),
        ("nul\x00byte", "nul byte"),
        ("line\u2028separator\u2029para", "line separator para"),
        ("bidi \u202eevil\u202c name", "bidi evil name"),
        ("  many   spaces  ", "many spaces"),
        ("Café Müller", "Café Müller"),
    ],
)
def test_one_line(value, expected):
    assert one_line(value) == expected
