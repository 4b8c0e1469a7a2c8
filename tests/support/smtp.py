"""A real SMTP server (aiosmtpd) that answers like Amazon SES's SMTP interface.

STARTTLS on submission ports or implicit TLS, AUTH PLAIN/LOGIN required after TLS, and
`250 Ok <message id>` for accepted mail. Tests script other answers (454 throttling, 421, 554, ...)
per message, the way SES gives them.
"""

from __future__ import annotations

import asyncio
import itertools
import random
import re
import ssl
import threading
import time
import uuid
from collections import deque
from dataclasses import dataclass, field
from email import message_from_bytes, policy
from email.message import EmailMessage

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword

from services.core.nats_server import bindable
from tests.support.workers import worker_index

_loopback_lock = threading.Lock()
_loopback_hosts = itertools.count(2)


def unused_loopback_host(port: int) -> str:
    """A 127.W.0.N on which `port` is free: SES's real ports (587, 2465...) with no clash between tests
    (W is the xdist worker's own, so two workers never probe the same address)."""
    with _loopback_lock:
        for _ in range(250):
            host = f"127.{worker_index()}.0.{next(_loopback_hosts) % 250 + 2}"
            if bindable(port, host):
                return host
    raise RuntimeError(f"no free loopback address for port {port}")


_DISPATCH_ID = re.compile(rb"^X-Postroom-Dispatch-Id: (\S+)", re.MULTILINE)
THROTTLED = "454 Throttling failure: Maximum sending rate exceeded."


@dataclass
class ReceivedMessage:
    mail_from: str
    recipients: list[str]
    data: bytes
    message_id: str
    received_at: float = field(default_factory=time.monotonic)

    @property
    def dispatch_id(self) -> str:
        found = _DISPATCH_ID.search(self.data)
        return found.group(1).decode() if found else ""

    def parsed(self) -> EmailMessage:
        return message_from_bytes(self.data, policy=policy.default)  # type: ignore[return-value]


@dataclass
class SesLikeHandler:
    username: str
    password: str
    received: list[ReceivedMessage] = field(default_factory=list)
    scripted_replies: deque[str] = field(default_factory=deque)
    refused_recipients: dict[str, str] = field(default_factory=dict)  # address -> the RCPT reply
    auth_attempts: int = 0
    resets: int = 0
    data_delay: float = 0.0  # seconds before answering DATA: a slow SES
    data_started: int = 0
    throttled: int = 0
    _throttle: tuple[float, float] = (0.0, 0.0)  # (fraction of sends answered 454, until when: monotonic)

    def throttle(self, fraction: float, seconds: float) -> None:
        """For `seconds` from now, answer `fraction` of the messages with 454 Throttling, as SES does
        when the account's rate was lowered."""
        self._throttle = (fraction, time.monotonic() + seconds)

    def _throttling_now(self) -> bool:
        fraction, until = self._throttle
        return time.monotonic() < until and random.random() < fraction

    def authenticate(self, server, session, envelope, mechanism, auth_data) -> AuthResult:
        self.auth_attempts += 1
        ok = (
            isinstance(auth_data, LoginPassword)
            and auth_data.login.decode() == self.username
            and auth_data.password.decode() == self.password
        )
        return AuthResult(success=ok, handled=False)

    async def handle_RSET(self, server, session, envelope) -> str:
        self.resets += 1
        return "250 OK"

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options) -> str:
        if address in self.refused_recipients:
            return self.refused_recipients[address]
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope) -> str:
        self.data_started += 1
        if self.data_delay:
            await asyncio.sleep(self.data_delay)
        if self.scripted_replies:
            return self.scripted_replies.popleft()
        if self._throttling_now():
            self.throttled += 1
            return THROTTLED
        message_id = f"0100{uuid.uuid4().hex}-{uuid.uuid4()}-000000"
        self.received.append(ReceivedMessage(envelope.mail_from, list(envelope.rcpt_tos), envelope.content, message_id))
        return f"250 Ok {message_id}"


class SesLikeSmtpServer:
    def __init__(
        self,
        *,
        port: int,
        tls_context: ssl.SSLContext,
        implicit_tls: bool,
        username: str = "AKIATESTSMTPUSER0001",
        password: str = "BSmtpPasswordForTests0123456789abcdefghijk",
        host: str | None = None,
    ) -> None:
        self.host = host or unused_loopback_host(port)
        self.port = port
        self.handler = SesLikeHandler(username, password)
        # aiosmtpd only knows about TLS it negotiated itself (STARTTLS); on an implicit-TLS port
        # every byte is already encrypted, so AUTH is offered from the start, as SES does.
        options = dict(
            hostname=self.host,
            port=port,
            authenticator=self.handler.authenticate,
            auth_required=True,
            auth_require_tls=not implicit_tls,
            server_hostname="email-smtp.test",
        )
        if implicit_tls:
            self.controller = Controller(self.handler, ssl_context=tls_context, **options)
        else:
            self.controller = Controller(self.handler, tls_context=tls_context, require_starttls=True, **options)

    @property
    def received(self) -> list[ReceivedMessage]:
        return self.handler.received

    def script(self, *replies: str) -> None:
        self.handler.scripted_replies.extend(replies)

    def start(self) -> "SesLikeSmtpServer":
        self.controller.start()
        return self

    def stop(self) -> None:
        self.controller.stop()
