"""Bodies and attachments through the content store (a real nats-server's Object Store), to a
real SES-like SMTP server: byte for byte, stored once, small events, limits, retention."""

from __future__ import annotations

import asyncio
import functools
import os
from dataclasses import replace

import grpc
import pytest
from google.rpc import error_details_pb2
from grpc_status import rpc_status

from services.core.content_store import ContentStore, reference_of, sha256_of
from services.core.generated.postroom.v1 import dispatch_pb2, dispatch_pb2_grpc, events_pb2
from services.core.runtime import start_service
from services.dispatch import main as dispatch_main
from services.core.events import new_event
from tests.integration.dispatch.dispatch_support import (
    ACCOUNT,
    FAST,
    METADATA,
    PROVIDER,
    email,
    save_provider,
    wait_for_status,
)
from tests.support.read_models import dump_from_scratch, dump_runner, runner_of

MB = 1024 * 1024
SES_LIMIT = 40 * MB
PNG = b"\x89PNG\r\n\x1a\n" + os.urandom(3000)
PDF = b"%PDF-1.7\n" + os.urandom(200_000) + b"\n%%EOF\n"


def violations(error: grpc.aio.AioRpcError) -> dict[str, str]:
    found = {}
    for detail in rpc_status.from_call(error).details:
        bad = error_details_pb2.BadRequest()
        if detail.Unpack(bad):
            found.update({v.field: v.description for v in bad.field_violations})
    return found


async def refused(call) -> grpc.aio.AioRpcError:
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await call
    return caught.value


async def upload(stub, content: bytes, chunk: int = MB) -> dispatch_pb2.UploadContentResponse:
    async def chunks():
        for start in range(0, len(content), chunk):
            yield dispatch_pb2.UploadContentRequest(
                account_id="acme", chunk=content[start : start + chunk], total_size=len(content) if start == 0 else 0
            )

    return await stub.UploadContent(chunks(), metadata=METADATA)


def content_store(store) -> ContentStore:
    return ContentStore.beside(store, patience=10.0)


def attachment(filename: str, media_type: str, content: bytes = b"", **fields) -> dispatch_pb2.Attachment:
    if content:
        fields["content"] = content
    return dispatch_pb2.Attachment(filename=filename, media_type=media_type, **fields)


async def test_a_pdf_a_non_ascii_file_name_and_an_inline_image_arrive_byte_for_byte(
    stub, store, dispatch_settings, sink
):
    await save_provider(store, dispatch_settings, sink)
    name = "Rechnung März 2026 – №42 (endgültig).pdf"
    html = '<p>Hallo</p><img src="cid:logo@acme.example">'
    accepted = await stub.SendEmail(
        email(
            html_body=html,
            attachments=[
                attachment(name, "application/pdf", PDF),
                attachment("logo.png", "image/png", PNG, content_id="logo@acme.example"),
            ],
        ),
        metadata=METADATA,
    )
    dispatch = await wait_for_status(stub, accepted.dispatch_id, dispatch_pb2.DISPATCHED)
    assert dispatch.status == dispatch_pb2.DISPATCHED, dispatch
    parsed = sink.received[0].parsed()
    parts = {part.get_filename(): part for part in parsed.walk() if part.get_filename()}
    assert parts[name].get_payload(decode=True) == PDF
    assert parts[name].get_content_type() == "application/pdf"
    assert parts["logo.png"].get_payload(decode=True) == PNG
    assert parts["logo.png"]["Content-ID"] == "<logo@acme.example>"
    assert parts["logo.png"].get_content_disposition() == "inline"
    assert parsed.get_body(("related",))["Content-Type"].startswith("multipart/related")
    assert "cid:logo@acme.example" in parsed.get_body(("html",)).get_content()
    assert dispatch.content_held


async def test_a_thousand_recipient_batch_stores_its_body_once_and_each_event_is_small(
    stub, store, dispatch_settings, sink
):
    await save_provider(store, dispatch_settings, sink, max_send_rate=1.0)  # slow: the test reads, not sends
    html = ("<p>" + "Newsletter text. " * 3000 + "</p>")[:50_000]
    body = await upload(stub, html.encode())
    answer = await stub.SendEmailBatch(
        dispatch_pb2.SendEmailBatchRequest(
            messages=[
                email(to=f"reader{i}@example.org", text_body="", html_body_ref=body.content_ref) for i in range(1000)
            ]
        ),
        metadata=METADATA,
    )
    assert all(result.error_code == 0 for result in answer.results), answer.results[0]
    held = await content_store(store).list()
    assert [item.sha256 for item in held] == [body.content_ref.removeprefix("sha256:")], "one body, stored once"

    report = await upload(stub, os.urandom(2 * MB))
    accepted = await stub.SendEmail(
        email(
            html_body="<p>" + "x" * 50_000 + "</p>",
            attachments=[attachment("report.pdf", "application/pdf", content_ref=report.content_ref)],
        ),
        metadata=METADATA,
    )
    raw = await store.js.get_last_msg(store.stream, store.subject_for("dispatch", accepted.dispatch_id))
    in_stream = len(raw.data) + len(raw.subject) + sum(len(k) + len(v) for k, v in (raw.headers or {}).items())
    assert events_pb2.Event.FromString(raw.data).type == "EmailQueued"
    assert in_stream <= 2048, f"the EmailQueued takes {in_stream} bytes in the stream"


