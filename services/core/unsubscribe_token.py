"""Signed, sealed unsubscribe tokens for `List-Unsubscribe` links (RFC 8058 one-click).

Pure code, no I/O: the unsubscribe service verifies these tokens, dispatch issues them.

POSTROOM_UNSUBSCRIBE_KEY = "kid:base64-32-byte-key[,kid2:key2]": the first key issues, every key
verifies, so a key is rotated by putting a new one first and keeping the old one as long as mail
that carries its tokens may still be read (months: tokens do not expire unless max_age is set).

Token layout, base64url without padding (the whole thing is URL-safe):

    version(1) | len(kid)(1) | kid | tag(32) | AES-256-CTR(enc_key, iv=tag[:16], body)
    body = issued_at(8, Unix seconds) | u16-prefixed UTF-8: account_id, email, list_id, dispatch_id
    tag  = HMAC-SHA256(mac_key, version | kid | body)

mac_key and enc_key are derived from the configured key with HKDF-SHA256. This is the SIV
construction (a deterministic authenticated encryption, RFC 5297's shape with HMAC as the PRF):
the HMAC over account, normalised email, list and issue time is both the signature and the IV,
so the address is never readable in the link (mail clients, proxies and logs keep URLs) yet the
landing page can name the list, and the service recovers the address to append `Unsubscribed`
with its recipient_hash. The only thing a token reveals without the key is its key id.

HKDF and AES come from cryptography, imported with the first token issued or opened rather than
with this module: its Rust library maps about 8 MB into a process, and an idle service has issued
or opened none yet.
"""

from __future__ import annotations

import base64
import binascii
import functools
import hashlib
import hmac
import re
import struct
import urllib.parse
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone

from services.core.ids import normalize_email, recipient_hash

_VERSION = 1
_TAG_BYTES = 32
_IV_BYTES = 16
_MAX_TOKEN_CHARS = 2048
_KID = re.compile(r"^[A-Za-z0-9_-]{1,32}$")
_BASE64URL = re.compile(r"^[A-Za-z0-9_-]+$")
_HKDF_INFO = b"postroom/unsubscribe-token/v1"
_ENV = "POSTROOM_UNSUBSCRIBE_KEY"

ONE_CLICK_POST_VALUE = "List-Unsubscribe=One-Click"


class UnsubscribeKeyError(ValueError):
    """The configured key spec is missing or malformed."""


class InvalidUnsubscribeToken(Exception):
    """Deliberately carries no detail a client may see: the page must give no hint."""


@dataclass(frozen=True)
class TokenClaims:
    account_id: str
    email: str
    recipient_hash: str
    list_id: str
    dispatch_id: str
    issued_at: datetime


@dataclass(frozen=True)
class _TokenKey:
    kid: str
    secret: bytes = field(repr=False)

    @functools.cached_property
    def _derived(self) -> tuple[bytes, bytes]:
        """(mac_key, enc_key)."""
        from cryptography.hazmat.primitives import hashes
        from cryptography.hazmat.primitives.kdf.hkdf import HKDF

        okm = HKDF(algorithm=hashes.SHA256(), length=64, salt=None, info=_HKDF_INFO).derive(self.secret)
        return okm[:32], okm[32:]

    def tag(self, header: bytes, body: bytes) -> bytes:
        mac_key, _ = self._derived
        return hmac.new(mac_key, header + body, hashlib.sha256).digest()

    def ctr(self, iv: bytes, data: bytes) -> bytes:
        from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

        # CTR is its own inverse: the same call seals and opens.
        _, enc_key = self._derived
        cryptor = Cipher(algorithms.AES(enc_key), modes.CTR(iv)).encryptor()
        return cryptor.update(data) + cryptor.finalize()


class UnsubscribeTokens:
    def __init__(self, keys: list[_TokenKey]) -> None:
        if not keys:
            raise UnsubscribeKeyError(f"{_ENV} holds no key")
        self._issuing = keys[0]
        self._by_kid = {key.kid: key for key in keys}

    @property
    def issuing_kid(self) -> str:
        return self._issuing.kid

    @classmethod
    def from_spec(cls, spec: str) -> "UnsubscribeTokens":
        if not spec or not spec.strip():
            raise UnsubscribeKeyError(
                f"{_ENV} is not set: set it to 'kid:base64-32-byte-key' "
                "(e.g. generate 32 random bytes and base64url-encode them)"
            )
        return cls([_parse_key(item) for item in spec.split(",")])

    def issue(
        self, account_id: str, email: str, list_id: str = "", dispatch_id: str = "", *, issued_at: datetime
    ) -> str:
        key = self._issuing
        header = bytes([_VERSION, len(key.kid)]) + key.kid.encode()
        body = _encode_body(account_id, normalize_email(email), list_id, dispatch_id, issued_at)
        tag = key.tag(header, body)
        return _b64encode(header + tag + key.ctr(tag[:_IV_BYTES], body))

    def verify(self, token: str, now: datetime, max_age: timedelta | None = None) -> TokenClaims:
        raw = _b64decode_canonical(token)
        key, header, rest = self._split_header(raw)
        if len(rest) < _TAG_BYTES:
            raise InvalidUnsubscribeToken()
        tag, sealed = rest[:_TAG_BYTES], rest[_TAG_BYTES:]
        body = key.ctr(tag[:_IV_BYTES], sealed)
        if not hmac.compare_digest(tag, key.tag(header, body)):
            raise InvalidUnsubscribeToken()
        claims = _decode_body(body)
        if max_age is not None and _as_utc(now) - claims.issued_at > max_age:
            raise InvalidUnsubscribeToken()
        return claims

    def _split_header(self, raw: bytes) -> tuple[_TokenKey, bytes, bytes]:
        if len(raw) < 2 or raw[0] != _VERSION:
            raise InvalidUnsubscribeToken()
        kid_end = 2 + raw[1]
        kid = raw[2:kid_end].decode("ascii", errors="replace")
        key = self._by_kid.get(kid)
        if key is None or len(raw) < kid_end:
            raise InvalidUnsubscribeToken()
        return key, raw[:kid_end], raw[kid_end:]


