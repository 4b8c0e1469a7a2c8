"""Helpers for the dispatch integration tests: providers as events, requests, waiting."""

from __future__ import annotations

import asyncio
import collections
import time

from services.core.event_store import EventStore
from services.core.events import Event, new_event
from services.core.generated.postroom.v1 import dispatch_pb2, events_pb2
from services.core.secret_box import SecretBox, provider_secret_aad
from services.dispatch.sending import SendTimings
from tests.conftest import TEST_TOKEN
from tests.support.event_log import every_event
from tests.support.smtp import SesLikeSmtpServer, unused_loopback_host

METADATA = (("authorization", f"Bearer {TEST_TOKEN}"),)
FAST = SendTimings(ack_wait=5.0, backoff_base=0.02, backoff_cap=0.2, paused_recheck=0.3, quota_recheck=0.3)
ACCOUNT = "acme"
PROVIDER = "ses-main"


def start_sink(test_ca, implicit_tls: bool = False) -> SesLikeSmtpServer:
    port = 2465 if implicit_tls else 2587
    host = unused_loopback_host(port)
    return SesLikeSmtpServer(
        port=port, tls_context=test_ca.server_context(host), implicit_tls=implicit_tls, host=host
    ).start()


async def save_provider(
    store: EventStore,
    settings,
    sink: SesLikeSmtpServer,
    *,
    password: str | None = None,
    provider_id: str = PROVIDER,
    **overrides,
) -> int:
    """Append ProviderSaved as the config service would, the password sealed with the shared box."""
    box = SecretBox.from_spec(settings.secret_keys)
    sealed = box.seal(
        password if password is not None else sink.handler.password,
        provider_secret_aad(ACCOUNT, provider_id, "smtp_password"),
    )
    fields = dict(
        provider_id=provider_id,
        name="SES",
        type="SES",
        smtp_host=sink.host,
        smtp_port=sink.port,
        smtp_username=sink.handler.username,
        smtp_password_sealed=sealed,
        from_address="sender@example.com",
        from_name="Acme Mail",
        region="us-east-1",
        max_send_rate=1000.0,
        max_connections=4,
        max_message_bytes=10 * 1024 * 1024,
        max_messages_per_connection=50,
    )
    fields.update(overrides)
    last = await store.last_event("provider", provider_id)
    event = new_event(
        events_pb2.ProviderSaved(**fields), account_id=ACCOUNT, aggregate_type="provider", aggregate_id=provider_id
    )
    return (await store.append(event, expected_sequence=last.stream_seq if last else 0)).stream_seq


def email(to: str | list = "bob@example.org", **fields) -> dispatch_pb2.SendEmailRequest:
    recipients = [events_pb2.EmailAddress(address=to)] if isinstance(to, str) else to
    values = dict(account_id=ACCOUNT, provider_id=PROVIDER, to=recipients, subject="Hello", text_body="Hi Bob")
    values.update(fields)
    return dispatch_pb2.SendEmailRequest(**values)


async def wait_for_status(stub, dispatch_id: str, wanted: int, timeout: float = 30.0) -> dispatch_pb2.Dispatch:
    deadline = time.monotonic() + timeout
    while True:
        dispatch = await stub.GetDispatch(
            dispatch_pb2.GetDispatchRequest(account_id=ACCOUNT, dispatch_id=dispatch_id), metadata=METADATA
        )
        if dispatch.status == wanted or time.monotonic() > deadline:
            return dispatch
        await asyncio.sleep(0.05)


async def wait_until(predicate, timeout: float = 30.0) -> bool:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            return False
        await asyncio.sleep(0.05)
    return True


async def dispatch_events(store: EventStore) -> list[Event]:
    return [e for e in await every_event(store.js, store.stream, store.prefix) if e.aggregate_type == "dispatch"]


def assert_one_outcome_each(events: list[Event], ids: set[str]) -> None:
    outcomes = collections.Counter(e.aggregate_id for e in events if e.type != "EmailQueued")
    assert set(outcomes) == ids
    assert max(outcomes.values()) == 1, "a dispatch id got two outcome events"
    assert {e.type for e in events} == {"EmailQueued", "EmailDispatched"}
