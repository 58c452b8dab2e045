"""SMTP credentials from a prefect-email `EmailServerCredentials` block on a real Prefect API
(the test harness), delivered by our own SMTP code over STARTTLS with AUTH to a real local
server: the block's password reaches the server and never a log."""

from __future__ import annotations

import dataclasses
import logging
from pathlib import Path

import pytest
from prefect_email import EmailServerCredentials

from pipelines.smtp_block import mail_environment
from techwatch.errors import ConfigError
from techwatch.mail import send
from techwatch.mail.settings import BLOCK_VARIABLE, load_settings
from tests.mail.conftest import PASSWORD, USER, certificate, smtp_server  # noqa: F401
from tests.mail.factories import NOW, briefing, client, entry, store_briefing

pytestmark = pytest.mark.usefixtures("prefect_api")


def test_a_block_supplies_the_server_and_login_and_our_code_sends(
    tmp_path: Path,
    smtp_server,  # noqa: F811 (the fixture imported above)
    caplog: pytest.LogCaptureFixture,
) -> None:
    server = smtp_server("starttls", auth=True)
    EmailServerCredentials(
        username=USER, password=PASSWORD, smtp_server="127.0.0.1", smtp_type="STARTTLS",
        smtp_port=server.port,
    ).save("techwatch-test-smtp", overwrite=True)  # fmt: skip
    env = {
        BLOCK_VARIABLE: "techwatch-test-smtp",
        "TECHWATCH_SMTP_CA_FILE": str(server.cert),
        "TECHWATCH_SMTP_TIMEOUT": "5",
        "TECHWATCH_MAIL_FROM": "Veille <veille@conseil.example>",
        "TECHWATCH_ADVISOR_EMAIL": "jean@conseil.example",
    }
    db = tmp_path / "var" / "techwatch.duckdb"
    store_briefing(db, briefing((entry(),), client_id="a"))
    with caplog.at_level(logging.DEBUG):
        settings = load_settings(mail_environment(env))
        result = send.send(db, [client("a")], settings, tmp_path / "outbox", lambda: NOW)
    assert settings.smtp is not None and settings.smtp.security == "starttls"
    assert result.report.count("sent") == 1
    assert [e.rcpt_tos for e in server.bag.received] == [["claire@a.example"]]
    assert caplog.records and PASSWORD not in caplog.text
    assert PASSWORD not in repr(settings) and PASSWORD not in repr(dataclasses.asdict(settings))


def test_an_unknown_block_is_a_configuration_error_naming_the_variable() -> None:
    with pytest.raises(ConfigError, match=f"{BLOCK_VARIABLE}: no EmailServerCredentials block"):
        mail_environment({BLOCK_VARIABLE: "no-such-block"})


def test_without_a_block_the_environment_is_used_as_it_is() -> None:
    env = {"TECHWATCH_SMTP_HOST": "smtp.example", "PATH": "/bin"}
    assert mail_environment(env) == env
