"""Mail settings from the environment only: never YAML, never logged, the password never shown.

    TECHWATCH_SMTP_HOST        relay host; unset means "no SMTP": messages go to a folder
    TECHWATCH_SMTP_PORT        default 25 (none), 587 (starttls) or 465 (tls)
    TECHWATCH_SMTP_SECURITY    none, starttls (default) or tls (implicit TLS)
    TECHWATCH_SMTP_USER        with TECHWATCH_SMTP_PASSWORD: AUTH, over TLS only unless
    TECHWATCH_SMTP_ALLOW_INSECURE_AUTH=1 (a trusted relay on the same host)
    TECHWATCH_SMTP_TIMEOUT     seconds for connecting and for each command (default 30)
    TECHWATCH_SMTP_CA_FILE     PEM file of the CA to trust instead of the system's (tests)
    TECHWATCH_MAIL_FROM        From: "Name <address>" or an address
    TECHWATCH_ADVISOR_EMAIL    Reply-To and the signature's address
    TECHWATCH_ADVISOR_NAME     optional, for the signature
    TECHWATCH_ADVISOR_PHONE    optional, for the signature
    TECHWATCH_SMTP_BLOCK       instead of HOST, PORT, SECURITY, USER and PASSWORD: the name of a
                               Prefect `EmailServerCredentials` block (prefect-email) holding
                               them; read by the flows and the CLI (pipelines/smtp_block.py)
                               and mapped by `with_block`. The block only holds credentials:
                               sending is ours (its send task has no timeout).

Every problem is reported at once, each naming its variable (a ConfigError: exit 2).
"""

from __future__ import annotations

import unicodedata
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from email.utils import parseaddr
from pathlib import Path
from typing import Literal

from email_validator import EmailNotValidError, validate_email

from techwatch.errors import ConfigError

Security = Literal["none", "starttls", "tls"]
Getter = Callable[[str], str]
SECURITIES: tuple[Security, ...] = ("none", "starttls", "tls")
DEFAULT_PORTS: dict[str, int] = {"none": 25, "starttls": 587, "tls": 465}
DEFAULT_TIMEOUT_S = 30.0
# Used when nothing is configured (the demo): `.invalid` can never be a real domain.
DEMO_ADDRESS = "advisor@techwatch.invalid"

PREFIX = "TECHWATCH_"
SMTP_VARIABLES = (
    "TECHWATCH_SMTP_PORT",
    "TECHWATCH_SMTP_SECURITY",
    "TECHWATCH_SMTP_USER",
    "TECHWATCH_SMTP_PASSWORD",
    "TECHWATCH_SMTP_TIMEOUT",
    "TECHWATCH_SMTP_CA_FILE",
    "TECHWATCH_SMTP_ALLOW_INSECURE_AUTH",
)
BLOCK_VARIABLE = "TECHWATCH_SMTP_BLOCK"
# What a block supplies: the environment must not set these as well (one source of truth).
BLOCK_SUPPLIES = (
    "TECHWATCH_SMTP_HOST",
    "TECHWATCH_SMTP_PORT",
    "TECHWATCH_SMTP_SECURITY",
    "TECHWATCH_SMTP_USER",
    "TECHWATCH_SMTP_PASSWORD",
)
# prefect-email's SMTPType names -> our security names.
BLOCK_SECURITY: dict[str, Security] = {"SSL": "tls", "STARTTLS": "starttls", "INSECURE": "none"}


class Secret:
    """A value that prints as asterisks: repr, str and f-strings never show it."""

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        self._value = value

    def reveal(self) -> str:
        return self._value

    def __repr__(self) -> str:
        return "Secret('********')"

    __str__ = __repr__

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Secret) and other._value == self._value

    def __hash__(self) -> int:
        return hash(self._value)


@dataclass(frozen=True, slots=True)
class Mailbox:
    """A checked address with an optional display name (never containing CR or LF)."""

    address: str
    name: str = ""


@dataclass(frozen=True, slots=True)
class Smtp:
    host: str
    port: int
    security: Security
    user: str | None = None
    password: Secret | None = None
    timeout_s: float = DEFAULT_TIMEOUT_S
    ca_file: Path | None = None
    allow_insecure_auth: bool = False


@dataclass(frozen=True, slots=True)
class Advisor:
    """Who signs the emails and answers the replies."""

    email: str
    name: str = ""
    phone: str = ""


@dataclass(frozen=True, slots=True)
class MailSettings:
    sender: Mailbox  # From:
    advisor: Advisor  # Reply-To: and the signature
    smtp: Smtp | None  # None: write messages to the outbox folder instead

    @property
    def domain(self) -> str:
        """The sender's domain: Message-IDs are made under it."""
        return self.sender.address.rpartition("@")[2]


def load_settings(env: Mapping[str, str]) -> MailSettings:
    """Validate the mail variables of `env`; every problem at once, as one ConfigError."""
    problems: list[str] = []
    get = _reader(env)
    if get(BLOCK_VARIABLE):
        problems.append(f"{BLOCK_VARIABLE}: the Prefect block was not read (pipelines.smtp_block)")
    host = get("TECHWATCH_SMTP_HOST")
    # The password is taken as written: spaces may be part of it.
    password = env.get("TECHWATCH_SMTP_PASSWORD", "")
    smtp = _smtp(host, get, password, problems) if host else None
    if not host:
        problems += [f"{name} is set but TECHWATCH_SMTP_HOST is not" for name in _set(env)]
    sender = _mailbox("TECHWATCH_MAIL_FROM", env, problems, required=bool(host))
    advisor_email = _mailbox("TECHWATCH_ADVISOR_EMAIL", env, problems, required=bool(host))
    if problems:
        raise ConfigError("mail settings: " + "; ".join(problems))
    advisor = Advisor(
        email=(advisor_email or sender or Mailbox(DEMO_ADDRESS)).address,
        name=get("TECHWATCH_ADVISOR_NAME") or (sender.name if sender else ""),
        phone=get("TECHWATCH_ADVISOR_PHONE"),
    )
    return MailSettings(
        sender=sender or Mailbox(advisor.email, advisor.name), advisor=advisor, smtp=smtp
    )


