"""Mail settings from the environment: validated at once, naming the variable; the password
never appears in a message, a repr or a log."""

from __future__ import annotations

import logging

import pytest

from techwatch.errors import ConfigError
from techwatch.mail.settings import BLOCK_VARIABLE, DEMO_ADDRESS, load_settings, with_block

PASSWORD = "hunter2 with spaces"
BASE = {
    "TECHWATCH_SMTP_HOST": "smtp.conseil.example",
    "TECHWATCH_MAIL_FROM": "Veille Conseil <veille@conseil.example>",
    "TECHWATCH_ADVISOR_EMAIL": "jean@conseil.example",
}


def test_no_settings_means_the_outbox_folder_and_an_invalid_demo_address():
    settings = load_settings({})
    assert settings.smtp is None
    assert settings.sender.address == DEMO_ADDRESS
    assert settings.advisor.email == DEMO_ADDRESS


def test_a_full_configuration():
    env = {
        **BASE,
        "TECHWATCH_SMTP_SECURITY": "tls",
        "TECHWATCH_SMTP_USER": "jean",
        "TECHWATCH_SMTP_PASSWORD": PASSWORD,
        "TECHWATCH_SMTP_TIMEOUT": "12",
        "TECHWATCH_ADVISOR_NAME": "Jean Conseil",
        "TECHWATCH_ADVISOR_PHONE": "+41 21 555 00 00",
    }
    settings = load_settings(env)
    assert settings.smtp is not None
    assert (settings.smtp.host, settings.smtp.port, settings.smtp.security) == (
        "smtp.conseil.example", 465, "tls",
    )  # fmt: skip
    assert settings.smtp.timeout_s == 12
    assert settings.smtp.password is not None and settings.smtp.password.reveal() == PASSWORD
    assert (settings.sender.name, settings.sender.address) == (
        "Veille Conseil", "veille@conseil.example",
    )  # fmt: skip
    assert settings.advisor.name == "Jean Conseil" and settings.domain == "conseil.example"
    assert PASSWORD not in repr(settings) and PASSWORD not in str(settings)


@pytest.mark.parametrize(
    ("security", "port"), [("none", 25), ("starttls", 587), ("tls", 465), ("", 587)]
)
def test_default_port_follows_security(security, port):
    settings = load_settings({**BASE, "TECHWATCH_SMTP_SECURITY": security})
    assert settings.smtp is not None and settings.smtp.port == port


@pytest.mark.parametrize(
    ("env", "names"),
    [
        ({**BASE, "TECHWATCH_SMTP_SECURITY": "ssl"}, ["TECHWATCH_SMTP_SECURITY"]),
        ({**BASE, "TECHWATCH_SMTP_PORT": "0"}, ["TECHWATCH_SMTP_PORT"]),
        ({**BASE, "TECHWATCH_SMTP_PORT": "smtp"}, ["TECHWATCH_SMTP_PORT"]),
        ({**BASE, "TECHWATCH_SMTP_TIMEOUT": "nan"}, ["TECHWATCH_SMTP_TIMEOUT"]),
        ({**BASE, "TECHWATCH_SMTP_PASSWORD": PASSWORD}, ["TECHWATCH_SMTP_PASSWORD"]),
        ({**BASE, "TECHWATCH_SMTP_USER": "jean"}, ["TECHWATCH_SMTP_USER"]),
        (
            {**BASE, "TECHWATCH_SMTP_SECURITY": "none", "TECHWATCH_SMTP_USER": "jean",
             "TECHWATCH_SMTP_PASSWORD": PASSWORD},
            ["TECHWATCH_SMTP_USER", "unencrypted"],
        ),
        ({**BASE, "TECHWATCH_MAIL_FROM": "not-an-address"}, ["TECHWATCH_MAIL_FROM"]),
        ({**BASE, "TECHWATCH_MAIL_FROM": "a@b.example\r\nBcc: x@y.example"},
         ["TECHWATCH_MAIL_FROM"]),
        ({"TECHWATCH_SMTP_HOST": "smtp.example"},
         ["TECHWATCH_MAIL_FROM", "TECHWATCH_ADVISOR_EMAIL"]),
        ({"TECHWATCH_SMTP_PASSWORD": PASSWORD}, ["TECHWATCH_SMTP_PASSWORD", "SMTP_HOST"]),
        ({**BASE, "TECHWATCH_SMTP_CA_FILE": "/nonexistent/ca.pem"}, ["TECHWATCH_SMTP_CA_FILE"]),
    ],
)  # fmt: skip
def test_every_problem_names_its_variable_and_never_the_password(env, names):
    with pytest.raises(ConfigError) as caught:
        load_settings(env)
    message = str(caught.value)
    assert all(name in message for name in names), message
    assert PASSWORD not in message


