"""SMTP to SES with aiosmtplib: TLS as the port says, AUTH, and a pool of connections per provider.

Every failure comes back as an SmtpOutcome value (never an exception): the domain decides what
it means. A connection carries a bounded number of messages, because SES closes a session past
its own limit with `421 ... Maximum message count per session`.
"""

from __future__ import annotations

import asyncio
import logging
import re
import ssl
from collections.abc import Iterator

import aiosmtplib
from aiosmtplib.protocol import SMTPProtocol

from services.core import point_of_no_return, tracing
from services.dispatch.base64_lines import Base64Lines
from services.dispatch.domain import ProviderConfig, SmtpOutcome
from services.dispatch.message import BuiltMessage

log = logging.getLogger(__name__)

_NO_REPLY = (OSError, ssl.SSLError, asyncio.TimeoutError, aiosmtplib.SMTPException)
_LINE_ENDING = re.compile(rb"\r\n|\r|\n")
_LEADING_PERIOD = re.compile(rb"(?m)^\.")
WRITE_SLICE_BYTES = 64 * 1024  # asyncio's default high-water mark for a transport's buffer


class _Session:
    def __init__(self, client: aiosmtplib.SMTP) -> None:
        self.client = client
        self.sent = 0
        self.unfinished = False  # a transaction was left half-done on it: RSET before the next


async def _open(provider: ProviderConfig, timeout: float, tls_context: ssl.SSLContext) -> _Session | SmtpOutcome:
    client = aiosmtplib.SMTP(
        hostname=provider.smtp_host,
        port=provider.smtp_port,
        timeout=timeout,
        use_tls=provider.implicit_tls,
        start_tls=not provider.implicit_tls,
        tls_context=tls_context,
    )
    try:
        await client.connect()
        await client.login(provider.smtp_username, provider.smtp_password)
        return _Session(client)
    except asyncio.CancelledError:
        client.close()
        raise
    except aiosmtplib.SMTPAuthenticationError as error:
        await _close(client)
        return SmtpOutcome(error.code, error.message)
    except _NO_REPLY as error:
        await _close(client)
        return SmtpOutcome(0, _describe(error), connect_failed=True)


async def _transact(session: _Session, message: BuiltMessage) -> SmtpOutcome:
    """MAIL, RCPT per recipient, DATA, on aiosmtplib's command layer.

    Not `sendmail`: it parses every address four times with `email.utils` (a tenth of a send's
    CPU) and scans the message twice. Our envelope addresses are plain ASCII dot-atoms, checked
    when the email was accepted, so `<address>` is the whole quoting they need. Nor `data`: it
    takes the message as one buffer, and copies it twice on its way out (`_wire_form`)."""
    try:
        envelope_from, recipients = _envelope(message)
    except UnicodeEncodeError:
        return SmtpOutcome(553, "an envelope address is not ASCII (refused before sending)")
    client = session.client
    if session.unfinished:
        await client.rset()  # clears the half-done envelope (RFC 5321 4.1.1.5)
    # A session SES dropped while idle fails at MAIL, before any mail is staked on it, and the pool
    # tries again on a fresh one: no RSET round trip is needed to find out first.
    session.unfinished = True
    reply = await client.execute_command(b"MAIL", envelope_from)
    if reply.code != 250:
        return SmtpOutcome(reply.code, reply.message)
    accepted, refused = 0, reply
    for recipient in recipients:
        reply = await client.execute_command(b"RCPT", recipient)
        if reply.code in (250, 251):
            accepted += 1
        elif refused.code == 250:
            refused = reply  # the first refusal speaks for all when none is accepted
    if not accepted:
        return SmtpOutcome(refused.code, refused.message)
    try:
        reply = await client.execute_command(b"DATA")
        if reply.code != 354:
            return SmtpOutcome(reply.code, reply.message)
        reply = await _content_past_no_return(client, message)
    except aiosmtplib.SMTPResponseException as error:
        # A reply that is no SMTP reply (garbled, too long): the message may be with the server, so
        # this is its answer, never a reason to send it again; the session is out of step.
        client.close()
        return SmtpOutcome(error.code, error.message)
    if reply.code != 250:
        return SmtpOutcome(reply.code, reply.message)
    session.sent += 1
    session.unfinished = False
    return SmtpOutcome(250, reply.message)


