"""Sealing secrets (SMTP passwords) with AES-256-GCM under rotatable, named keys.

POSTROOM_SECRET_KEY = "kid:base64key[,kid2:base64key2...]": the first key seals, every key opens,
so a key is rotated by putting the new one first and keeping the old one until nothing uses it.
Sealed form: b"\\x01" | len(kid) | kid | 12-byte nonce | ciphertext+tag. The associated data binds
a ciphertext to its owner (account and provider), so it cannot be moved to another record.

cryptography is imported by the first seal or open, not with this module: its Rust library (all of
OpenSSL's primitives in one) maps about 8 MB into a process, and an idle service has no secret
to open yet.
"""

from __future__ import annotations

import base64
import binascii
import os
from typing import TYPE_CHECKING

from services.core.log import register_secret

if TYPE_CHECKING:
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM

_FORMAT = 1
_NONCE_BYTES = 12


class SecretBoxError(Exception):
    pass


def provider_secret_aad(account_id: str, provider_id: str, field: str) -> str:
    """What a provider secret's ciphertext is bound to; config seals and dispatch opens with it."""
    return f"{account_id}/{provider_id}/{field}"


def generate_key_spec(kid: str = "k1") -> str:
    return f"{kid}:{base64.urlsafe_b64encode(os.urandom(32)).decode()}"


class SecretBox:
    def __init__(self, keys: dict[str, bytes], active_kid: str) -> None:
        self._keys = keys
        self._ciphers: dict[str, AESGCM] = {}
        self.active_kid = active_kid

    @classmethod
    def from_spec(cls, spec: str) -> "SecretBox":
        if not spec.strip():
            raise SecretBoxError("POSTROOM_SECRET_KEY is not set: generate one with `postroom keygen`")
        keys: dict[str, bytes] = {}
        order: list[str] = []
        for item in spec.split(","):
            kid, sep, encoded = item.strip().partition(":")
            if not sep or not kid or len(kid) > 32:
                raise SecretBoxError("POSTROOM_SECRET_KEY must be 'kid:base64key[,kid:base64key]'")
            try:
                key = base64.urlsafe_b64decode(encoded + "=" * (-len(encoded) % 4))
            except (binascii.Error, ValueError):
                raise SecretBoxError(f"POSTROOM_SECRET_KEY key {kid!r} is not base64") from None
            if len(key) != 32:
                raise SecretBoxError(f"POSTROOM_SECRET_KEY key {kid!r} must be 32 bytes")
            keys[kid] = key
            order.append(kid)
        return cls(keys, order[0])

    def seal(self, plaintext: str, associated: str) -> bytes:
        register_secret(plaintext)
        kid = self.active_kid.encode()
        nonce = os.urandom(_NONCE_BYTES)
        sealed = self._cipher(self.active_kid).encrypt(nonce, plaintext.encode(), associated.encode())
        return bytes([_FORMAT, len(kid)]) + kid + nonce + sealed

    def open(self, sealed: bytes, associated: str) -> str:
        if len(sealed) < 2 or sealed[0] != _FORMAT:
            raise SecretBoxError("not a sealed secret")
        kid_end = 2 + sealed[1]
        kid = sealed[2:kid_end].decode(errors="replace")
        if kid not in self._keys:
            raise SecretBoxError(f"sealed with key {kid!r}, which is not in POSTROOM_SECRET_KEY")
        nonce, body = sealed[kid_end : kid_end + _NONCE_BYTES], sealed[kid_end + _NONCE_BYTES :]
        from cryptography.exceptions import InvalidTag

        try:
            plaintext = self._cipher(kid).decrypt(nonce, body, associated.encode()).decode()
        except InvalidTag:
            raise SecretBoxError("sealed secret does not open: wrong key or moved ciphertext") from None
        register_secret(plaintext)
        return plaintext

    def _cipher(self, kid: str) -> AESGCM:
        if kid not in self._ciphers:
            from cryptography.hazmat.primitives.ciphers.aead import AESGCM

            self._ciphers[kid] = AESGCM(self._keys[kid])
        return self._ciphers[kid]

    def key_id_of(self, sealed: bytes) -> str:
        return sealed[2 : 2 + sealed[1]].decode(errors="replace") if len(sealed) > 2 else ""
