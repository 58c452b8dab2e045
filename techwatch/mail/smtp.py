"""SMTP delivery with smtplib: one connection reused across messages, every reply classified.

- Security: `tls` (implicit TLS) or `starttls` (refused if the server does not offer it: never
  a silent downgrade), certificates verified with the default context (or a given CA file);
  `none` only for a relay on a trusted network. AUTH only over TLS unless explicitly allowed.
- Timeouts: `timeout_s` bounds the connection and every command (each read of a reply). A
  server that stalls will stall for the next message too: a timeout stops the run, so a run
  lasts at most about one timeout longer than its work, and the rest stays queued.
- Reuse: `RSET` before every message after the first; a connection that fails it, or drops,
  is replaced by a new one; a message that cannot get a connection stops the run.
- Replies: 2xx sent; 4xx (and connection trouble before the end of DATA) deferred, retried
  with back-off; 5xx failed with the server's reply kept. Per recipient: when every recipient
  is refused the message is deferred if any refusal is 4xx, else failed; when some are
  accepted the message is sent to them and the refusals are recorded in the reply, never
  retried (a retry would send a second copy to those who got it).
- After the final dot: the server may have accepted the message. A lost connection or a
  timeout there is `uncertain`, never retried automatically (see techwatch.mail.outbox), and
  it stops the run: going on could only make more uncertain messages.
"""

from __future__ import annotations

import contextlib
import logging
import re
import smtplib
import socket
import ssl

from techwatch.mail.outcome import Claimed, Outcome
from techwatch.mail.settings import Smtp

log = logging.getLogger(__name__)

_LEADING_DOT = re.compile(rb"(?m)^\.")


class _Unusable(Exception):
    """No usable connection: the outcome says why and stops the run."""

    def __init__(self, outcome: Outcome) -> None:
        super().__init__(outcome.reply)
        self.outcome = outcome


class _AfterDot(Exception):
    """The message was sent in full but the server's reply never came."""


