"""SMTP credentials from a Prefect block: `TECHWATCH_SMTP_BLOCK` names a prefect-email
`EmailServerCredentials` block; its fields become the TECHWATCH_SMTP_* values the library reads.

Only the block's fields are read: messages are still sent by techwatch.mail.smtp (timeouts on
every command, the outbox policy), never by prefect-email's send task, which has no timeout.
The password goes from the block's SecretStr to the library's Secret without being logged.
"""

from __future__ import annotations

from collections.abc import Mapping
from enum import Enum

from techwatch.errors import ConfigError
from techwatch.mail.settings import BLOCK_VARIABLE, with_block


def mail_environment(env: Mapping[str, str]) -> dict[str, str]:
    """`env` itself without TECHWATCH_SMTP_BLOCK, else `env` completed from the named block."""
    name = env.get(BLOCK_VARIABLE, "").strip()
    if not name:
        return dict(env)
    from prefect_email import EmailServerCredentials  # the Prefect API is needed only here

    try:
        block = EmailServerCredentials.load(name, _sync=True)
    except ValueError as error:
        raise ConfigError(
            f"mail settings: {BLOCK_VARIABLE}: no EmailServerCredentials block named {name!r} "
            f"on this Prefect API ({' '.join(str(error).split())})"
        ) from error
    return with_block(
        env,
        block=name,
        host=_value(block.smtp_server),
        smtp_type=block.smtp_type.name if isinstance(block.smtp_type, Enum) else block.smtp_type,
        port=block.smtp_port,
        user=block.username,
        password=block.password.get_secret_value(),
        verify=block.verify,
    )


def _value(field: object) -> str:
    """A block field that is an Enum member (`SMTPServer.GMAIL`) or a plain string."""
    return str(field.value) if isinstance(field, Enum) else str(field)