def test_all_problems_are_reported_at_once():
    env = {**BASE, "TECHWATCH_SMTP_SECURITY": "ssl", "TECHWATCH_SMTP_PORT": "99999"}
    with pytest.raises(ConfigError) as caught:
        load_settings({**env, "TECHWATCH_ADVISOR_EMAIL": "nope"})
    message = str(caught.value)
    for name in ("TECHWATCH_SMTP_SECURITY", "TECHWATCH_SMTP_PORT", "TECHWATCH_ADVISOR_EMAIL"):
        assert name in message


def test_the_password_is_not_in_logs_of_a_delivery(caplog, db, smtp_server):
    """An authenticated delivery over STARTTLS, logged at DEBUG: the password never shows."""
    import dataclasses

    from techwatch.mail import send
    from techwatch.mail.settings import Secret
    from tests.mail.conftest import PASSWORD as SERVER_PASSWORD
    from tests.mail.conftest import USER
    from tests.mail.factories import NOW, SETTINGS, briefing, client, entry, store_briefing

    server = smtp_server("starttls", auth=True)
    smtp = server.settings(
        security="starttls", ca_file=server.cert, user=USER, password=Secret(SERVER_PASSWORD)
    )
    store_briefing(db, briefing((entry(),), client_id="a"))
    settings = dataclasses.replace(SETTINGS, smtp=smtp)
    with caplog.at_level(logging.DEBUG):
        result = send.send(db, [client("a")], settings, db.parent / "outbox", lambda: NOW)
    assert result.report.count("sent") == 1
    assert caplog.records  # something was logged
    assert SERVER_PASSWORD not in caplog.text
    assert SERVER_PASSWORD not in repr(result) and SERVER_PASSWORD not in repr(settings)


BLOCK = dict(
    block="smtp-prod", host="smtp.conseil.example", port=None, user="veille",
    password=PASSWORD, verify=True,
)  # fmt: skip
ADDRESSES = {k: v for k, v in BASE.items() if k != "TECHWATCH_SMTP_HOST"}


@pytest.mark.parametrize(
    ("smtp_type", "security", "port"),
    [("SSL", "tls", 465), ("STARTTLS", "starttls", 587), ("starttls", "starttls", 587)],
)
def test_a_prefect_block_gives_the_server_and_its_credentials(smtp_type, security, port):
    env = with_block({**ADDRESSES, BLOCK_VARIABLE: "smtp-prod"}, smtp_type=smtp_type, **BLOCK)
    assert BLOCK_VARIABLE not in env
    smtp = load_settings(env).smtp
    assert smtp is not None
    assert (smtp.host, smtp.security, smtp.port, smtp.user) == (
        "smtp.conseil.example", security, port, "veille",
    )  # fmt: skip
    assert smtp.password is not None and smtp.password.reveal() == PASSWORD


@pytest.mark.parametrize(
    ("env", "overrides", "expected"),
    [
        ({"TECHWATCH_SMTP_PASSWORD": "x"}, {}, "TECHWATCH_SMTP_PASSWORD is set but"),
        ({"TECHWATCH_SMTP_HOST": "other"}, {}, "TECHWATCH_SMTP_HOST is set but"),
        ({}, {"verify": False}, "verify=False is not supported"),
        ({}, {"smtp_type": "SMTPS"}, "unknown smtp_type 'SMTPS'"),
    ],
    ids=["password-twice", "host-twice", "no-verify", "bad-type"],
)
def test_a_block_that_cannot_be_used_is_refused_without_its_password(env, overrides, expected):
    with pytest.raises(ConfigError) as caught:
        with_block({**ADDRESSES, **env}, **{"smtp_type": "STARTTLS", **BLOCK, **overrides})
    assert expected in str(caught.value)
    assert PASSWORD not in str(caught.value)


def test_a_block_name_nobody_read_is_an_error_not_a_silent_folder_delivery():
    with pytest.raises(ConfigError, match=BLOCK_VARIABLE):
        load_settings({**ADDRESSES, BLOCK_VARIABLE: "smtp-prod"})