async def test_a_30_mb_message_goes_through_by_upload_and_41_mb_is_refused_before_smtp(
    stub, store, dispatch_settings, sink
):
    await save_provider(store, dispatch_settings, sink, max_message_bytes=SES_LIMIT)
    content = os.urandom(22 * MB)  # about 30 MB once base64-encoded
    uploaded = await upload(stub, content)
    assert uploaded.size == len(content) and uploaded.content_ref == reference_of(sha256_of(content))
    accepted = await stub.SendEmail(
        email(attachments=[attachment("archive.zip", "application/zip", content_ref=uploaded.content_ref)]),
        metadata=METADATA,
    )
    dispatch = await wait_for_status(stub, accepted.dispatch_id, dispatch_pb2.DISPATCHED, timeout=120)
    assert dispatch.status == dispatch_pb2.DISPATCHED, dispatch
    received = sink.received[0]
    assert 29 * MB < len(received.data) < SES_LIMIT
    (part,) = [p for p in received.parsed().walk() if p.get_filename() == "archive.zip"]
    assert part.get_payload(decode=True) == content

    too_big = await upload(stub, os.urandom(31 * MB))  # 41+ MB once encoded
    error = await refused(
        stub.SendEmail(
            email(attachments=[attachment("archive.zip", "application/zip", content_ref=too_big.content_ref)]),
            metadata=METADATA,
        )
    )
    assert error.code() is grpc.StatusCode.INVALID_ARGUMENT
    found = violations(error)
    assert "max_message_bytes" in found["attachments[0].content"], found
    await asyncio.sleep(0.5)
    assert len(sink.received) == 1, "refused before any SMTP work"


@pytest.mark.parametrize(
    "part, field, words",
    [
        (attachment("invoice", "pdf", b"x"), "attachments[0].media_type", "type/subtype"),
        (attachment("setup.exe", "application/octet-stream", b"x"), "attachments[0].filename", "SES does not accept"),
        (attachment("a\nb.pdf", "application/pdf", b"x"), "attachments[0].filename", "line breaks"),
        (
            attachment("a.pdf", "application/pdf", content_ref="sha256:" + "0" * 64),
            "attachments[0].content",
            "upload it with UploadContent",
        ),
        (attachment("a.pdf", "application/pdf", content_ref="not-a-reference"), "attachments[0].content", "sha256:<64"),
        (attachment("a.pdf", "application/pdf"), "attachments[0].content", "is required"),
    ],
    ids=["media-type", "ses-file-type", "file-name", "missing-reference", "malformed-reference", "no-content"],
)
async def test_bad_parts_are_refused_with_the_field_named(stub, store, dispatch_settings, sink, part, field, words):
    await save_provider(store, dispatch_settings, sink)
    error = await refused(stub.SendEmail(email(attachments=[part]), metadata=METADATA))
    assert error.code() is grpc.StatusCode.INVALID_ARGUMENT
    assert words in violations(error)[field], violations(error)


