"""The SES account API: SESv2's account and identity calls, and SES v1 (the Query protocol, POST /
with Action=..., answered in SES's XML) for the same account.

Any signature is accepted, but a request must carry one (an Authorization header), so a client
without credentials fails as it would against AWS; its credential scope picks the region.
"""

from __future__ import annotations

import time
import uuid
from xml.sax.saxutils import escape

from aiohttp import web

from services.ses_sim.account import AccountChange, Identity
from services.ses_sim.errors import InvalidValue, NotFound
from services.ses_sim.json_bodies import json_object
from services.ses_sim.query_parameters import query_parameters
from services.ses_sim.regions import Regions, SesRegion, UnservedRegion
from services.ses_sim.sesv2_protocol import is_unsigned, ok, sesv2_operation

_V1_NAMESPACE = "http://ses.amazonaws.com/doc/2010-12-01/"


def _v1_response(action: str, result: str) -> web.Response:
    return web.Response(
        content_type="text/xml",
        text=(
            f'<{action}Response xmlns="{_V1_NAMESPACE}"><{action}Result>{result}</{action}Result>'
            f"<ResponseMetadata><RequestId>{uuid.uuid4()}</RequestId></ResponseMetadata></{action}Response>"
        ),
    )


def _v1_error(status: int, code: str, message: str) -> web.Response:
    return web.Response(
        status=status,
        content_type="text/xml",
        text=(
            f'<ErrorResponse xmlns="{_V1_NAMESPACE}"><Error><Type>Sender</Type><Code>{escape(code)}</Code>'
            f"<Message>{escape(message)}</Message></Error><RequestId>{uuid.uuid4()}</RequestId></ErrorResponse>"
        ),
    )


def send_quota(region: SesRegion) -> dict[str, float]:
    return {
        "Max24HourSend": float(region.account.daily_quota),
        "MaxSendRate": float(region.account.max_send_rate),
        "SentLast24Hours": float(region.sent_last_24_hours(time.monotonic())),
    }


