"""Hypothesis posts whatever it likes to the running SNS endpoint: it never answers 5xx.

The service runs on its own event loop in a thread so hypothesis can drive it from a plain test.
Signed cases carry random SES documents with a valid signature, so they reach the SES parser and
the event store, not only the envelope checks.
"""

from __future__ import annotations

import asyncio
import http.client
import json
import threading
from collections import Counter
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, replace
from functools import partial
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
from aiohttp import web
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from services.core.runtime import RunningService, start_service
from services.core.settings import Settings
from services.feedback.main import build
from tests.integration.feedback.conftest import SNS_HOST, LocalSns
from tests.support import ses_feedback_messages as ses
from tests.support.events import provider_saved
from tests.support.sns_signing import (
    DEFAULT_TOPIC_ARN,
    SnsSigningIdentity,
    http_body,
    http_headers,
    notification,
    subscription_confirmation,
)

FUZZ = settings(max_examples=250, deadline=None, suppress_health_check=list(HealthCheck))
ACCOUNT = "fuzz-account"
SNS_FIELDS = [
    "Type",
    "MessageId",
    "TopicArn",
    "Subject",
    "Message",
    "Timestamp",
    "SignatureVersion",
    "Signature",
    "SigningCertURL",
    "SubscribeURL",
    "Token",
    "UnsubscribeURL",
]
TYPES = ["Notification", "SubscriptionConfirmation", "UnsubscribeConfirmation"]
SES_KINDS = [
    "Bounce",
    "Complaint",
    "Delivery",
    "DeliveryDelay",
    "Reject",
    "Rendering Failure",
    "Send",
    "Open",
    "Click",
    "Subscription",
    "Other",
]

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=40),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=12), children, max_size=4),
    max_leaves=12,
)
header_text = st.text(st.characters(min_codepoint=0x20, max_codepoint=0x7E), max_size=30)
header_maps = st.dictionaries(
    st.sampled_from(["x-amz-sns-message-type", "x-amz-sns-rawdelivery", "content-type", "x-amz-sns-message-id"]),
    st.sampled_from(TYPES + ["true", "false", "text/plain; charset=UTF-8"]) | header_text,
    max_size=4,
)


@dataclass
class Endpoint:
    host: str
    port: int
    provider_id: str
    identity: SnsSigningIdentity

    def post(self, path: str, body: bytes, headers: dict[str, str]) -> int:
        connection = http.client.HTTPConnection(self.host, self.port, timeout=30)
        try:
            connection.request("POST", path, body=body, headers=headers)
            return connection.getresponse().status
        finally:
            connection.close()

    @property
    def path(self) -> str:
        return f"/sns/{ACCOUNT}/{self.provider_id}"


class LoopThread:
    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()

    def run(self, coroutine, timeout: float = 60):
        return asyncio.run_coroutine_threadsafe(coroutine, self.loop).result(timeout)

    def close(self) -> None:
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(10)
        self.loop.close()


@pytest.fixture(scope="module")
def fuzz_identity(sns_authority) -> SnsSigningIdentity:
    return SnsSigningIdentity.issued_by(sns_authority)


@pytest.fixture
def endpoint(settings: Settings, tmp_path: Path, fuzz_identity: SnsSigningIdentity, test_ca) -> Iterator[Endpoint]:
    fuzz_identity.pin_in(tmp_path)
    provider_id = str(uuid.uuid4())
    loop = LoopThread()
    sns = LocalSns(fuzz_identity)

    async def started() -> tuple[RunningService, web.AppRunner]:
        # Pinned certificates; confirmations go to a local SNS stand-in: nothing leaves this machine.
        sns_runner = web.AppRunner(sns.app())
        await sns_runner.setup()
        await web.TCPSite(sns_runner, "127.0.0.1", 0, ssl_context=test_ca.server_context(SNS_HOST)).start()
        sns.port = sns_runner.addresses[0][1]
        service = await start_service(
            "feedback", replace(settings, sns_cert_dir=str(tmp_path)), partial(build, connector=sns.connector(test_ca))
        )
        appended = await service.store.append(provider_saved(ACCOUNT, provider_id, sns_topic_arns=[DEFAULT_TOPIC_ARN]))
        await service.components.projections[0].wait_for(appended.stream_seq, 10)
        return service, sns_runner

    service, sns_runner = loop.run(started())
    try:
        yield Endpoint("127.0.0.1", service.components.http[0].port, provider_id, fuzz_identity)
    finally:
        loop.run(service.stop())
        loop.run(sns_runner.cleanup())
        loop.close()


