"""A body a batch names by reference, through EmailContent and a real nats-server's content store:
decoded once and shared, its digest taken from the reference, and kept in the store; a part's
content encoded once for every message that carries it, and shared while an email holds it."""

from __future__ import annotations

import asyncio
import gc
from dataclasses import replace

from services.core.content_store import ContentStore, reference_of, sha256_of
from services.dispatch.base64_lines import base64_lines
from services.dispatch.content import HTML_MEDIA_TYPE, ContentRef, ContentRefs, QueuedPart
from services.dispatch.domain import EmailRequest, Mailbox
from services.dispatch.email_content import EmailContent
from tests.integration.dispatch.dispatch_support import ACCOUNT, PROVIDER

HTML = ("<p>" + "A newsletter paragraph. " * 4000 + "</p>").encode()


def naming_the_html(index: int) -> EmailRequest:
    return EmailRequest(
        ACCOUNT,
        PROVIDER,
        to=(Mailbox(f"reader{index}@example.org"),),
        subject="News",
        html_body_ref=reference_of(sha256_of(HTML)),
    )


async def test_every_email_naming_a_body_shares_one_text_and_its_reference(store):
    content = EmailContent(ContentStore.beside(store, patience=5.0), refresh_after=0.0)
    digest = (await content.store.put(HTML)).sha256
    resolved = [await content.resolve(naming_the_html(index)) for index in range(50)]

    assert all(item.request.html_body is resolved[0].request.html_body for item in resolved)
    assert resolved[0].request.html_body == HTML.decode()
    assert {content.refs_for(item).html for item in resolved} == {ContentRef(digest, len(HTML), HTML_MEDIA_TYPE)}
    assert await content.store_all(resolved) == [None] * 50
    assert (await content.store.info(digest)).size == len(HTML)


async def test_a_named_body_gone_from_the_store_but_read_already_is_stored_again(store):
    content = EmailContent(ContentStore.beside(store, patience=5.0), refresh_after=0.0)
    digest = (await content.store.put(HTML)).sha256
    resolved = await content.resolve(naming_the_html(0))
    await content.store.delete(digest)  # the sweeper, between the read and the append

    assert await content.store_all([resolved]) == [None]
    assert await content.store.get(digest) == HTML


async def test_an_empty_body_named_by_reference_is_no_body(store):
    content = EmailContent(ContentStore.beside(store, patience=5.0), refresh_after=0.0)
    empty = (await content.store.put(b"")).sha256
    request = replace(naming_the_html(0), html_body_ref=reference_of(empty), text_body="Hi")
    resolved = await content.resolve(request)
    assert resolved.request.html_body == "" and content.refs_for(resolved).html is None


async def test_every_message_carrying_a_part_shares_one_encoding_of_it(store):
    content = EmailContent(ContentStore.beside(store, patience=5.0), refresh_after=0.0)
    pdf = b"%PDF-1.7 " + bytes(range(256)) * 400
    digest = (await content.store.put(pdf)).sha256
    refs = ContentRefs(None, None, (QueuedPart("a.pdf", "", ContentRef(digest, len(pdf), "application/pdf")),))
    request = replace(naming_the_html(0), html_body_ref="", text_body="Hi")

    fetched = [(await content.fetch(request, refs))[1][0] for _ in range(3)]

    assert fetched[0].content == pdf and fetched[0].encoded.data == base64_lines(pdf).data
    assert all(part.encoded is fetched[0].encoded for part in fetched)


VIDEO = bytes(range(256)) * (24 * 1024)  # 6 MB: past what the caches keep


async def counting_reads(store) -> tuple[EmailContent, list[str], ContentRefs]:
    """EmailContent on the real store, its reads counted, and the refs of an email carrying VIDEO."""
    content = EmailContent(ContentStore.beside(store, patience=5.0), refresh_after=0.0)
    digest = (await content.store.put(VIDEO)).sha256
    refs = ContentRefs(None, None, (QueuedPart("v.mp4", "", ContentRef(digest, len(VIDEO), "video/mp4")),))
    reads: list[str] = []
    store_get = content.store.get

    async def counted_get(wanted: str):
        reads.append(wanted)
        return await store_get(wanted)

    content.store.get = counted_get  # type: ignore[method-assign]  # the real read, counted
    return content, reads, refs


async def test_emails_fetching_one_large_part_at_once_read_and_encode_it_once(store):
    content, reads, refs = await counting_reads(store)
    request = replace(naming_the_html(0), html_body_ref="", text_body="Hi")
    fetched = await asyncio.gather(*(content.fetch(request, refs) for _ in range(5)))
    parts = [part for _, [part] in fetched]
    assert len(reads) == 1 and all(part.encoded is parts[0].encoded for part in parts)


async def test_a_part_too_large_to_cache_is_shared_while_an_email_holds_it_and_not_after(store):
    content, reads, refs = await counting_reads(store)
    digest, video = refs.parts[0].content.sha256, VIDEO
    request = replace(naming_the_html(0), html_body_ref="", text_body="Hi")

    [held] = (await content.fetch(request, refs))[1]
    [again] = (await content.fetch(request, refs))[1]
    assert again.content is held.content and again.encoded is held.encoded and reads == [digest]

    del held, again
    gc.collect()
    [later] = (await content.fetch(request, refs))[1]
    assert reads == [digest, digest], "nothing kept it once no email held it"
    assert later.encoded.data == base64_lines(video).data
