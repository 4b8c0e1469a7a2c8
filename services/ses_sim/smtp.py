"""SES's SMTP interface: aiosmtpd sessions that log in, check and count each message like SES does.

The decisions (which reply for which message) are in sending_rules and throttle; this module only
connects them to SMTP sessions. Each served region has its own handler and ports.
"""

from __future__ import annotations

import asyncio
import hmac
import logging
import ssl
import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from email import policy
from email.parser import BytesHeaderParser
from typing import Any

from aiosmtpd.smtp import SMTP, AuthResult, LoginPassword

from services.ses_sim.regions import SesRegion
from services.ses_sim.sending_rules import (
    AUTH_INVALID,
    MESSAGE_TOO_LONG,
    SESSION_LIMIT_REACHED,
    Submission,
    accepted,
    message_rejection,
)
from services.ses_sim.ses_headers import SesHeaders, read_ses_headers, without_ses_headers
from services.ses_sim.ses_ids import ses_message_id


def keep_aiosmtpd_errors_only() -> None:
    """aiosmtpd logs every connection, a warning per implicit-TLS session, and at every login one
    that its own code set a deprecated field: only its errors are worth showing."""
    logging.getLogger("mail.log").setLevel(logging.ERROR)


@dataclass(frozen=True)
class AcceptedMessage:
    ses_message_id: str
    accepted_at: datetime
    mail_from: str
    recipients: tuple[str, ...]
    data: bytes  # as SES sends it: without the SES headers
    peer_ip: str
    region: str
    ses_headers: SesHeaders


class SesSmtp(SMTP):
    def __init__(self, *args, max_messages_per_session: int, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.max_messages_per_session = max_messages_per_session
        self.messages_accepted = 0

    async def push(self, status: str | bytes) -> None:
        # aiosmtpd words its size refusals itself ("552 Error: Too much mail data"); SES says this.
        # Any: aiosmtpd's push takes an AnyStr, which a str | bytes is not.
        reply: Any = MESSAGE_TOO_LONG if isinstance(status, str) and status.startswith("552 ") else status
        await super().push(reply)

    async def smtp_MAIL(self, arg: str | None) -> None:
        if self.messages_accepted >= self.max_messages_per_session:
            await self.push(SESSION_LIMIT_REACHED)
            if self.transport is not None:
                self.transport.close()
            return
        await super().smtp_MAIL(arg)


class SesSmtpHandler:
    def __init__(
        self,
        username: str,
        password: str,
        region: SesRegion,
        on_accepted: Callable[[AcceptedMessage], None],
        *,
        max_message_bytes: int,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._username = username.encode()
        self._password = password.encode()
        self.region = region
        self._on_accepted = on_accepted
        self._max_message_bytes = max_message_bytes
        self._clock = clock

    def authenticate(self, server, session, envelope, mechanism, auth_data) -> AuthResult:
        ok = (
            isinstance(auth_data, LoginPassword)
            and hmac.compare_digest(auth_data.login, self._username)
            and hmac.compare_digest(auth_data.password, self._password)
        )
        return AuthResult(success=True) if ok else AuthResult(success=False, handled=False, message=AUTH_INVALID)

    async def handle_DATA(self, server: SesSmtp, session, envelope) -> str:
        data: bytes = envelope.original_content or b""
        if len(data) > self._max_message_bytes:
            return MESSAGE_TOO_LONG
        from_values = BytesHeaderParser(policy=policy.compat32).parsebytes(data).get_all("From", [])
        submission = Submission.of(envelope.mail_from or "", from_values, envelope.rcpt_tos, read_ses_headers(data))
        refusal = message_rejection(submission, self.region) or self.region.limits.admit(
            len(envelope.rcpt_tos), self._clock()
        )
        if refusal:
            return refusal
        now = datetime.now(UTC)
        message = AcceptedMessage(
            ses_message_id(now),
            now,
            submission.mail_from,
            submission.recipients,
            without_ses_headers(data),
            (session.peer or ("",))[0],
            self.region.name,
            submission.ses_headers,
        )
        server.messages_accepted += 1
        self._on_accepted(message)
        return accepted(message.ses_message_id)


async def start_smtp_server(
    handler: SesSmtpHandler,
    host: str,
    port: int,
    tls: ssl.SSLContext,
    *,
    implicit_tls: bool,
    hostname: str,
    max_message_bytes: int,
    max_messages_per_session: int,
) -> asyncio.Server:
    """STARTTLS (required before AUTH) or, with `implicit_tls`, TLS from the first byte."""
    loop = asyncio.get_running_loop()

    def session() -> SesSmtp:
        # aiosmtpd only knows about TLS it negotiated itself (STARTTLS); on the implicit-TLS port
        # every byte is already encrypted, so AUTH is offered from the start, as SES does.
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)  # "AUTH without TLS": TLS is the socket's own here
            return SesSmtp(
                handler,
                hostname=hostname,
                ident="SimpleEmailService-postroom-simulator",
                data_size_limit=max_message_bytes,
                authenticator=handler.authenticate,
                auth_required=True,
                auth_require_tls=not implicit_tls,
                require_starttls=not implicit_tls,
                tls_context=None if implicit_tls else tls,
                loop=loop,
                max_messages_per_session=max_messages_per_session,
            )

    return await loop.create_server(session, host, port, ssl=tls if implicit_tls else None)
