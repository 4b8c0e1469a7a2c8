"""The public SNS endpoint: `POST /sns/{account_id}/{provider_id}`.

SNS treats 2xx as delivered, retries 5xx and no answer, and drops on 4xx. So 200 means the event
is durable, 503 means "send it again", and every refusal is a 4xx with its reason in the body.
"""

from __future__ import annotations

import logging

from aiohttp import web

from services.core import tracing
from services.core.http_server import new_app
from services.feedback.application import FeedbackApplication
from services.feedback.metrics import sns_deliveries
from services.feedback.sns_message import MESSAGE_TYPE_HEADER, SnsMessageError
from services.feedback.ses_feedback import SesFeedbackError

log = logging.getLogger(__name__)

SNS_ROUTE = "/sns/{account_id}/{provider_id}"


def sns_app(app: FeedbackApplication) -> web.Application:
    async def receive(request: web.Request) -> web.Response:
        return await _receive(app, request)

    web_app = new_app()
    web_app.router.add_post(SNS_ROUTE, receive)
    return web_app


async def _receive(app: FeedbackApplication, request: web.Request) -> web.Response:
    message_type = _message_type_label(request)
    try:
        with tracing.span(f"POST {SNS_ROUTE}", kind="SERVER", attributes={"sns.message_type": message_type}):
            body = await request.read()
            accepted = await app.receive(
                request.match_info["account_id"], request.match_info["provider_id"], body, request.headers
            )
    except web.HTTPRequestEntityTooLarge:
        return _answer(message_type, 413, "the body is larger than 256 KiB, the most an SNS message can be")
    except (SnsMessageError, SesFeedbackError) as refusal:
        if refusal.status >= 500:
            log.warning("sns delivery deferred", extra={"reason": refusal.reason})
        return _answer(message_type, refusal.status, refusal.reason)
    return _answer(message_type, 200, accepted.detail)


def _answer(message_type: str, status: int, reason: str) -> web.Response:
    sns_deliveries(message_type, str(status)).inc()
    return web.Response(status=status, text=reason + "\n")


def _message_type_label(request: web.Request) -> str:
    # A label from a closed set: the header is the sender's text.
    value = request.headers.get(MESSAGE_TYPE_HEADER, "")
    return value if value in ("Notification", "SubscriptionConfirmation", "UnsubscribeConfirmation") else "other"
