"""Dispatch's use of the content store: a request's bodies and parts in, a queued email's out.

The API resolves references and measures parts before any check (`resolve`), stores what the
request carried once the email is accepted (`store_all`, before its EmailQueued is appended), and
the worker fetches it all back to build the message (`fetch`), through a small cache: a batch to a
thousand recipients names the same content a thousand times. A body named by reference is decoded
once and the text shared by every email that names it, and is not encoded and hashed again: its
digest is the reference's, and the bytes read are what is kept in the store. A part's content is
encoded to base64 once, too, and its lines shared by every message that carries it: while any
email in hand holds them, whatever their size (weak references), and after that while the cache
keeps them.
"""

from __future__ import annotations

import asyncio
import sys
import time
import weakref
from collections import OrderedDict
from dataclasses import dataclass, field, replace
from typing import Any

from services.core.content_store import ContentStore, digest_of_reference, sha256_of
from services.core.errors import FieldViolation, require
from services.dispatch.attachments import AttachmentContent, AttachmentMetadata
from services.dispatch.base64_lines import Base64Lines, base64_lines
from services.dispatch.content import HTML_MEDIA_TYPE, TEXT_MEDIA_TYPE, ContentRef, ContentRefs, QueuedPart
from services.dispatch.domain import EmailRequest
from services.dispatch.sized_cache import SizedCache

CACHE_BYTES = 16 * 1024 * 1024
KNOWN_TOUCHES = 10_000  # digests whose last touch in the store this process remembers
STORE_CONCURRENCY = 32
NOT_UPLOADED = (
    "no content with this reference is held: upload it with UploadContent first (content is removed "
    "after its retention)"
)


class ContentMissing(Exception):
    """A queued email's content is no longer in the store."""


@dataclass
class Resolved:
    """A request with its referenced bodies read, and its parts measured."""

    request: EmailRequest
    parts: list[AttachmentMetadata]
    part_digests: list[str]
    # The bodies named by reference: field name -> (its reference, the bytes the store gave)
    named_bodies: dict[str, tuple[ContentRef, bytes]] = field(default_factory=dict)


