"""The SMTP interface answers like SES's, on both ports, over real TLS."""

import aiosmtplib
import pytest

from services.ses_sim.main import SesSimulator
from tests.integration.ses_sim.conftest import email, send, simulator_settings, smtp_session


@pytest.mark.parametrize("implicit_tls", [False, True], ids=["starttls", "implicit-tls"])
async def test_a_verified_sender_is_accepted_with_an_ses_message_id(simulator, implicit_tls):
    code, reply = await send(simulator, email(), implicit_tls=implicit_tls)
    assert code == 250 and reply.startswith("Ok 0100") and reply.endswith("-000000")
    [kept] = simulator.inbox.newest_first()
    assert reply == f"Ok {kept.ses_message_id}" and kept.recipients == ("jane@customer.test",)
    assert (simulator.inbox.directory / f"{kept.ses_message_id}.eml").read_bytes() == kept.data


async def test_auth_needs_starttls_first(simulator):
    client = aiosmtplib.SMTP(hostname="127.0.0.1", port=simulator.smtp_port, start_tls=False, timeout=5)
    await client.connect()
    try:
        with pytest.raises(aiosmtplib.SMTPException):
            await client.login(simulator.settings.smtp_username, simulator.settings.smtp_password)
    finally:
        client.close()


@pytest.mark.parametrize("implicit_tls", [False, True], ids=["starttls", "implicit-tls"])
async def test_a_wrong_password_is_535(simulator, implicit_tls):
    with pytest.raises(aiosmtplib.SMTPAuthenticationError) as refused:
        await smtp_session(simulator, implicit_tls=implicit_tls, password="wrong")
    assert (refused.value.code, refused.value.message) == (535, "Authentication Credentials Invalid")


async def test_an_unverified_from_is_554(simulator):
    code, reply = await send(simulator, email(sender="eve@unverified.test"))
    assert code == 554
    assert reply == (
        "Message rejected: Email address is not verified. The following identities failed the check "
        "in region US-EAST-1: eve@unverified.test"
    )
    assert len(simulator.inbox) == 0


async def test_the_sandbox_refuses_unverified_recipients_but_not_the_mailbox_simulator(tmp_path):
    async with SesSimulator(simulator_settings(tmp_path, sandbox=True)) as sandboxed:
        code, reply = await send(sandboxed, email(to="jane@customer.test"))
        assert code == 554 and reply.endswith("in region US-EAST-1: jane@customer.test")
        assert (await send(sandboxed, email(to="someone@example.com")))[0] == 250
        assert (await send(sandboxed, email(to="success@simulator.amazonses.com")))[0] == 250


async def test_sending_faster_than_the_rate_is_454(tmp_path):
    async with SesSimulator(simulator_settings(tmp_path, max_send_rate=2)) as slow:
        client = await smtp_session(slow)
        replies = []
        for _ in range(4):
            try:
                await client.send_message(email())
                replies.append(250)
            except aiosmtplib.SMTPResponseException as error:
                replies.append((error.code, error.message))
        client.close()
    assert replies[:2] == [250, 250]
    assert (454, "Throttling failure: Maximum sending rate exceeded") in replies[2:]


async def test_the_daily_quota_is_454(tmp_path):
    async with SesSimulator(simulator_settings(tmp_path, daily_quota=1)) as limited:
        assert (await send(limited, email()))[0] == 250
        assert await send(limited, email()) == (454, "Throttling failure: Daily message quota exceeded")


async def test_a_message_over_the_size_limit_is_552(tmp_path):
    async with SesSimulator(simulator_settings(tmp_path, max_message_bytes=1024 * 1024)) as small:
        code, reply = await send(small, email(body=("y" * 999 + "\n") * 1100))
        assert (code, reply) == (552, "Message too long")
        assert (await send(small, email(body=("y" * 999 + "\n") * 900)))[0] == 250


async def test_a_message_over_ses_old_10_mb_limit_is_taken_as_ses_takes_40_mb(simulator):
    assert (await send(simulator, email(body=("y" * 999 + "\n") * 12_000)))[0] == 250


async def test_past_the_per_session_limit_ses_says_421_and_closes_the_session(tmp_path):
    async with SesSimulator(simulator_settings(tmp_path, max_messages_per_session=2)) as limited:
        client = await smtp_session(limited)
        try:
            for _ in range(2):
                await client.send_message(email())
            with pytest.raises(aiosmtplib.SMTPResponseException) as closed:
                await client.send_message(email())
            assert (closed.value.code, closed.value.message) == (
                421,
                "Connection closed by server. Maximum message count per session reached.",
            )
            with pytest.raises(aiosmtplib.SMTPServerDisconnected):
                await client.noop()
        finally:
            client.close()
        assert (await send(limited, email()))[0] == 250  # a new session starts a new count
        assert len(limited.inbox) == 3