class SmtpTransport:
    via = "smtp"

    def __init__(self, settings: Smtp, *, local_hostname: str | None = None) -> None:
        self._settings = settings
        self._local_hostname = local_hostname or socket.gethostname()
        self._conn: smtplib.SMTP | None = None
        self.connections = 0  # how many were opened: reuse is observable

    def send(self, item: Claimed) -> Outcome:
        try:
            conn = self._connection()
        except _Unusable as unusable:
            return unusable.outcome
        try:
            return self._transaction(conn, item)
        except _AfterDot as error:
            self._drop()
            return Outcome(
                "uncertain", f"no reply after the end of the message: {error}", stop=True
            )
        except (smtplib.SMTPException, OSError) as error:
            self._drop()
            return Outcome("deferred", f"connection lost: {_text(error)}", stop=_timed_out(error))

    def close(self) -> None:
        if self._conn is None:
            return
        with contextlib.suppress(smtplib.SMTPException, OSError):
            self._conn.quit()
        self._drop()

    def _connection(self) -> smtplib.SMTP:
        if self._conn is not None:
            try:
                code, _ = self._conn.rset()
                if code == 250:
                    return self._conn
            except (smtplib.SMTPException, OSError):
                pass
            self._drop()
        self._conn = self._connect()
        self.connections += 1
        return self._conn

    def _connect(self) -> smtplib.SMTP:
        s = self._settings
        where = f"{s.host}:{s.port}"
        context = ssl.create_default_context(cafile=str(s.ca_file) if s.ca_file else None)
        conn: smtplib.SMTP | None = None
        try:
            if s.security == "tls":
                conn = smtplib.SMTP_SSL(
                    s.host, s.port, local_hostname=self._local_hostname,
                    timeout=s.timeout_s, context=context,
                )  # fmt: skip
            else:
                conn = smtplib.SMTP(
                    s.host, s.port, local_hostname=self._local_hostname, timeout=s.timeout_s
                )
            conn.ehlo()
            if s.security == "starttls":
                conn.starttls(context=context)
                conn.ehlo()
            if s.user and s.password is not None:
                if s.security == "none" and not s.allow_insecure_auth:
                    raise _Unusable(_config(f"{where}: refusing AUTH without TLS"))
                conn.login(s.user, s.password.reveal())
                conn.password = ""  # smtplib keeps it on the object after login
            return conn
        except _Unusable:
            _abandon(conn)
            raise
        except ssl.SSLError as error:
            _abandon(conn)
            raise _Unusable(_config(f"{where}: TLS failed: {_text(error)}")) from error
        except smtplib.SMTPNotSupportedError as error:
            _abandon(conn)
            raise _Unusable(_config(f"{where}: STARTTLS not offered: {_text(error)}")) from error
        except smtplib.SMTPAuthenticationError as error:
            _abandon(conn)
            raise _Unusable(_config(f"{where}: login refused: {_text(error)}")) from error
        except (smtplib.SMTPException, OSError) as error:
            _abandon(conn)
            outcome = Outcome("deferred", f"{where}: cannot connect: {_text(error)}", stop=True)
            raise _Unusable(outcome) from error

    def _transaction(self, conn: smtplib.SMTP, item: Claimed) -> Outcome:
        code, reply = conn.mail(item.sender)
        if code != 250:
            return self._refused("MAIL FROM", code, reply)
        refused: dict[str, tuple[int, bytes]] = {}
        for recipient in item.recipients:
            code, reply = conn.rcpt(recipient)
            if code not in (250, 251):
                refused[recipient] = (code, reply)
        if len(refused) == len(item.recipients):
            return self._all_refused(refused)
        code, reply = _data(conn, item.message)
        if code != 250:
            return self._refused("DATA", code, reply)
        note = _format(code, reply)
        if refused:
            note += "; refused: " + "; ".join(
                f"{rcpt} {_format(c, r)}" for rcpt, (c, r) in refused.items()
            )
        log.info("sent %s (%s) to %d recipient(s)", item.key, item.message_id, len(item.recipients))
        return Outcome("sent", note)

    def _refused(self, step: str, code: int, reply: bytes) -> Outcome:
        if code == 421:  # the server is closing the connection
            self._drop()
        result = "failed" if 500 <= code < 600 else "deferred"
        return Outcome(result, f"{step}: {_format(code, reply)}")

    def _all_refused(self, refused: dict[str, tuple[int, bytes]]) -> Outcome:
        temporary = any(not 500 <= code < 600 for code, _ in refused.values())
        text = "; ".join(f"{rcpt} {_format(c, r)}" for rcpt, (c, r) in refused.items())
        return Outcome("deferred" if temporary else "failed", f"RCPT TO refused: {text}")

    def _drop(self) -> None:
        _abandon(self._conn)
        self._conn = None


def _data(conn: smtplib.SMTP, message: bytes) -> tuple[int, bytes]:
    """smtplib's DATA, split so that a failure after the final dot is told apart."""
    conn.putcmd("data")
    code, reply = conn.getreply()
    if code != 354:
        return code, reply
    body = _LEADING_DOT.sub(b"..", message)
    if not body.endswith(b"\r\n"):
        body += b"\r\n"
    conn.send(body + b".\r\n")
    try:
        return conn.getreply()
    except (smtplib.SMTPServerDisconnected, OSError) as error:
        raise _AfterDot(_text(error)) from error


def _timed_out(error: BaseException) -> bool:
    """smtplib turns a timeout while reading a reply into SMTPServerDisconnected."""
    return isinstance(error, TimeoutError) or isinstance(error.__context__, TimeoutError)


def _config(reply: str) -> Outcome:
    return Outcome("deferred", reply, stop=True)


def _abandon(conn: smtplib.SMTP | None) -> None:
    if conn is None:
        return
    with contextlib.suppress(OSError):
        conn.close()


def _format(code: int, reply: bytes | str) -> str:
    text = reply.decode("utf-8", "replace") if isinstance(reply, bytes) else reply
    return f"{code} {' '.join(text.split())}"


def _text(error: BaseException) -> str:
    if isinstance(error, smtplib.SMTPResponseException):
        return _format(error.smtp_code, error.smtp_error)
    return " ".join(str(error).split()) or type(error).__name__