def random_ses_document(kind: str, fields: dict[str, Any]) -> str:
    document: dict[str, Any] = {"notificationType" if kind != "Delivery" else "eventType": kind}
    document.update(fields)
    return json.dumps(document)


@st.composite
def deliveries(draw, identity: SnsSigningIdentity) -> tuple[str, bytes, dict[str, str]]:
    shape = draw(st.sampled_from(["bytes", "sns-like", "signed-random-ses", "signed-real-ses", "mutated", "confirm"]))
    path = draw(st.sampled_from(["good", "random"]))
    if shape == "bytes":
        return path, draw(st.binary(max_size=512)), draw(header_maps)
    if shape == "sns-like":
        document = draw(st.dictionaries(st.sampled_from(SNS_FIELDS), json_values | st.sampled_from(TYPES)))
        return path, json.dumps(document).encode(), draw(header_maps)
    if shape == "signed-random-ses":
        kind = draw(st.sampled_from(SES_KINDS))
        fields = draw(
            st.dictionaries(
                st.sampled_from(["mail", "bounce", "complaint", "delivery", "eventType"]), json_values, max_size=4
            )
        )
        signed = identity.sign(notification(random_ses_document(kind, fields)), draw(st.sampled_from(["1", "2"])))
        return path, http_body(signed), http_headers(signed)
    if shape == "signed-real-ses":
        recipients = draw(st.lists(st.emails() | st.text(max_size=20), min_size=0, max_size=3))
        builder = draw(st.sampled_from([ses.bounce, ses.complaint, ses.delivery]))
        try:
            message = builder(recipients)
        except (TypeError, ValueError):
            message = "{}"
        signed = identity.sign(notification(message))
        return path, http_body(signed), http_headers(signed)
    if shape == "confirm":
        topic = draw(st.sampled_from([DEFAULT_TOPIC_ARN, "arn:aws:sns:us-east-1:1:other"]))
        signed = identity.sign(subscription_confirmation(topic_arn=topic, unsubscribe=draw(st.booleans())))
        signed["SubscribeURL"] = draw(st.sampled_from([signed["SubscribeURL"], "https://evil.example.com/"]))
        return path, http_body(signed), http_headers(signed)
    signed = identity.sign(notification(ses.bounce(["a@example.com"])))
    signed[draw(st.sampled_from(SNS_FIELDS))] = draw(json_values)
    headers = draw(header_maps) or {
        "x-amz-sns-message-type": "Notification",
        "Content-Type": "text/plain; charset=UTF-8",
    }
    return path, json.dumps(signed).encode(), headers


def test_the_running_endpoint_never_answers_5xx(endpoint: Endpoint) -> None:
    seen: Counter[int] = Counter()

    @FUZZ
    @given(delivery=deliveries(endpoint.identity), account=st.text(max_size=20), provider=st.text(max_size=20))
    def one(delivery: tuple[str, bytes, dict[str, str]], account: str, provider: str) -> None:
        which, body, headers = delivery
        path = endpoint.path if which == "good" else f"/sns/{quote(account, safe='')}/{quote(provider, safe='')}"
        status = endpoint.post(path, body, headers)
        seen[status] += 1
        assert status < 500, (status, path, body[:200], headers)

    one()
    assert all(seen[status] for status in (200, 400, 403, 404)), seen