async def _content_past_no_return(client: aiosmtplib.SMTP, message: BuiltMessage) -> aiosmtplib.SMTPResponse:
    """`_content_and_end`, past the point of no return: from here the message may reach SES
    whatever this process does, so a graceful stop lets the send finish (and its outcome be
    recorded) rather than cut it off and have it sent again. A reply other than 250, a lost
    connection (after which the email is tried again anyway) or a cancellation leaves nothing for
    a cut-off to double: the point is cleared. A reply that is no SMTP reply keeps it (the message
    may be with SES: `_transact` records it as the answer)."""
    point_of_no_return.passed()
    try:
        reply = await _content_and_end(client, message)
    except aiosmtplib.SMTPResponseException:
        raise
    except BaseException:
        point_of_no_return.not_passed()
        raise
    if reply.code != 250:
        point_of_no_return.not_passed()
    return reply


async def _content_and_end(client: aiosmtplib.SMTP, message: BuiltMessage) -> aiosmtplib.SMTPResponse:
    """After DATA's 354: the message and the line with the single period, then the server's reply."""
    protocol = client.protocol
    if protocol is None:
        raise aiosmtplib.SMTPServerDisconnected("Connection lost")
    try:
        answered_early = await _write_content(protocol, message, client.timeout)
        reply = await protocol.read_response(timeout=client.timeout)
    except (aiosmtplib.SMTPServerDisconnected, aiosmtplib.SMTPTimeoutError):
        client.close()  # a reply given up on leaves the session out of step (as aiosmtplib's data() does)
        raise
    if answered_early:
        client.close()  # the server took the rest of the message for commands, or is closing
    return reply


async def _write_content(protocol: SMTPProtocol, message: BuiltMessage, timeout: float | None) -> bool:
    """Writes the message, each write once the transport has taken the last; True when the server
    answered before the end (a 552 for a message too large, a 421 before it closes): its answer
    is the outcome, and the rest is not sent.

    Written at once, a 1.4 MB attachment was encrypted whole into TLS buffers and queued, per
    connection (13 MB more at the peak of bench/dispatch.py's content run). This leans on aiosmtplib's
    protocol (pinned): asyncio's flow control (`_drain_helper`, which `StreamWriter.drain` awaits),
    and its reply bookkeeping, which keeps a reply only while one is expected (`_response_pending`,
    set so before its own DATA content too). A server that stops reading gets `timeout` for each
    write, as it gets it for each reply."""
    protocol._response_pending = True
    answer = protocol._response_waiter
    if answer is None:
        raise aiosmtplib.SMTPServerDisconnected("Connection lost")
    for write in _data_writes(message):
        if answer.done():
            return True
        try:
            protocol.write(write)
            async with asyncio.timeout(timeout):
                await protocol._drain_helper()
        except (OSError, TimeoutError, aiosmtplib.SMTPServerDisconnected) as error:
            if answer.done():
                return True  # it answered, then stopped reading or closed
            if isinstance(error, TimeoutError):
                raise aiosmtplib.SMTPTimeoutError(
                    "Timed out writing the message (the server stopped reading)"
                ) from None
            raise
    return False


def _data_writes(message: BuiltMessage, slice_bytes: int = WRITE_SLICE_BYTES) -> Iterator[bytes]:
    """What DATA carries, the final period's line included, in writes of about `slice_bytes` at
    most: the small pieces (headers, boundaries, a short body) joined, so a plain email is a single
    write, and a large piece in slices. Each piece ends a line, so each is brought to DATA's form
    on its own."""
    joined: list[bytes] = []
    size, last = 0, b""
    for piece in message.pieces:
        wire = piece.data if isinstance(piece, Base64Lines) else _wire_form(piece)
        if not wire:
            continue
        last = wire
        if joined and size + len(wire) > slice_bytes:
            yield b"".join(joined)
            joined, size = [], 0
        if len(wire) > slice_bytes:
            yield from (wire[start : start + slice_bytes] for start in range(0, len(wire), slice_bytes))
        else:
            joined.append(wire)
            size += len(wire)
    joined.append(b"\r\n.\r\n" if last and not last.endswith(b"\r\n") else b".\r\n")
    yield b"".join(joined)


