"""Which accounts a request acts for, read from its `account_id` fields, and whether a token may."""

from __future__ import annotations

from google.protobuf.message import Message

from services.core.access_tokens import TokenGrant

ACCOUNT_FIELD = "account_id"


def accounts_named_by(request: Message) -> list[str]:
    """Every account_id in the request and in the messages it carries (a batch names one per item).
    An empty account_id counts: a scoped token must name its account, never leave it to a default."""
    named = [getattr(request, ACCOUNT_FIELD)] if ACCOUNT_FIELD in request.DESCRIPTOR.fields_by_name else []
    for field, value in request.ListFields():
        if field.message_type is None or field.message_type.GetOptions().map_entry:
            continue
        items = value if field.is_repeated else [value]
        for item in items:
            named += accounts_named_by(item)
    return named


def refusal(grant: TokenGrant, request: Message) -> str | None:
    """Why this token may not make this request, or None when it may."""
    if grant.every_account:
        return None
    named = accounts_named_by(request)
    if not named:
        return "this token is scoped to accounts and the request names none (set account_id)"
    for account in named:
        if not grant.allows(account):
            return (
                f"this token may not act for account {account!r}"
                if account
                else "this token is scoped to accounts: set account_id to one of them"
            )
    return None
