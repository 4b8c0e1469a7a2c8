"""What of an email lives in the content store, and when it may leave it (pure).

An EmailQueued names its bodies and parts by reference (SHA-256, size, media type); the store
holds each distinct content once. Content is kept while any dispatch naming it has no outcome,
then for the retention after the last outcome; content no dispatch names (an upload never used,
or the content of a request whose EmailQueued never landed because the process was killed) is
removed once it has gone untouched for the orphan grace.
"""

from __future__ import annotations

from dataclasses import dataclass

from services.core.errors import FieldViolation

TEXT_MEDIA_TYPE = 'text/plain; charset="utf-8"'
HTML_MEDIA_TYPE = 'text/html; charset="utf-8"'
UPLOAD_CHUNK_BYTES = 1024 * 1024  # UploadContent's chunks: well within gRPC's 4 MB default message


@dataclass(frozen=True)
class ContentRef:
    sha256: str
    size: int
    media_type: str


@dataclass(frozen=True)
class QueuedPart:
    filename: str
    content_id: str
    content: ContentRef


@dataclass(frozen=True)
class ContentRefs:
    """An EmailQueued's references: its bodies and parts in the content store."""

    text: ContentRef | None = None
    html: ContentRef | None = None
    parts: tuple[QueuedPart, ...] = ()

    @property
    def digests(self) -> set[str]:
        refs = [self.text, self.html, *(part.content for part in self.parts)]
        return {ref.sha256 for ref in refs if ref is not None}


@dataclass(frozen=True)
class Hold:
    """What the read model knows of the dispatches naming one piece of content."""

    open: bool  # some dispatch naming it has no outcome yet
    last_settled_at: float  # seconds since the epoch: the latest outcome among them


def removable(touched_at: float, hold: Hold | None, now: float, *, retention: float, orphan_grace: float) -> bool:
    """May the sweeper remove content last touched at `touched_at`?

    Recently touched content stays whatever the read model says: its EmailQueued may still be on
    its way (the API touches content before appending)."""
    if now - touched_at < orphan_grace:
        return False
    if hold is None:
        return True
    return not hold.open and now - hold.last_settled_at >= retention


def log_size_violation(event_bytes: int, limit: int) -> FieldViolation:
    """An EmailQueued the event log cannot take in one message: named, never a crash in the store."""
    return FieldViolation(
        "message",
        f"the email's recorded facts (recipients, subject, headers, tags) take "
        f"{event_bytes} bytes; the event log (NATS max_payload) takes at most {limit} "
        "bytes per event: send fewer recipients, headers or tags per message",
    )


def too_large_violation(field: str, size: int, limit: int, hint: str) -> FieldViolation:
    return FieldViolation(
        field, f"the message is at least {size} bytes once encoded; the provider's max_message_bytes is {limit}. {hint}"
    )
