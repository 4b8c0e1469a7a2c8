"""The product page's "Send a test email": sent at once, each failure named with its fix."""

from __future__ import annotations

import pytest

from services.core.generated.postroom.v1 import dispatch_pb2
from services.core.nats_server import free_port
from tests.support.smtp import SesLikeSmtpServer, unused_loopback_host
from tests.integration.dispatch.dispatch_support import ACCOUNT, METADATA, PROVIDER, save_provider


async def send_test(stub, to: str = "me@example.org") -> dispatch_pb2.SendTestEmailResponse:
    return await stub.SendTestEmail(
        dispatch_pb2.SendTestEmailRequest(account_id=ACCOUNT, provider_id=PROVIDER, to=to), metadata=METADATA
    )


async def test_a_test_email_is_sent_at_once(stub, store, dispatch_settings, sink):
    await save_provider(store, dispatch_settings, sink)
    answer = await send_test(stub)
    assert answer.delivered and answer.smtp_code == 250
    assert answer.ses_message_id == sink.received[0].message_id
    assert sink.received[0].parsed()["Subject"] == "Postroom test email"


@pytest.mark.parametrize(
    "reply, case, words",
    [
        (
            "554 Message rejected: Email address is not verified. The following identities failed the check in region "
            "US-EAST-1: me@example.org",
            "unverified_identity",
            "Verified identities",
        ),
        ("454 Throttling failure: Maximum sending rate exceeded.", "throttling", "max send rate"),
        ("552 Message size exceeds fixed limit", "message_too_long", "40 MB"),
    ],
)
async def test_each_failure_names_its_case_and_fix(stub, store, dispatch_settings, sink, reply, case, words):
    await save_provider(store, dispatch_settings, sink)
    sink.script(reply)
    answer = await send_test(stub)
    assert not answer.delivered
    assert (answer.troubleshooting_case, answer.smtp_code) == (case, int(reply[:3]))
    assert answer.smtp_reply == reply and words in answer.hint


async def test_wrong_credentials_are_invalid_credentials(stub, store, dispatch_settings, sink):
    await save_provider(store, dispatch_settings, sink, password="wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY")
    answer = await send_test(stub)
    assert (answer.delivered, answer.troubleshooting_case, answer.smtp_code) == (False, "invalid_credentials", 535)
    assert "SMTP credentials" in answer.hint and "AWS access keys" in answer.hint


async def test_an_unreachable_provider_is_dispatch_failed(stub, store, dispatch_settings, sink):
    await save_provider(store, dispatch_settings, sink, smtp_host="127.0.0.1", smtp_port=free_port())
    answer = await send_test(stub)
    assert (answer.delivered, answer.troubleshooting_case, answer.smtp_code) == (False, "provider_unreachable", 0)
    assert answer.smtp_reply.startswith("Dispatch Failed: the provider could not be reached")
    assert "Server Name and Port" in answer.hint


async def test_a_tls_failure_is_dispatch_failed(stub, store, dispatch_settings, test_ca):
    host = unused_loopback_host(2587)
    impostor = SesLikeSmtpServer(
        port=2587, host=host, implicit_tls=False, tls_context=test_ca.server_context("some-other-host.example")
    ).start()
    try:
        await save_provider(store, dispatch_settings, impostor)
        answer = await send_test(stub)
    finally:
        impostor.stop()
    assert answer.troubleshooting_case == "provider_unreachable" and "TLS" in answer.smtp_reply