class EmailContent:
    def __init__(self, store: ContentStore, *, refresh_after: float) -> None:
        self.store = store
        self.refresh_after = refresh_after
        self._cache: SizedCache[str, bytes] = SizedCache(CACHE_BYTES, len)
        self._texts: SizedCache[str, str] = SizedCache(CACHE_BYTES, sys.getsizeof)  # bodies, decoded once
        # Parts (content and lines) kept after their emails: the content's bytes count too.
        self._parts: SizedCache[str, tuple[bytes, Base64Lines]] = SizedCache(CACHE_BYTES, _part_size)
        # Lines some email in hand holds, and the content they encode (alive as long as the lines)
        self._lines_in_hand: weakref.WeakValueDictionary[str, Base64Lines] = weakref.WeakValueDictionary()
        self._content_of: weakref.WeakKeyDictionary[Base64Lines, bytes] = weakref.WeakKeyDictionary()
        self._reading: dict[str, asyncio.Future] = {}
        self._touched: OrderedDict[str, float] = OrderedDict()  # digest -> when the store last touched it

    # ---- the API ----

    async def resolve(self, request: EmailRequest) -> Resolved:
        """The request with body references read; INVALID_ARGUMENT naming each bad reference."""
        violations: list[FieldViolation] = []
        bodies: dict[str, Any]  # replace()'s keywords: mypy checks a **dict[str, str] against every field
        bodies, named = {}, {}
        for name, inline, reference, media_type in (
            ("text_body", request.text_body, request.text_body_ref, TEXT_MEDIA_TYPE),
            ("html_body", request.html_body, request.html_body_ref, HTML_MEDIA_TYPE),
        ):
            bodies[name] = inline
            if not reference:
                continue
            if inline:
                violations.append(FieldViolation(f"{name}_ref", f"give {name} or {name}_ref, not both"))
                continue
            text, found, problem = await self._body(reference, media_type)
            if problem:
                violations.append(FieldViolation(f"{name}_ref", problem))
            bodies[name] = text
            if found is not None and text:  # an empty upload is no body, as an empty inline one
                named[name] = found
        parts, digests = [], []
        for index, part in enumerate(request.attachments):
            size, digest, problem = await self._measure(part.content, part.reference)
            if problem:
                violations.append(FieldViolation(f"attachments[{index}].content", problem))
            parts.append(AttachmentMetadata(part.filename, part.media_type, size, part.content_id))
            digests.append(digest)
        require(violations)
        if request.text_body_ref or request.html_body_ref:
            request = replace(request, **bodies)  # a new frozen request only when a body was read
        return Resolved(request, parts, digests, named)

    async def _body(self, reference: str, media_type: str) -> tuple[str, tuple[ContentRef, bytes] | None, str | None]:
        """(the text, its reference and bytes, a problem with it)."""
        digest = digest_of_reference(reference)
        if digest is None:
            return "", None, "must be a reference UploadContent gave out: sha256:<64 lower-case hex digits>"
        content = await self._read(digest)
        if content is None:
            return "", None, NOT_UPLOADED
        try:
            return self._text_of(digest, content), (ContentRef(digest, len(content), media_type), content), None
        except UnicodeDecodeError:
            return "", None, "the uploaded content is not UTF-8 text"

    async def _measure(self, content: bytes | None, reference: str) -> tuple[int, str, str | None]:
        if content is not None:
            return len(content), sha256_of(content), None
        if not reference:
            return 0, "", "content or content_ref is required"
        digest = digest_of_reference(reference)
        if digest is None:
            return 0, "", "content_ref must be a reference UploadContent gave out: sha256:<64 lower-case hex digits>"
        stored = await self.store.info(digest)
        if stored is None:
            return 0, "", f"content_ref {reference}: {NOT_UPLOADED}"
        return stored.size, digest, None

    def refs_for(self, resolved: Resolved) -> ContentRefs:
        """The references its EmailQueued will carry (pure hashing: nothing is stored yet)."""
        request, named = resolved.request, resolved.named_bodies
        text = named["text_body"][0] if "text_body" in named else _body_ref(request.text_body, TEXT_MEDIA_TYPE)
        html = named["html_body"][0] if "html_body" in named else _body_ref(request.html_body, HTML_MEDIA_TYPE)
        parts = tuple(
            QueuedPart(part.filename, part.content_id, ContentRef(digest, part.size, part.media_type))
            for part, digest in zip(resolved.parts, resolved.part_digests)
        )
        return ContentRefs(text, html, parts)

    async def store_all(self, resolved: list[Resolved]) -> list[Exception | None]:
        """Everything each EmailQueued will name is in the store (and freshly touched), or the error
        that kept it out, per request. Content a batch repeats is stored once; distinct content is
        stored a few pieces at a time, not one after another."""
        needed = [_contents(item) for item in resolved]
        unique: dict[str, bytes | None] = {}
        for contents in needed:
            for digest, content in contents.items():
                if unique.get(digest) is None:
                    unique[digest] = content
        gate = asyncio.Semaphore(STORE_CONCURRENCY)

        async def keep(digest: str, content: bytes | None) -> None:
            if time.time() - self._touched.get(digest, 0.0) <= self.refresh_after:
                # This process stored or touched it that recently: the sweeper leaves content alone
                # for twice as long after a touch, so asking the store again would only confirm it.
                return
            async with gate:
                if content is None:
                    stored = await self.store.touch(digest, refresh_after=self.refresh_after)
                else:
                    stored = await self.store.put(content, refresh_after=self.refresh_after)
                    # This process's worker is usually the one that sends it: it need not read it back.
                    self._remember(digest, content)
            if stored is not None:
                self._note_touched(stored.sha256, stored.touched_at)

        digests = list(unique)
        outcomes = await asyncio.gather(*(keep(d, unique[d]) for d in digests), return_exceptions=True)
        failed = {digest: outcome for digest, outcome in zip(digests, outcomes) if isinstance(outcome, Exception)}
        return [next((failed[d] for d in contents if d in failed), None) for contents in needed]

    # ---- the worker ----

    async def fetch(self, request: EmailRequest, refs: ContentRefs) -> tuple[EmailRequest, list[AttachmentContent]]:
        """The request with its bodies, and its parts' content; ContentMissing when any is gone."""
        bodies: dict[str, Any] = {}  # replace()'s keywords, as in resolve()
        for name, ref in (("text_body", refs.text), ("html_body", refs.html)):
            if ref is not None:
                bodies[name] = self._text_of(ref.sha256, await self._required(ref.sha256))
        parts = []
        for part in refs.parts:
            content, encoded = await self._part(part.content.sha256)
            parts.append(AttachmentContent(part.filename, part.content.media_type, content, part.content_id, encoded))
        return (replace(request, **bodies) if bodies else request), parts

    async def _part(self, digest: str) -> tuple[bytes, Base64Lines]:
        """A part's content and its lines: those an email in hand holds, or read and encoded."""
        if (held := self._held(digest)) is not None:
            return held
        content = await self._required(digest)
        if (held := self._held(digest)) is not None:  # another email read and encoded it meanwhile
            return held
        encoded = base64_lines(content)
        self._parts.put(digest, (content, encoded))
        self._lines_in_hand[digest] = encoded
        self._content_of[encoded] = content
        return content, encoded

    def _held(self, digest: str) -> tuple[bytes, Base64Lines] | None:
        if (kept := self._parts.get(digest)) is not None:
            return kept
        encoded = self._lines_in_hand.get(digest)
        content = self._content_of.get(encoded) if encoded is not None else None
        return (content, encoded) if content is not None and encoded is not None else None

    async def held(self, digests: set[str]) -> bool:
        return all((await self.held_each(digests)).values())

    async def held_each(self, digests: set[str]) -> dict[str, bool]:
        """Whether the store still holds each of these, asked a few at a time."""
        gate = asyncio.Semaphore(STORE_CONCURRENCY)

        async def held(digest: str) -> bool:
            async with gate:
                return await self.store.info(digest) is not None

        asked = list(digests)
        return dict(zip(asked, await asyncio.gather(*(held(digest) for digest in asked))))

    async def _required(self, digest: str) -> bytes:
        content = await self._read(digest)
        if content is None:
            raise ContentMissing(digest)
        return content

    async def _read(self, digest: str) -> bytes | None:
        """From the cache, else from the store; workers wanting the same content wait for one read."""
        if (cached := self._cache.get(digest)) is not None:
            return cached
        if digest in self._reading:
            return await asyncio.shield(self._reading[digest])
        reading = self._reading[digest] = asyncio.ensure_future(self._fetch(digest))
        try:
            return await asyncio.shield(reading)
        finally:
            if reading.done():
                self._reading.pop(digest, None)
            else:
                reading.add_done_callback(lambda _: self._reading.pop(digest, None))

    async def _fetch(self, digest: str) -> bytes | None:
        content = await self.store.get(digest)
        if content is not None:
            self._remember(digest, content)
        return content

    def _note_touched(self, digest: str, touched_at: float) -> None:
        self._touched[digest] = touched_at
        self._touched.move_to_end(digest)
        while len(self._touched) > KNOWN_TOUCHES:
            self._touched.popitem(last=False)

    def _text_of(self, digest: str, content: bytes) -> str:
        """`content` decoded (UnicodeDecodeError if it is not UTF-8), the same text for each asking."""
        return self._texts.get_or_make(digest, lambda: content.decode("utf-8"))

    def _remember(self, digest: str, content: bytes) -> None:
        self._cache.put(digest, content)


def _part_size(part: tuple[bytes, Base64Lines]) -> int:
    content, encoded = part
    return len(content) + len(encoded)


def _contents(resolved: Resolved) -> dict[str, bytes | None]:
    """digest -> the bytes to store, or None for content the request named by reference (only touched)."""
    request = resolved.request
    found: dict[str, bytes | None] = {}
    for name, body in (("text_body", request.text_body), ("html_body", request.html_body)):
        if (named := resolved.named_bodies.get(name)) is not None:
            ref, content = named
            found[ref.sha256] = content
        elif body:
            data = body.encode("utf-8")
            found[sha256_of(data)] = data
    for part, digest in zip(request.attachments, resolved.part_digests):
        if found.get(digest) is None:
            found[digest] = part.content
    return found


def _body_ref(body: str, media_type: str) -> ContentRef | None:
    if not body:
        return None
    data = body.encode("utf-8")
    return ContentRef(sha256_of(data), len(data), media_type)
