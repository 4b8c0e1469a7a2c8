"""Sending through a real SES-like SMTP server: the happy path, the message as it arrives."""

from __future__ import annotations

from services.core.generated.postroom.v1 import dispatch_pb2, events_pb2
from tests.integration.dispatch.dispatch_support import METADATA, email, save_provider, wait_for_status


async def test_an_email_is_queued_then_dispatched_with_the_ses_message_id(stub, store, dispatch_settings, sink):
    await save_provider(store, dispatch_settings, sink)
    accepted = await stub.SendEmail(email(), metadata=METADATA)
    assert accepted.status == dispatch_pb2.QUEUED
    dispatch = await wait_for_status(stub, accepted.dispatch_id, dispatch_pb2.DISPATCHED)
    assert dispatch.status == dispatch_pb2.DISPATCHED, dispatch
    assert len(sink.received) == 1
    received = sink.received[0]
    assert dispatch.ses_message_id == received.message_id
    assert dispatch.attempts == 1 and dispatch.last_smtp_reply.startswith("250 Ok ")
    parsed = received.parsed()
    assert parsed["X-Postroom-Dispatch-Id"] == accepted.dispatch_id
    assert parsed["Message-ID"] and parsed["Date"]
    assert received.recipients == ["bob@example.org"]


async def test_one_session_carries_several_messages_and_rsets_only_after_one_left_unfinished(
    stub, store, dispatch_settings, sink
):
    await save_provider(store, dispatch_settings, sink, max_connections=1, max_messages_per_connection=50)
    for _ in range(3):
        accepted = await stub.SendEmail(email(), metadata=METADATA)
        await wait_for_status(stub, accepted.dispatch_id, dispatch_pb2.DISPATCHED)
    assert len(sink.received) == 3
    assert sink.handler.auth_attempts == 1, "one login: the session was reused"
    assert sink.handler.resets == 0, "a finished transaction leaves nothing to reset: no round trip for it"

    sink.handler.refused_recipients["nobody@example.org"] = "550 5.1.1 no such user"
    refused = await stub.SendEmail(email(to="nobody@example.org"), metadata=METADATA)
    await wait_for_status(stub, refused.dispatch_id, dispatch_pb2.FAILED)
    accepted = await stub.SendEmail(email(), metadata=METADATA)
    await wait_for_status(stub, accepted.dispatch_id, dispatch_pb2.DISPATCHED)
    assert sink.handler.resets == 1, "the envelope left after the refused RCPT is reset before the next MAIL"
    assert len(sink.received) == 4 and sink.handler.auth_attempts == 1


async def test_a_utf8_subject_with_spaces_and_emoji_arrives_intact(stub, store, dispatch_settings, sink):
    await save_provider(store, dispatch_settings, sink)
    subject = "Grüße  aus Köln 🎉 — two  spaces, then more words to make the header fold ✉️ at least once"
    accepted = await stub.SendEmail(
        email(
            subject=subject,
            to=[events_pb2.EmailAddress(address="bob@example.org", name="Zoë Ünal")],
            text_body="Hallo Zoë 👋",
            html_body="<p>Hallo Zoë 👋</p>",
        ),
        metadata=METADATA,
    )
    await wait_for_status(stub, accepted.dispatch_id, dispatch_pb2.DISPATCHED)
    raw = sink.received[0].data
    assert raw.isascii(), "SES gets 7-bit headers: RFC 2047 encoded words"
    parsed = sink.received[0].parsed()
    assert parsed["Subject"] == subject
    assert parsed["To"].addresses[0].display_name == "Zoë Ünal"
    assert parsed.get_body(("plain",)).get_content().strip() == "Hallo Zoë 👋"
    assert parsed.get_body(("html",)).get_content().strip() == "<p>Hallo Zoë 👋</p>"


async def test_lines_that_start_with_a_period_and_bare_line_ends_arrive_as_written(
    stub, store, dispatch_settings, sink
):
    await save_provider(store, dispatch_settings, sink)
    text = ".a line that starts with a period\n..and two\n.\nthe line above is a lone period\rend"
    accepted = await stub.SendEmail(email(text_body=text), metadata=METADATA)
    await wait_for_status(stub, accepted.dispatch_id, dispatch_pb2.DISPATCHED)
    body = sink.received[0].parsed().get_body(("plain",)).get_content()
    assert body.replace("\r\n", "\n").rstrip("\n") == text.replace("\r", "\n")


