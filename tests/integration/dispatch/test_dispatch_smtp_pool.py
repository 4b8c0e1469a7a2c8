"""A provider's connection pool against a real STARTTLS + AUTH server: pausing it, a reply to the
message's final period that never comes."""

from __future__ import annotations

import asyncio
from dataclasses import replace

import aiosmtplib
import pytest

from services.core.tls import client_context
from services.dispatch import domain
from services.dispatch.domain import ProviderConfig, SmtpOutcome
from services.dispatch.message import BuiltMessage
from services.dispatch.smtp import ProviderConnections, _open, _Session, _transact

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


async def test_a_server_that_stops_reading_the_message_times_the_send_out(test_ca):
    """Past 354 this server reads nothing more: the message's slices back up in the transport (the
    kernel's buffers take a few MB, so the message is 32 MB) and the send gives up after its timeout."""
    server_tls = test_ca.server_context("localhost")

    async def stop_reading_after_354(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writer.write(b"220 stalls.example ESMTP\r\n")
        while line := await reader.readline():
            command = line[:8].upper()
            if command.startswith(b"EHLO"):
                writer.write(b"250-stalls.example\r\n250-STARTTLS\r\n250 AUTH PLAIN LOGIN\r\n")
            elif command.startswith(b"STARTTLS"):
                writer.write(b"220 go ahead\r\n")
                await writer.start_tls(server_tls)
            elif command.startswith(b"AUTH"):
                writer.write(b"235 2.7.0 Authentication successful\r\n")
            elif command.startswith(b"DATA"):
                writer.write(b"354 End data with <CR><LF>.<CR><LF>\r\n")
                writer.transport.pause_reading()
                await asyncio.sleep(30)
            else:
                writer.write(b"250 Ok\r\n")

    server = await asyncio.start_server(stop_reading_after_354, "localhost", 0)
    provider = replace(
        PROVIDER,
        smtp_host="localhost",
        smtp_port=server.sockets[0].getsockname()[1],
        smtp_username="u",
        smtp_password="p",
    )
    session = await _open(provider, 5.0, client_context(str(test_ca.ca_file)))
    assert isinstance(session, _Session)
    session.client.timeout = 0.5
    line = b"x" * 998 + b"\r\n"
    large = BuiltMessage("sender@example.com", ("bob@example.org",), (b"Subject: Big\r\n\r\n", line * 32_000))
    started = asyncio.get_running_loop().time()

    with pytest.raises(aiosmtplib.SMTPTimeoutError, match="stopped reading"):
        await asyncio.wait_for(_transact(session, large), 10)

    assert asyncio.get_running_loop().time() - started < 5
    assert not session.client.is_connected
    server.close()