def _wire_form(data: bytes) -> bytes:
    """A piece of the message as DATA carries it: CRLF line endings, and a period that starts a
    line doubled (RFC 5321 4.5.2). build_message writes CRLF line endings only, which three counts
    (in C, no copy) confirm, and a body seldom has a line starting with a period: a piece usually
    goes as it is, where aiosmtplib's `data` made a copy of the message for its line endings and
    another to add the final period. (Base64 lines need neither and skip this.)"""
    crlf = data.count(b"\r\n")
    if data.count(b"\n") != crlf or data.count(b"\r") != crlf:
        data = _LINE_ENDING.sub(b"\r\n", data)
    if data[:1] != b"." and b"\n." not in data:  # a search in C, where the regular expression steps
        return data
    return _LEADING_PERIOD.sub(b"..", data)


def _envelope(message: BuiltMessage) -> tuple[bytes, list[bytes]]:
    return (
        b"FROM:<" + message.envelope_from.encode("ascii") + b">",
        [b"TO:<" + address.encode("ascii") + b">" for address in message.recipients],
    )


async def send_once(
    provider: ProviderConfig, message: BuiltMessage, *, timeout: float, tls_context: ssl.SSLContext
) -> SmtpOutcome:
    """One connection, one message, then QUIT: the product page's "Send a test email"."""
    session = await _open(provider, timeout, tls_context)
    if isinstance(session, SmtpOutcome):
        return session
    try:
        outcome = await _transact(session, message)
    except _NO_REPLY as error:
        outcome = SmtpOutcome(0, _describe(error))
    except BaseException:
        session.client.close()  # cancelled mid-message, say: QUIT would be read as a line of it
        raise
    await _close(session.client)
    return outcome


class ProviderConnections:
    """At most `max_connections` sessions to one provider, reused up to a bounded message count.
    (The send rate is kept before a send reaches the pool: see shared_rate.ProviderPacer.)"""

    def __init__(self, provider: ProviderConfig, *, timeout: float, tls_context: ssl.SSLContext) -> None:
        self.provider = provider
        self.timeout = timeout
        self.tls_context = tls_context
        self._slots = asyncio.Semaphore(max(1, provider.max_connections))
        self._idle: list[_Session] = []
        self._closing: set[asyncio.Task] = set()
        self._closed = False
        self._paused_by: SmtpOutcome | None = None

    def pause(self, cause: SmtpOutcome) -> None:
        """Sends still waiting for a connection get `cause` back without contacting the provider."""
        self._paused_by = cause

    @property
    def paused(self) -> bool:
        return self._paused_by is not None

    async def send(self, message: BuiltMessage) -> SmtpOutcome:
        async with self._slots:
            if self._paused_by is not None:
                return self._paused_by
            with tracing.span("smtp send", kind="CLIENT"):
                outcome = await self._send_on_a_session(message)
                if outcome.code == 0 or outcome.code == 421:
                    # A reused session may have gone stale, or hit SES's per-session count: a fresh
                    # session gets one immediate try before the caller backs off.
                    outcome = await self._send_on_a_session(message, fresh=True)
            return outcome

    async def _send_on_a_session(self, message: BuiltMessage, fresh: bool = False) -> SmtpOutcome:
        session = None if fresh or not self._idle else self._idle.pop()
        if session is None:
            opened = await _open(self.provider, self.timeout, self.tls_context)
            if isinstance(opened, SmtpOutcome):
                return opened
            session = opened
        try:
            outcome = await _transact(session, message)
        except _NO_REPLY as error:
            await _close(session.client)
            return SmtpOutcome(0, f"connection lost: {_describe(error)}")
        except asyncio.CancelledError:
            session.client.close()  # mid-transaction: neither reusable nor to be left open
            raise
        self._release(session, reusable=outcome.code != 421)
        return outcome

    def _release(self, session: _Session, reusable: bool) -> None:
        if (
            reusable
            and not self._closed
            and session.client.is_connected
            and session.sent < self.provider.max_messages_per_connection
        ):
            self._idle.append(session)
        else:
            task = asyncio.get_running_loop().create_task(_close(session.client))
            self._closing.add(task)
            task.add_done_callback(self._closing.discard)

    async def close(self) -> None:
        self._closed = True
        idle, self._idle = self._idle, []
        await asyncio.gather(*(_close(session.client) for session in idle))


async def _close(client: aiosmtplib.SMTP) -> None:
    if client.is_connected:
        try:
            await asyncio.wait_for(client.quit(), 2)
        except Exception:
            client.close()


def _describe(error: BaseException) -> str:
    if isinstance(error, ssl.SSLError):
        return f"TLS failed ({error.reason or error})"
    if isinstance(error, asyncio.TimeoutError):
        return "timed out"
    return str(error) or type(error).__name__
