"""A provider's connection pool against a real STARTTLS + AUTH server: pausing it, a reply to the
message's final period that never comes."""

from __future__ import annotations

import asyncio
import contextlib
from dataclasses import replace

import aiosmtplib
import pytest

from services.core import point_of_no_return
from services.core.tls import client_context
from services.dispatch import domain
from services.dispatch.domain import ProviderConfig, SmtpOutcome
from services.dispatch.message import BuiltMessage
from services.dispatch.smtp import ProviderConnections, _open, _Session, _transact, send_once

MESSAGE = BuiltMessage(
    "sender@example.com",
    ("bob@example.org",),
    (b"From: sender@example.com\r\nTo: bob@example.org\r\nSubject: Hi\r\n\r\nHi\r\n",),
)


PROVIDER = ProviderConfig(
    account_id="acme",
    provider_id="ses-main",
    smtp_host="",
    smtp_port=0,
    smtp_username="",
    smtp_password="",
    from_address="sender@example.com",
    from_name="",
    max_send_rate=1000.0,
    max_connections=1,
    max_message_bytes=10 * 1024 * 1024,
    max_messages_per_connection=50,
    saved_seq=1,
)


def one_connection_pool(sink, test_ca) -> ProviderConnections:
    provider = replace(
        PROVIDER,
        smtp_host=sink.host,
        smtp_port=sink.port,
        smtp_username=sink.handler.username,
        smtp_password=sink.handler.password,
    )
    return ProviderConnections(provider, timeout=5.0, tls_context=client_context(str(test_ca.ca_file)))


async def test_sends_waiting_for_a_connection_get_the_pauses_cause_without_contacting_ses(sink, test_ca):
    pool = one_connection_pool(sink, test_ca)
    sink.handler.data_delay = 0.5  # the first send holds the only connection a while
    first = asyncio.create_task(pool.send(MESSAGE))
    while sink.handler.data_started < 1:
        await asyncio.sleep(0.01)
    waiting = [asyncio.create_task(pool.send(MESSAGE)) for _ in range(3)]
    cause = SmtpOutcome(535, "Authentication Credentials Invalid")

    pool.pause(cause)

    assert (await first).code == 250  # the send under way finishes
    assert await asyncio.gather(*waiting) == [cause] * 3
    assert sink.handler.data_started == 1 and sink.handler.auth_attempts == 1
    await pool.close()


async def test_a_session_whose_data_reply_timed_out_is_closed(sink, test_ca):
    pool = one_connection_pool(sink, test_ca)
    session = await _open(pool.provider, 5.0, pool.tls_context)
    assert isinstance(session, _Session)
    session.client.timeout = 0.3  # the handshake had its 5 s; the reply to the final period gets this
    sink.handler.data_delay = 1.0  # past it: the reply that comes later would belong to no command
    with pytest.raises(aiosmtplib.SMTPReadTimeoutError):
        await _transact(session, MESSAGE)
    assert not session.client.is_connected


async def test_a_garbled_reply_to_the_final_period_fails_the_email_and_sends_it_no_second_time(sink, test_ca):
    pool = one_connection_pool(sink, test_ca)
    sink.handler.scripted_replies.append("this is no SMTP reply")
    outcome = await pool.send(MESSAGE)
    assert outcome.code == -1 and "Malformed SMTP response" in outcome.reply
    assert domain.diagnose(outcome).verdict is domain.Verdict.FAILED
    assert sink.handler.data_started == 1, "the message may be with the server: not sent again"

    assert (await pool.send(MESSAGE)).code == 250  # on a fresh session: the garbled one was closed
    assert sink.handler.auth_attempts == 2
    await pool.close()


LARGE = BuiltMessage(
    "sender@example.com", ("bob@example.org",), (b"Subject: Big\r\n\r\n", (b"x" * 998 + b"\r\n") * 32_000)
)  # 32 MB: more than the kernel's socket buffers take, so a server that stops reading is felt


@contextlib.asynccontextmanager
async def scripted_server(test_ca, after_354):
    """A real STARTTLS + AUTH server that, past DATA's 354, does what `after_354(reader, writer)`
    does; it gives the provider that sends to it."""
    server_tls = test_ca.server_context("localhost")
    finished = asyncio.Event()
    handlers: set[asyncio.Task] = set()

    async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        handlers.add(asyncio.current_task())  # type: ignore[arg-type]
        writer.write(b"220 scripted.example ESMTP\r\n")
        while line := await reader.readline():
            command = line[:8].upper()
            if command.startswith(b"EHLO"):
                writer.write(b"250-scripted.example\r\n250-STARTTLS\r\n250 AUTH PLAIN LOGIN\r\n")
            elif command.startswith(b"STARTTLS"):
                writer.write(b"220 go ahead\r\n")
                await writer.start_tls(server_tls)
            elif command.startswith(b"AUTH"):
                writer.write(b"235 2.7.0 Authentication successful\r\n")
            elif command.startswith(b"DATA"):
                writer.write(b"354 End data with <CR><LF>.<CR><LF>\r\n")
                await after_354(reader, writer)
                await finished.wait()
                break
            else:
                writer.write(b"250 Ok\r\n")
        writer.close()

    server = await asyncio.start_server(serve, "localhost", 0)
    port = server.sockets[0].getsockname()[1]
    try:
        yield replace(PROVIDER, smtp_host="localhost", smtp_port=port, smtp_username="u", smtp_password="p")
    finally:
        finished.set()
        server.close()
        await asyncio.wait_for(asyncio.gather(*handlers, return_exceptions=True), 5)


