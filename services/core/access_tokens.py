"""API tokens and the accounts each one may act for, kept as SHA-256 digests, never as the tokens.

An entry reads `<sha256 hex of the token>=<account>[,<account>...]` or `<hex>=all`. Entries come from
POSTROOM_API_TOKENS (separated by `;` or new lines) and from the file POSTROOM_API_TOKENS_FILE (one a
line, `#` starts a comment). The single POSTROOM_API_TOKEN, where set, is an all-accounts token.

Why a plain SHA-256 and not a slow password hash: these tokens are machine-made with at least 128 bits
of randomness (`postroom token new` makes 256), so no dictionary or brute force can reach one from its
digest; a slow hash only protects guessable secrets, and would cost every gRPC call its time.
"""

from __future__ import annotations

import hashlib
import re
import secrets
from dataclasses import dataclass
from pathlib import Path

ALL_ACCOUNTS = "all"
_DIGEST = re.compile(r"^(?:sha256:)?([0-9a-f]{64})$")


def token_digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def new_token() -> str:
    return secrets.token_urlsafe(32)


def token_entry(token: str, accounts: list[str]) -> str:
    """The line an operator adds to POSTROOM_API_TOKENS or the token file for this token."""
    return f"sha256:{token_digest(token)}={','.join(accounts) or ALL_ACCOUNTS}"


@dataclass(frozen=True)
class TokenGrant:
    """What one token may do: act for these accounts, or (accounts None) for every account."""

    accounts: frozenset[str] | None

    @property
    def every_account(self) -> bool:
        return self.accounts is None

    def allows(self, account_id: str) -> bool:
        return self.accounts is None or account_id in self.accounts

    def describe(self) -> str:
        return ALL_ACCOUNTS if self.accounts is None else ", ".join(sorted(self.accounts))


class TokenSpecError(ValueError):
    pass


class AccessTokens:
    """The tokens a server accepts. A lookup hashes what the caller presented and finds its digest:
    the digest of a secret token tells nothing about it, so the lookup needs no constant-time compare."""

    def __init__(self, grants: dict[str, TokenGrant]) -> None:
        if not grants:
            raise TokenSpecError(
                "no API token is set: set POSTROOM_API_TOKEN, POSTROOM_API_TOKENS or POSTROOM_API_TOKENS_FILE"
            )
        self._grants = dict(grants)

    @classmethod
    def from_sources(cls, single_token: str = "", entries: str = "", entries_file: str = "") -> "AccessTokens":
        grants: dict[str, TokenGrant] = {}
        if single_token:
            grants[token_digest(single_token)] = TokenGrant(None)
        grants.update(parse_entries(entries, "POSTROOM_API_TOKENS"))
        if entries_file:
            grants.update(parse_entries(_read(entries_file), entries_file))
        return cls(grants)

    def grant_for(self, presented_token: str) -> TokenGrant | None:
        return self._grants.get(token_digest(presented_token))


def parse_entries(text: str, source: str) -> dict[str, TokenGrant]:
    grants = {}
    for number, raw in enumerate(re.split(r"[;\n]", text), start=1):
        entry = raw.split("#", 1)[0].strip()
        if entry:
            digest, grant = _parse_entry(entry, f"{source} entry {number}")
            grants[digest] = grant
    return grants


def _parse_entry(entry: str, where: str) -> tuple[str, TokenGrant]:
    digest_part, _, accounts_part = entry.partition("=")
    digest = _DIGEST.match(digest_part.strip().lower())
    if digest is None:
        raise TokenSpecError(
            f"{where}: expected `<sha256 hex of the token>=<accounts or all>` "
            "(`postroom token new` prints one), got something else"
        )
    accounts = [account.strip() for account in accounts_part.split(",") if account.strip()]
    if not accounts:
        raise TokenSpecError(f"{where}: name the token's accounts after `=`, or `all`")
    if ALL_ACCOUNTS in accounts:
        return digest.group(1), TokenGrant(None)
    return digest.group(1), TokenGrant(frozenset(accounts))


def _read(path: str) -> str:
    try:
        return Path(path).read_text()
    except OSError as error:
        raise TokenSpecError(f"cannot read POSTROOM_API_TOKENS_FILE {path}: {error.strerror}") from None
