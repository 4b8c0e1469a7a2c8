"""The stand-in for https://sns.<region>.amazonaws.com: the links SNS puts in its messages.

`?Action=ConfirmSubscription&TopicArn=...&Token=...` (a SubscribeURL), `?Action=Unsubscribe&SubscriptionArn=...`
(an UnsubscribeURL), and `/SimpleNotificationService-<id>.pem` (the SigningCertURL). Answers in SNS's XML.
"""

from __future__ import annotations

import uuid
from xml.sax.saxutils import escape

from aiohttp import web

from services.ses_sim.certificates import SnsSigningCertificate
from services.ses_sim.query_parameters import query_parameters
from services.ses_sim.sns_publisher import SnsPublisher
from services.ses_sim.sns_topics import SubscriptionError

_NAMESPACE = "http://sns.amazonaws.com/doc/2010-03-31/"


def _xml(status: int, body: str) -> web.Response:
    return web.Response(status=status, content_type="text/xml", text=f'<?xml version="1.0"?>\n{body}')


def _metadata() -> str:
    return f"<ResponseMetadata><RequestId>{uuid.uuid4()}</RequestId></ResponseMetadata>"


def _error(code: str, message: str, status: int = 400) -> web.Response:
    return _xml(
        status,
        f'<ErrorResponse xmlns="{_NAMESPACE}"><Error><Type>Sender</Type><Code>{escape(code)}</Code>'
        f"<Message>{escape(message)}</Message></Error><RequestId>{uuid.uuid4()}</RequestId>"
        "</ErrorResponse>",
    )


def sns_endpoint_app(publisher: SnsPublisher, signing: SnsSigningCertificate) -> web.Application:
    async def action(request: web.Request) -> web.Response:
        parameters = await query_parameters(request)
        try:
            match parameters.get("Action"):
                case "ConfirmSubscription":
                    return _confirmed(publisher, parameters)
                case "Unsubscribe":
                    return _unsubscribed(publisher, parameters)
                case other:
                    return _error("InvalidAction", f"The action {other} is not valid for this endpoint.")
        except SubscriptionError as error:
            return _error(error.code, error.message, error.status)

    async def certificate(_: web.Request) -> web.Response:
        return web.Response(body=signing.pem(), content_type="application/x-pem-file")

    app = web.Application(client_max_size=64 * 1024)
    app.router.add_route("GET", "/", action)
    app.router.add_route("POST", "/", action)
    app.router.add_get(f"/{signing.file_name}", certificate)
    return app


def _confirmed(publisher: SnsPublisher, parameters: dict) -> web.Response:
    if not parameters.get("TopicArn") or not parameters.get("Token"):
        return _error("InvalidParameter", "Invalid parameter: TopicArn and Token are required")
    subscription = publisher.topics.confirm(str(parameters["TopicArn"]), str(parameters["Token"]))
    return _xml(
        200,
        f'<ConfirmSubscriptionResponse xmlns="{_NAMESPACE}"><ConfirmSubscriptionResult>'
        f"<SubscriptionArn>{escape(subscription.arn)}</SubscriptionArn></ConfirmSubscriptionResult>"
        f"{_metadata()}</ConfirmSubscriptionResponse>",
    )


def _unsubscribed(publisher: SnsPublisher, parameters: dict) -> web.Response:
    if not parameters.get("SubscriptionArn"):
        return _error("InvalidParameter", "Invalid parameter: SubscriptionArn is required")
    publisher.unsubscribe(str(parameters["SubscriptionArn"]))
    return _xml(200, f'<UnsubscribeResponse xmlns="{_NAMESPACE}">{_metadata()}</UnsubscribeResponse>')
