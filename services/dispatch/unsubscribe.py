"""List-Unsubscribe headers for non-transactional mail (RFC 2369 + RFC 8058 one-click)."""

from __future__ import annotations

from datetime import datetime, timezone

from services.core.settings import Settings
from services.core.unsubscribe_token import UnsubscribeTokens, list_unsubscribe_headers
from services.dispatch.domain import EmailRequest


class UnsubscribeLinks:
    """Issues a signed link per recipient; without POSTROOM_UNSUBSCRIBE_KEY there are no links."""

    def __init__(self, tokens: UnsubscribeTokens | None, public_url: str, mailto: str) -> None:
        self.tokens = tokens
        self.public_url = public_url
        self.mailto = mailto

    @classmethod
    def from_settings(cls, settings: Settings) -> "UnsubscribeLinks":
        tokens = UnsubscribeTokens.from_spec(settings.unsubscribe_keys) if settings.unsubscribe_keys.strip() else None
        return cls(tokens, settings.unsubscribe_public_url, settings.unsubscribe_mailto)

    def headers_for(self, request: EmailRequest, dispatch_id: str, recipient: str) -> dict[str, str] | None:
        if self.tokens is None or request.transactional or not self.public_url:
            return None
        token = self.tokens.issue(
            request.account_id, recipient, request.list_id, dispatch_id, issued_at=datetime.now(timezone.utc)
        )
        return list_unsubscribe_headers(self.public_url, token, self.mailto)