async def opened(provider, test_ca) -> _Session:
    session = await _open(provider, 5.0, client_context(str(test_ca.ca_file)))
    assert isinstance(session, _Session)
    session.client.timeout = 0.5  # the handshake had its 5 s
    return session


async def stop_reading(reader, writer):
    writer.transport.pause_reading()


async def test_a_server_that_stops_reading_the_message_times_the_send_out(test_ca):
    async with scripted_server(test_ca, stop_reading) as provider:
        session = await opened(provider, test_ca)
        started = asyncio.get_running_loop().time()
        with pytest.raises(aiosmtplib.SMTPTimeoutError, match="stopped reading"):
            await asyncio.wait_for(_transact(session, LARGE), 10)
        assert asyncio.get_running_loop().time() - started < 5
        assert not session.client.is_connected


TOO_BIG = b"552 5.3.4 Message size exceeds fixed maximum message size\r\n"


async def answer_too_big_and_stop_reading(reader, writer):
    await reader.readexactly(64 * 1024)
    writer.write(TOO_BIG)
    writer.transport.pause_reading()


async def answer_too_big_and_close(reader, writer):
    await reader.readexactly(64 * 1024)
    writer.write(TOO_BIG)
    await writer.drain()
    writer.close()


async def answer_too_big_and_read_on(reader, writer):
    await reader.readexactly(64 * 1024)
    writer.write(TOO_BIG)
    while await reader.read(64 * 1024):
        pass


@pytest.mark.parametrize(
    "after_354", [answer_too_big_and_stop_reading, answer_too_big_and_close, answer_too_big_and_read_on]
)
async def test_an_answer_before_the_end_of_the_message_is_its_outcome(test_ca, after_354):
    """Not a timeout or a lost connection, which would send the message again on a fresh session."""
    async with scripted_server(test_ca, after_354) as provider:
        session = await opened(provider, test_ca)
        outcome = await asyncio.wait_for(_transact(session, LARGE), 10)
        assert outcome.code == 552 and "Message size exceeds" in outcome.reply
        assert not session.client.is_connected  # the rest of the message was never sent: out of step


async def test_a_test_email_cancelled_mid_message_closes_its_connection_at_once(test_ca):
    """QUIT, as `send_once` ends otherwise, would be read as a line of the message."""
    async with scripted_server(test_ca, stop_reading) as provider:
        tls = client_context(str(test_ca.ca_file))
        sending = asyncio.create_task(send_once(provider, LARGE, timeout=5.0, tls_context=tls))
        await asyncio.sleep(0.5)  # well into the message, the server no longer reading
        sending.cancel()
        started = asyncio.get_running_loop().time()
        with pytest.raises(asyncio.CancelledError):
            await sending
        assert asyncio.get_running_loop().time() - started < 1.0  # not QUIT's 2 s wait for a reply


async def test_a_send_is_past_its_point_of_no_return_from_data_until_a_refusal(sink, test_ca):
    """Marked from DATA's 354 while SES may hold the message; still marked after a 250 (the outcome
    is yet to be recorded) and after a reply that is no SMTP reply; cleared when SES refuses it
    after the final period."""
    pool = one_connection_pool(sink, test_ca)
    sink.handler.data_delay = 0.5

    async def watched_send() -> tuple[point_of_no_return.PointOfNoReturn, asyncio.Task]:
        point = point_of_no_return.PointOfNoReturn()
        task = asyncio.create_task(pool.send(MESSAGE), context=point_of_no_return.watching(point))
        return point, task

    try:
        point, sending = await watched_send()
        while sink.handler.data_started < 1:
            await asyncio.sleep(0.005)
        assert point.passed, "past the final period, waiting for SES's reply"
        assert (await sending).code == 250 and point.passed

        sink.handler.data_delay = 0.0
        sink.script("454 Throttling failure: Maximum sending rate exceeded.")
        point, sending = await watched_send()
        assert (await sending).code == 454 and not point.passed

        sink.script("this is no SMTP reply")  # the message may be with SES: recorded as its answer
        point, sending = await watched_send()
        assert (await sending).code == -1 and point.passed
    finally:
        await pool.close()