class SesApi:
    def __init__(self, regions: Regions) -> None:
        self.regions = regions

    def routes(self) -> list[web.RouteDef]:
        return [
            web.get("/v2/email/account", self.get_account),
            web.put("/v2/email/account/sending", self.put_account_sending_attributes),
            web.get("/v2/email/identities", self.list_email_identities),
            web.post("/v2/email/list-identities", self.list_email_identities),
            web.get("/v2/email/identities/{identity}", self.get_email_identity),
            web.post("/", self.query_action),
        ]

    @sesv2_operation()
    async def get_account(self, _: web.Request, region: SesRegion) -> web.Response:
        account = region.account
        return ok(
            {
                "DedicatedIpAutoWarmupEnabled": False,
                "EnforcementStatus": account.enforcement_status,
                "ProductionAccessEnabled": not account.sandbox,
                "SendingEnabled": account.sending_enabled,
                "SendQuota": send_quota(region),
                "SuppressionAttributes": {"SuppressedReasons": ["BOUNCE", "COMPLAINT"]},
            }
        )

    @sesv2_operation()
    async def put_account_sending_attributes(self, request: web.Request, region: SesRegion) -> web.Response:
        enabled = (await json_object(request)).get("SendingEnabled")  # absent: left as it is
        if enabled is not None and not isinstance(enabled, bool):
            raise InvalidValue("SendingEnabled", "SendingEnabled must be true or false.")
        region.change_account(AccountChange(sending_enabled=enabled), time.monotonic())
        return ok()

    @sesv2_operation()
    async def get_email_identity(self, request: web.Request, region: SesRegion) -> web.Response:
        name = request.match_info["identity"]
        identity = region.account.identity(name)
        if identity is None:
            raise NotFound(f"Email identity {name} does not exist.")
        return ok(
            {
                "IdentityType": identity.v2_type,
                "FeedbackForwardingStatus": True,
                "VerifiedForSendingStatus": True,
                "VerificationStatus": "SUCCESS",
                "DkimAttributes": {
                    "SigningEnabled": identity.is_domain,
                    "Status": "SUCCESS" if identity.is_domain else "NOT_STARTED",
                },
                "MailFromAttributes": {"BehaviorOnMxFailure": "USE_DEFAULT_VALUE"},
                "Policies": {},
                "Tags": [],
            }
        )

    @sesv2_operation()
    async def list_email_identities(self, _: web.Request, region: SesRegion) -> web.Response:
        return ok(
            {
                "EmailIdentities": [
                    {
                        "IdentityType": identity.v2_type,
                        "IdentityName": identity.name,
                        "SendingEnabled": True,
                        "VerificationStatus": "SUCCESS",
                    }
                    for identity in region.account.identities
                ]
            }
        )

    # --- SES v1 ----------------------------------------------------------------------------------

    async def query_action(self, request: web.Request) -> web.Response:
        form = await query_parameters(request)
        if is_unsigned(request):
            return _v1_error(403, "MissingAuthenticationToken", "Request is missing Authentication Token")
        try:
            region = self.regions.signed_for(request.headers["Authorization"])
        except UnservedRegion as error:
            return _v1_error(
                403, "SignatureDoesNotMatch", f"Credential should be scoped to a valid region. {error.message}"
            )
        handlers = {
            "GetSendQuota": self._get_send_quota,
            "ListIdentities": self._list_identities,
            "GetIdentityVerificationAttributes": self._get_identity_verification_attributes,
            "GetAccountSendingEnabled": self._get_account_sending_enabled,
            "UpdateAccountSendingEnabled": self._update_account_sending_enabled,
        }
        handler = handlers.get(form.get("Action", ""))
        if handler is None:
            return _v1_error(
                400, "InvalidAction", f"The action {form.get('Action')} is not valid for this web service."
            )
        return handler(form, region)

    def _get_send_quota(self, _form, region: SesRegion) -> web.Response:
        quota = send_quota(region)
        return _v1_response("GetSendQuota", "".join(f"<{name}>{value}</{name}>" for name, value in quota.items()))

    def _get_account_sending_enabled(self, _form, region: SesRegion) -> web.Response:
        # SES v1's switch is the account's sending as a whole: off when switched off or shut down.
        enabled = "false" if region.account.sending_paused else "true"
        return _v1_response("GetAccountSendingEnabled", f"<Enabled>{enabled}</Enabled>")

    def _update_account_sending_enabled(self, form, region: SesRegion) -> web.Response:
        enabled = str(form.get("Enabled", "")).lower()  # absent: left as it is
        if enabled not in ("true", "false", ""):
            return _v1_error(400, "ValidationError", "Enabled must be true or false")
        region.change_account(
            AccountChange(sending_enabled={"true": True, "false": False}.get(enabled)), time.monotonic()
        )
        return _v1_response("UpdateAccountSendingEnabled", "")

    def _list_identities(self, form, region: SesRegion) -> web.Response:
        wanted = form.get("IdentityType")
        names = [identity.name for identity in region.account.identities if not wanted or identity.v1_type == wanted]
        members = "".join(f"<member>{escape(name)}</member>" for name in names)
        return _v1_response("ListIdentities", f"<Identities>{members}</Identities>")

    def _get_identity_verification_attributes(self, form, region: SesRegion) -> web.Response:
        requested = [str(value) for key, value in form.items() if key.startswith("Identities.member.")]
        entries = "".join(_verification_entry(name, region.account.identity(name)) for name in requested)
        return _v1_response(
            "GetIdentityVerificationAttributes", f"<VerificationAttributes>{entries}</VerificationAttributes>"
        )


def _verification_entry(name: str, identity: Identity | None) -> str:
    # SES v1 leaves an identity it does not know out of the answer.
    if identity is None:
        return ""
    token = (
        f"<VerificationToken>{uuid.uuid5(uuid.NAMESPACE_DNS, identity.name).hex}</VerificationToken>"
        if identity.is_domain
        else ""
    )
    return (
        f"<entry><key>{escape(name)}</key><value><VerificationStatus>Success</VerificationStatus>{token}"
        "</value></entry>"
    )