def max_age_from_days(days: int) -> timedelta | None:
    """settings.unsubscribe_token_max_age_days: 0 means tokens never expire (mail is read late)."""
    return timedelta(days=days) if days > 0 else None


def unsubscribe_url(public_url: str, token: str) -> str:
    return f"{public_url.rstrip('/')}/u/{token}"


def list_unsubscribe_headers(public_url: str, token: str, mailto: str = "") -> dict[str, str]:
    """RFC 2369 List-Unsubscribe with the RFC 8058 one-click marker Gmail and Yahoo require."""
    targets = [f"<{unsubscribe_url(public_url, token)}>"]
    address = mailto.strip().removeprefix("mailto:")
    if address:
        targets.append(f"<mailto:{urllib.parse.quote(address, safe='@')}?subject=unsubscribe>")
    return {
        "List-Unsubscribe": ", ".join(targets),
        "List-Unsubscribe-Post": ONE_CLICK_POST_VALUE,
    }


def _parse_key(item: str) -> _TokenKey:
    kid, sep, encoded = item.strip().partition(":")
    if not sep or not _KID.fullmatch(kid):
        raise UnsubscribeKeyError(
            f"{_ENV} must be 'kid:base64key[,kid:base64key]' with kid of 1-32 letters, digits, '_' or '-'"
        )
    try:
        secret = base64.urlsafe_b64decode(encoded + "=" * (-len(encoded) % 4))
    except (binascii.Error, ValueError):
        raise UnsubscribeKeyError(f"{_ENV} key {kid!r} is not base64") from None
    if len(secret) != 32:
        raise UnsubscribeKeyError(f"{_ENV} key {kid!r} must be 32 bytes, not {len(secret)}")
    return _TokenKey(kid, secret)


def _encode_body(account_id: str, email: str, list_id: str, dispatch_id: str, issued_at: datetime) -> bytes:
    seconds = int(_as_utc(issued_at).timestamp())
    return struct.pack(">Q", seconds) + b"".join(
        _length_prefixed(value) for value in (account_id, email, list_id, dispatch_id)
    )


def _decode_body(body: bytes) -> TokenClaims:
    try:
        (seconds,) = struct.unpack_from(">Q", body, 0)
        values, offset = [], 8
        for _ in range(4):
            (length,) = struct.unpack_from(">H", body, offset)
            offset += 2
            values.append(body[offset : offset + length].decode())
            offset += length
        if offset != len(body):
            raise ValueError("trailing bytes")
        issued_at = datetime.fromtimestamp(seconds, tz=timezone.utc)
    except (struct.error, UnicodeDecodeError, ValueError, OverflowError, OSError):
        # Only reachable with a forged tag that verified, i.e. never; kept so a bug can't 500.
        raise InvalidUnsubscribeToken() from None
    account_id, email, list_id, dispatch_id = values
    return TokenClaims(
        account_id=account_id,
        email=email,
        recipient_hash=recipient_hash(email),
        list_id=list_id,
        dispatch_id=dispatch_id,
        issued_at=issued_at,
    )


def _length_prefixed(value: str) -> bytes:
    data = value.encode()
    if len(data) > 0xFFFF:
        raise ValueError("unsubscribe token field longer than 65535 bytes")
    return struct.pack(">H", len(data)) + data


def _as_utc(moment: datetime) -> datetime:
    return moment.replace(tzinfo=timezone.utc) if moment.tzinfo is None else moment


def _b64encode(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _b64decode_canonical(token: object) -> bytes:
    if not isinstance(token, str) or not 0 < len(token) <= _MAX_TOKEN_CHARS:
        raise InvalidUnsubscribeToken()
    if not _BASE64URL.fullmatch(token) or len(token) % 4 == 1:
        raise InvalidUnsubscribeToken()
    raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
    # The last character may carry unused bits; a decoder ignores them, so a changed last
    # character could decode to the same bytes. Only the canonical spelling is accepted.
    if _b64encode(raw) != token:
        raise InvalidUnsubscribeToken()
    return raw
