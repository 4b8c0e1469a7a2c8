"""The SES account API calls the config service makes, answered for the simulated account.

SESv2 is REST-JSON under /v2/email/...; SES v1 is the Query protocol (POST / with Action=...), answered
in SES's XML. Any signature is accepted, but a request must carry one (an Authorization header),
so a client without credentials fails as it would against AWS.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable
from xml.sax.saxutils import escape

from aiohttp import web

from services.ses_sim.account import Identity, SesAccount

_V1_NAMESPACE = "http://ses.amazonaws.com/doc/2010-12-01/"


def _v2_error(status: int, code: str, message: str) -> web.Response:
    return web.Response(status=status, content_type="application/json", headers={"x-amzn-ErrorType": code},
                        text=json.dumps({"message": message}))


def _v1_response(action: str, result: str) -> web.Response:
    return web.Response(content_type="text/xml", text=(
        f'<{action}Response xmlns="{_V1_NAMESPACE}"><{action}Result>{result}</{action}Result>'
        f"<ResponseMetadata><RequestId>{uuid.uuid4()}</RequestId></ResponseMetadata></{action}Response>"))


def _v1_error(status: int, code: str, message: str) -> web.Response:
    return web.Response(status=status, content_type="text/xml", text=(
        f'<ErrorResponse xmlns="{_V1_NAMESPACE}"><Error><Type>Sender</Type><Code>{escape(code)}</Code>'
        f"<Message>{escape(message)}</Message></Error><RequestId>{uuid.uuid4()}</RequestId></ErrorResponse>"))


def _unsigned(request: web.Request) -> bool:
    return not request.headers.get("Authorization")


class SesApi:
    def __init__(self, account: SesAccount, sent_last_24_hours: Callable[[], int]) -> None:
        self.account = account
        self._sent = sent_last_24_hours

    def routes(self) -> list[web.RouteDef]:
        return [web.get("/v2/email/account", self.get_account),
                web.get("/v2/email/identities", self.list_email_identities),
                web.post("/v2/email/list-identities", self.list_email_identities),
                web.get("/v2/email/identities/{identity}", self.get_email_identity),
                web.post("/", self.query_action)]

    def _send_quota(self) -> dict[str, float]:
        return {"Max24HourSend": float(self.account.daily_quota), "MaxSendRate": float(self.account.max_send_rate),
                "SentLast24Hours": float(self._sent())}

    async def get_account(self, request: web.Request) -> web.Response:
        if _unsigned(request):
            return _v2_error(403, "MissingAuthenticationTokenException", "Missing Authentication Token")
        return web.json_response({
            "DedicatedIpAutoWarmupEnabled": False, "EnforcementStatus": "HEALTHY",
            "ProductionAccessEnabled": not self.account.sandbox, "SendingEnabled": True,
            "SendQuota": self._send_quota(), "SuppressionAttributes": {"SuppressedReasons": ["BOUNCE", "COMPLAINT"]}})

    async def get_email_identity(self, request: web.Request) -> web.Response:
        if _unsigned(request):
            return _v2_error(403, "MissingAuthenticationTokenException", "Missing Authentication Token")
        name = request.match_info["identity"]
        identity = self.account.identity(name)
        if identity is None:
            return _v2_error(404, "NotFoundException", f"Email identity {name} does not exist.")
        return web.json_response({
            "IdentityType": identity.v2_type, "FeedbackForwardingStatus": True, "VerifiedForSendingStatus": True,
            "VerificationStatus": "SUCCESS", "DkimAttributes": {"SigningEnabled": identity.is_domain,
                                                                "Status": "SUCCESS" if identity.is_domain else
                                                                "NOT_STARTED"},
            "MailFromAttributes": {"BehaviorOnMxFailure": "USE_DEFAULT_VALUE"}, "Policies": {}, "Tags": []})

    async def list_email_identities(self, request: web.Request) -> web.Response:
        if _unsigned(request):
            return _v2_error(403, "MissingAuthenticationTokenException", "Missing Authentication Token")
        return web.json_response({"EmailIdentities": [
            {"IdentityType": identity.v2_type, "IdentityName": identity.name, "SendingEnabled": True,
             "VerificationStatus": "SUCCESS"} for identity in self.account.identities]})

    async def query_action(self, request: web.Request) -> web.Response:
        form = await request.post()
        if _unsigned(request):
            return _v1_error(403, "MissingAuthenticationToken", "Request is missing Authentication Token")
        handlers = {"GetSendQuota": self._get_send_quota, "ListIdentities": self._list_identities,
                    "GetIdentityVerificationAttributes": self._get_identity_verification_attributes}
        handler = handlers.get(str(form.get("Action", "")))
        if handler is None:
            return _v1_error(400, "InvalidAction",
                             f"The action {form.get('Action')} is not valid for this web service.")
        return handler(form)

    def _get_send_quota(self, _form) -> web.Response:
        quota = self._send_quota()
        return _v1_response("GetSendQuota", "".join(f"<{name}>{value}</{name}>" for name, value in quota.items()))

    def _list_identities(self, form) -> web.Response:
        wanted = form.get("IdentityType")
        names = [identity.name for identity in self.account.identities if not wanted or identity.v1_type == wanted]
        members = "".join(f"<member>{escape(name)}</member>" for name in names)
        return _v1_response("ListIdentities", f"<Identities>{members}</Identities>")

    def _get_identity_verification_attributes(self, form) -> web.Response:
        requested = [str(value) for key, value in form.items() if key.startswith("Identities.member.")]
        entries = "".join(_verification_entry(name, self.account.identity(name)) for name in requested)
        return _v1_response("GetIdentityVerificationAttributes", f"<VerificationAttributes>{entries}"
                                                                 "</VerificationAttributes>")


def _verification_entry(name: str, identity: Identity | None) -> str:
    # SES v1 leaves an identity it does not know out of the answer.
    if identity is None:
        return ""
    token = f"<VerificationToken>{uuid.uuid5(uuid.NAMESPACE_DNS, identity.name).hex}</VerificationToken>" \
        if identity.is_domain else ""
    return (f"<entry><key>{escape(name)}</key><value><VerificationStatus>Success</VerificationStatus>{token}"
            "</value></entry>")
