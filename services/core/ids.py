"""Identifiers: UUIDv7 event ids, subject-safe aggregate tokens, recipient hashes."""

from __future__ import annotations

import hashlib
import os
import re
import threading
import time
import uuid

_SUBJECT_TOKEN = re.compile(r"[A-Za-z0-9_-]{1,128}")
# Account and provider ids: subject-safe, and short enough to sit in URLs and subjects.
_IDENTIFIER = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]{0,63}")
IDENTIFIER_RULE = "must be 1-64 letters, digits, '-' or '_'"


class _RandomPool:
    """os.urandom in 4 KiB draws: one system call per ~400 ids instead of one per id."""

    def __init__(self) -> None:
        self._pool = b""
        self._lock = threading.Lock()

    def take(self, size: int) -> bytes:
        with self._lock:
            if len(self._pool) < size:
                self._pool = os.urandom(4096)
            chunk, self._pool = self._pool[:size], self._pool[size:]
        return chunk


_random = _RandomPool()


def uuid7() -> uuid.UUID:
    """RFC 9562 UUIDv7: 48-bit Unix milliseconds, then random bits; sorts by creation time."""
    millis = time.time_ns() // 1_000_000
    rand = int.from_bytes(_random.take(10), "big")
    value = (millis & ((1 << 48) - 1)) << 80
    value |= 0x7 << 76  # version
    value |= ((rand >> 68) & 0xFFF) << 64  # rand_a
    value |= 0b10 << 62  # variant
    value |= rand & ((1 << 62) - 1)  # rand_b
    return uuid.UUID(int=value)


def name_based_id(*parts: str) -> str:
    """A stable id derived from natural keys (e.g. account + idempotency key)."""
    digest = int.from_bytes(hashlib.sha256("\x1f".join(parts).encode()).digest()[:16], "big")
    digest = (digest & ~(0xF << 76)) | (0x8 << 76)  # version 8: custom (RFC 9562)
    digest = (digest & ~(0b11 << 62)) | (0b10 << 62)  # RFC variant
    return str(uuid.UUID(int=digest))


def normalize_email(address: str) -> str:
    # Mailbox local parts are case-sensitive by RFC 5321, but no real provider treats them so,
    # and a suppression that misses "Bob@" for "bob@" would hurt the sender's reputation.
    return address.strip().lower()


def recipient_hash(address: str) -> str:
    """SHA-256 hex of the normalised address: subject-safe, and no personal data in subjects."""
    return hashlib.sha256(normalize_email(address).encode()).hexdigest()


def is_identifier(value: str) -> bool:
    return _IDENTIFIER.fullmatch(value) is not None


def is_subject_token(token: str) -> bool:
    return bool(_SUBJECT_TOKEN.fullmatch(token))