def with_block(
    env: Mapping[str, str],
    *,
    block: str,
    host: str,
    smtp_type: str,
    port: int | None,
    user: str | None,
    password: str,
    verify: bool | None,
) -> dict[str, str]:
    """`env` with the server variables taken from an `EmailServerCredentials` block's fields,
    ready for `load_settings`. A block that turns certificate checks off is refused (we always
    verify; TECHWATCH_SMTP_CA_FILE trusts a private CA), and so is an environment that sets
    the block's variables too: which one would win is a guess nobody should have to make."""
    problems = [
        f"{name} is set but {BLOCK_VARIABLE} ({block!r}) already gives it"
        for name in BLOCK_SUPPLIES
        if env.get(name, "").strip()
    ]
    security = BLOCK_SECURITY.get(smtp_type.upper())
    if security is None:
        problems.append(f"{BLOCK_VARIABLE} ({block!r}): unknown smtp_type {smtp_type!r}")
    if verify is False:
        problems.append(
            f"{BLOCK_VARIABLE} ({block!r}): verify=False is not supported, certificates are "
            "always verified (set TECHWATCH_SMTP_CA_FILE to trust a private CA)"
        )
    if problems:
        raise ConfigError("mail settings: " + "; ".join(problems))
    resolved = {k: v for k, v in env.items() if k != BLOCK_VARIABLE}
    resolved["TECHWATCH_SMTP_HOST"] = host
    resolved["TECHWATCH_SMTP_SECURITY"] = security or "starttls"
    if port is not None:
        resolved["TECHWATCH_SMTP_PORT"] = str(port)
    if user:
        resolved["TECHWATCH_SMTP_USER"] = user
    if password:
        resolved["TECHWATCH_SMTP_PASSWORD"] = password
    return resolved


def _reader(env: Mapping[str, str]) -> Getter:
    def get(name: str) -> str:
        # Values reach headers and signatures: one line, no control characters.
        return " ".join(env.get(name, "").split())

    return get


def _set(env: Mapping[str, str]) -> list[str]:
    return [name for name in SMTP_VARIABLES if env.get(name, "").strip()]


def _smtp(host: str, get: Getter, password: str, problems: list[str]) -> Smtp:
    security = get("TECHWATCH_SMTP_SECURITY").lower() or "starttls"
    if security not in SECURITIES:
        problems.append(
            f"TECHWATCH_SMTP_SECURITY: expected none, starttls or tls, got {security!r}"
        )
        security = "starttls"
    port = _number("TECHWATCH_SMTP_PORT", get, problems, DEFAULT_PORTS[security], 1, 65535)
    timeout = _number("TECHWATCH_SMTP_TIMEOUT", get, problems, DEFAULT_TIMEOUT_S, 1, 600)
    user = get("TECHWATCH_SMTP_USER")
    if bool(user) != bool(password):
        problems.append(
            "TECHWATCH_SMTP_USER and TECHWATCH_SMTP_PASSWORD must be set together"
            if user
            else "TECHWATCH_SMTP_PASSWORD is set but TECHWATCH_SMTP_USER is not"
        )
    insecure = get("TECHWATCH_SMTP_ALLOW_INSECURE_AUTH").lower() in ("1", "true", "yes")
    if user and security == "none" and not insecure:
        problems.append(
            "TECHWATCH_SMTP_USER: AUTH would send the password unencrypted; set "
            "TECHWATCH_SMTP_SECURITY to starttls or tls (or TECHWATCH_SMTP_ALLOW_INSECURE_AUTH=1 "
            "for a trusted relay on this host)"
        )
    ca_text = get("TECHWATCH_SMTP_CA_FILE")
    ca_file = Path(ca_text).expanduser() if ca_text else None
    if ca_file is not None and not ca_file.is_file():
        problems.append(f"TECHWATCH_SMTP_CA_FILE: no file at {ca_file}")
    return Smtp(
        host=host,
        port=int(port),
        security=security,  # type: ignore[arg-type]
        user=user or None,
        password=Secret(password) if password else None,
        timeout_s=float(timeout),
        ca_file=ca_file,
        allow_insecure_auth=insecure,
    )


def _number(
    name: str, get: Getter, problems: list[str], default: float, low: float, high: float
) -> float:
    text = get(name)
    if not text:
        return default
    try:
        value = float(text)
    except ValueError:
        value = float("nan")
    if not low <= value <= high:
        problems.append(f"{name}: expected a number from {low:g} to {high:g}, got {text!r}")
        return default
    return value


def _mailbox(
    name: str, env: Mapping[str, str], problems: list[str], *, required: bool
) -> Mailbox | None:
    raw = env.get(name, "").strip()
    text = " ".join(raw.split())
    if not text:
        if required:
            problems.append(f"{name} is required when TECHWATCH_SMTP_HOST is set")
        return None
    if any(unicodedata.category(c) in ("Cc", "Cf", "Zl", "Zp") for c in raw):
        problems.append(f"{name}: must be one line without control characters")
        return None
    display, address = parseaddr(text)
    if not address or address not in text:
        problems.append(f"{name}: not an email address: {text!r}")
        return None
    try:
        checked = validate_email(address, check_deliverability=False).normalized
    except EmailNotValidError as error:
        problems.append(f"{name}: not an email address ({error})")
        return None
    return Mailbox(checked, display)
