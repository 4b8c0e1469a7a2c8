"""SES's SMTP interface: aiosmtpd sessions that log in, check and count each message like SES does.

The decisions (which reply for which message) are in sending_rules and throttle; this module only
connects them to SMTP sessions.
"""

from __future__ import annotations

import asyncio
import hmac
import ssl
import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from email import message_from_bytes, policy

from aiosmtpd.smtp import SMTP, AuthResult, LoginPassword

from services.ses_sim.account import SesAccount
from services.ses_sim.sending_rules import (AUTH_INVALID, MESSAGE_TOO_LONG, Submission, accepted,
                                            verification_rejection)
from services.ses_sim.ses_ids import ses_message_id
from services.ses_sim.settings import MAX_MESSAGE_BYTES
from services.ses_sim.throttle import SendingLimits


@dataclass(frozen=True)
class AcceptedMessage:
    ses_message_id: str
    accepted_at: datetime
    mail_from: str
    recipients: tuple[str, ...]
    data: bytes
    peer_ip: str


class SesSmtp(SMTP):
    async def push(self, status: str | bytes) -> None:
        # aiosmtpd words its size refusals itself ("552 Error: Too much mail data"); SES says this.
        await super().push(MESSAGE_TOO_LONG if isinstance(status, str) and status.startswith("552 ") else status)


class SesSmtpHandler:
    def __init__(self, username: str, password: str, account: SesAccount, limits: SendingLimits,
                 on_accepted: Callable[[AcceptedMessage], None], *,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self._username = username.encode()
        self._password = password.encode()
        self.account = account
        self.limits = limits
        self._on_accepted = on_accepted
        self._clock = clock

    def authenticate(self, server, session, envelope, mechanism, auth_data) -> AuthResult:
        ok = isinstance(auth_data, LoginPassword) and hmac.compare_digest(auth_data.login, self._username) \
            and hmac.compare_digest(auth_data.password, self._password)
        return AuthResult(success=True) if ok else AuthResult(success=False, handled=False, message=AUTH_INVALID)

    async def handle_DATA(self, server, session, envelope) -> str:
        data: bytes = envelope.original_content or b""
        if len(data) > MAX_MESSAGE_BYTES:
            return MESSAGE_TOO_LONG
        from_values = message_from_bytes(data, policy=policy.compat32).get_all("From", [])
        submission = Submission.of(envelope.mail_from or "", from_values, envelope.rcpt_tos)
        refusal = verification_rejection(submission, self.account) \
            or self.limits.admit(len(envelope.rcpt_tos), self._clock())
        if refusal:
            return refusal
        now = datetime.now(UTC)
        message = AcceptedMessage(ses_message_id(now), now, submission.mail_from, submission.recipients, data,
                                  (session.peer or ("",))[0])
        self._on_accepted(message)
        return accepted(message.ses_message_id)


async def start_smtp_server(handler: SesSmtpHandler, host: str, port: int, tls: ssl.SSLContext, *,
                            implicit_tls: bool, hostname: str) -> asyncio.Server:
    """STARTTLS (required before AUTH) or, with `implicit_tls`, TLS from the first byte."""
    loop = asyncio.get_running_loop()

    def session() -> SesSmtp:
        # aiosmtpd only knows about TLS it negotiated itself (STARTTLS); on the implicit-TLS port
        # every byte is already encrypted, so AUTH is offered from the start, as SES does.
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)  # "AUTH without TLS": TLS is the socket's own here
            return SesSmtp(handler, hostname=hostname, ident="SimpleEmailService-postroom-simulator",
                           data_size_limit=MAX_MESSAGE_BYTES, authenticator=handler.authenticate,
                           auth_required=True, auth_require_tls=not implicit_tls, require_starttls=not implicit_tls,
                           tls_context=None if implicit_tls else tls, loop=loop)

    return await loop.create_server(session, host, port, ssl=tls if implicit_tls else None)