async def test_implicit_tls_port_delivers(stub, store, dispatch_settings, test_ca):
    from tests.integration.dispatch.dispatch_support import start_sink

    tls_sink = start_sink(test_ca, implicit_tls=True)
    try:
        await save_provider(store, dispatch_settings, tls_sink)
        accepted = await stub.SendEmail(email(), metadata=METADATA)
        dispatch = await wait_for_status(stub, accepted.dispatch_id, dispatch_pb2.DISPATCHED)
        assert dispatch.status == dispatch_pb2.DISPATCHED and len(tls_sink.received) == 1
    finally:
        tls_sink.stop()


async def test_list_unsubscribe_headers_on_campaign_mail_only(store, dispatch_settings, sink):
    import functools
    from dataclasses import replace

    import grpc

    from services.core.generated.postroom.v1 import dispatch_pb2_grpc
    from services.core.runtime import start_service
    from services.core.secret_box import generate_key_spec
    from services.core.unsubscribe_token import UnsubscribeTokens
    from services.dispatch import main as dispatch_main
    from tests.integration.dispatch.dispatch_support import FAST

    key = generate_key_spec("u1")
    configured = replace(
        dispatch_settings,
        unsubscribe_keys=key,
        unsubscribe_public_url="https://u.example.test",
        unsubscribe_mailto="unsubscribe@example.com",
    )
    service = await start_service("dispatch", configured, functools.partial(dispatch_main.build, timings=FAST))
    try:
        async with grpc.aio.insecure_channel(f"127.0.0.1:{service.grpc_port}") as channel:
            stub = dispatch_pb2_grpc.DispatchServiceStub(channel)
            await save_provider(store, configured, sink)
            campaign = await stub.SendEmail(email(list_id="news"), metadata=METADATA)
            receipt = await stub.SendEmail(email(transactional=True), metadata=METADATA)
            for accepted in (campaign, receipt):
                await wait_for_status(stub, accepted.dispatch_id, dispatch_pb2.DISPATCHED)
    finally:
        await service.stop()
    by_id = {m.parsed()["X-Postroom-Dispatch-Id"]: m.parsed() for m in sink.received}
    headers = by_id[campaign.dispatch_id]
    assert headers["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    link, mailto = [part.strip(" <>") for part in str(headers["List-Unsubscribe"]).split(",")]
    assert link.startswith("https://u.example.test/u/")
    assert mailto == "mailto:unsubscribe@example.com?subject=unsubscribe"
    claims = UnsubscribeTokens.from_spec(key).verify(link.rsplit("/", 1)[1], now=__import__("datetime").datetime.now())
    assert (claims.account_id, claims.email, claims.list_id, claims.dispatch_id) == (
        "acme",
        "bob@example.org",
        "news",
        campaign.dispatch_id,
    )
    assert "List-Unsubscribe" not in by_id[receipt.dispatch_id]


async def test_a_batch_answers_each_message_on_its_own(stub, store, dispatch_settings, sink):
    await save_provider(store, dispatch_settings, sink)
    batch = dispatch_pb2.SendEmailBatchRequest(
        messages=[email(to=f"user{i}@example.org") for i in range(30)]
        + [email(to="not an address"), email(provider_id="missing")]
    )
    answer = await stub.SendEmailBatch(batch, metadata=METADATA)
    assert [r.error_code for r in answer.results] == [0] * 30 + [3, 5]  # INVALID_ARGUMENT, NOT_FOUND
    assert "to[0].address" in answer.results[30].error_message
    for result in answer.results[:30]:
        assert (
            await wait_for_status(stub, result.dispatch_id, dispatch_pb2.DISPATCHED)
        ).status == dispatch_pb2.DISPATCHED
    assert sorted(m.recipients[0] for m in sink.received) == sorted(f"user{i}@example.org" for i in range(30))
