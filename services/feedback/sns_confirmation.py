"""Confirming an SNS subscription: one GET of the SubscribeURL, on an SNS host only.

The HTTP client comes from outside (`SnsSession`, over a connector with its own resolver and SSL
context), so tests point SNS's host names at a local HTTPS stand-in without a URL override.
"""

from __future__ import annotations

import aiohttp

from services.feedback.sns_message import SnsMessageError
from services.feedback.sns_session import SnsSession
from services.feedback.sns_verifier import SnsVerificationError, subscribe_url_is_allowed

CONFIRMATION_TIMEOUT_SECONDS = 5.0


class ConfirmationUnavailableError(SnsMessageError):
    """SNS could not be reached to confirm (HTTP 503, so SNS sends the confirmation again)."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason, 503)


class SubscriptionConfirmer:
    def __init__(self, session: SnsSession, *, timeout_seconds: float = CONFIRMATION_TIMEOUT_SECONDS) -> None:
        self._session = session
        self._timeout_seconds = timeout_seconds

    async def confirm(self, subscribe_url: str) -> None:
        if not subscribe_url_is_allowed(subscribe_url):
            raise SnsVerificationError(
                f"SubscribeURL {subscribe_url!r} is not an https URL on sns.<region>.amazonaws.com[.cn]; not visited"
            )
        try:
            async with self._session.get(subscribe_url, timeout_seconds=self._timeout_seconds) as response:
                await response.content.read(64 * 1024)
                _require_confirmed(response.status)
        except aiohttp.ClientConnectorDNSError as error:
            # The message is signed by SNS already, so its host is SNS's: a failed look-up is our
            # resolver or network, and SNS must deliver the confirmation again (a 4xx would drop it).
            raise ConfirmationUnavailableError(
                "cannot resolve the host of the SubscribeURL from here (DNS); retry later"
            ) from error
        except (aiohttp.ClientError, TimeoutError) as error:
            raise ConfirmationUnavailableError(
                f"could not reach SNS to confirm the subscription: {type(error).__name__}"
            ) from error


def _require_confirmed(status: int) -> None:
    if status == 200:
        return
    if status >= 500 or status == 429:
        raise ConfirmationUnavailableError(f"SNS answered {status} to the subscription confirmation; retry later")
    raise SnsVerificationError(
        f"SNS answered {status} to the subscription confirmation (redirects are not followed); the token may "
        "have expired: use 'Request confirmation' on the subscription in the SNS console"
    )