async def test_over_limit_bodies_and_fields_the_log_cannot_take_are_refused_with_the_field_named(
    stub, store, dispatch_settings, sink
):
    await save_provider(store, dispatch_settings, sink)  # max_message_bytes 10 MB here
    error = await refused(stub.SendEmail(email(text_body="x" * (11 * MB)), metadata=METADATA))
    assert error.code() is grpc.StatusCode.INVALID_ARGUMENT
    assert "max_message_bytes" in violations(error)["text_body"]
    error = await refused(stub.SendEmail(email(subject="s" * (3 * MB)), metadata=METADATA))
    assert error.code() is grpc.StatusCode.INVALID_ARGUMENT and "subject" in violations(error)
    error = await refused(stub.SendEmail(email(headers={f"X-H{i}": "v" for i in range(5000)}), metadata=METADATA))
    assert error.code() is grpc.StatusCode.INVALID_ARGUMENT and "headers" in violations(error)
    missing = await refused(stub.SendEmail(email(text_body="", html_body_ref="sha256:" + "1" * 64), metadata=METADATA))
    assert "UploadContent" in violations(missing)["html_body_ref"]
    accepted = await stub.SendEmail(email(html_body="<p>" + "é" * (MB // 2) + "</p>"), metadata=METADATA)
    assert (
        await wait_for_status(stub, accepted.dispatch_id, dispatch_pb2.DISPATCHED)
    ).status == dispatch_pb2.DISPATCHED, "a 1.5 MB body is no longer the event log's problem"


async def test_an_upload_cut_off_midway_leaves_nothing_that_can_be_referenced(stub, store, dispatch_settings, sink):
    await save_provider(store, dispatch_settings, sink)
    content = os.urandom(3 * MB)
    cut = asyncio.Event()

    async def chunks():
        yield dispatch_pb2.UploadContentRequest(account_id="acme", chunk=content[:MB])
        yield dispatch_pb2.UploadContentRequest(account_id="acme", chunk=content[MB : 2 * MB])
        cut.set()
        await asyncio.sleep(3600)  # the client goes away before the rest

    call = stub.UploadContent(chunks(), metadata=METADATA)
    await cut.wait()
    await asyncio.sleep(0.3)
    call.cancel()
    await asyncio.sleep(0.3)
    assert await content_store(store).list() == []
    for part in (content, content[: 2 * MB]):
        error = await refused(
            stub.SendEmail(
                email(
                    attachments=[
                        attachment("a.bin", "application/octet-stream", content_ref=reference_of(sha256_of(part)))
                    ]
                ),
                metadata=METADATA,
            )
        )
        assert "UploadContent" in violations(error)["attachments[0].content"]


async def test_uploads_over_the_limit_are_refused_as_they_come(stub, store, dispatch_settings, sink):
    async def declared():
        yield dispatch_pb2.UploadContentRequest(account_id="acme", chunk=b"x", total_size=SES_LIMIT + 1)

    error = await refused(stub.UploadContent(declared(), metadata=METADATA))
    assert error.code() is grpc.StatusCode.INVALID_ARGUMENT and "40 MB" in violations(error)["total_size"]


@pytest.fixture
def dispatch_settings(dispatch_settings):
    return replace(dispatch_settings, content_sweep_interval=0.2)


async def test_content_is_removed_after_its_retention_and_replay_still_equals_the_live_model(
    store, dispatch_settings, sink
):
    settings = replace(dispatch_settings, content_retention_days=1.0 / 86400, content_orphan_grace=0.5)
    service = await start_service("dispatch", settings, functools.partial(dispatch_main.build, timings=FAST))
    try:
        async with grpc.aio.insecure_channel(f"127.0.0.1:{service.grpc_port}") as channel:
            stub = dispatch_pb2_grpc.DispatchServiceStub(channel)
            await save_provider(store, settings, sink)
            accepted = await stub.SendEmail(
                email(html_body="<p>kept a while</p>", attachments=[attachment("a.pdf", "application/pdf", PDF)]),
                metadata=METADATA,
            )
            sent = await wait_for_status(stub, accepted.dispatch_id, dispatch_pb2.DISPATCHED)
            assert sent.status == dispatch_pb2.DISPATCHED
            assert await content_store(store).list(), "held until its retention has passed"

            async def held() -> bool:
                return (
                    await stub.GetDispatch(
                        dispatch_pb2.GetDispatchRequest(account_id="acme", dispatch_id=accepted.dispatch_id),
                        metadata=METADATA,
                    )
                ).content_held

            for _ in range(200):
                if not await held():
                    break
                await asyncio.sleep(0.1)
            assert not await held()
            assert await content_store(store).list() == []
            runner = runner_of(service)
            assert await dump_from_scratch(runner) == await dump_runner(runner)
    finally:
        await service.stop()


async def test_an_email_queued_from_before_the_content_store_still_sends_its_inline_bodies(
    stub, store, dispatch_settings, sink
):
    await save_provider(store, dispatch_settings, sink)
    legacy = events_pb2.EmailQueued(
        dispatch_id="0190a000-0000-7000-8000-000000000012",
        provider_id=PROVIDER,
        to=[events_pb2.EmailAddress(address="bob@example.org")],
        subject="Old",
        text_body="kept inline",
        html_body="<p>kept inline</p>",
    )
    await store.append(
        new_event(legacy, account_id=ACCOUNT, aggregate_type="dispatch", aggregate_id=legacy.dispatch_id),
        expected_sequence=0,
    )
    dispatch = await wait_for_status(stub, legacy.dispatch_id, dispatch_pb2.DISPATCHED)
    assert dispatch.status == dispatch_pb2.DISPATCHED and dispatch.content_held
    parsed = sink.received[0].parsed()
    assert parsed.get_body(("plain",)).get_content().strip() == "kept inline"
    assert parsed.get_body(("html",)).get_content().strip() == "<p>kept inline</p>"
