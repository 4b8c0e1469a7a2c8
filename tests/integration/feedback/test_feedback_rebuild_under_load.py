"""`postroom replay feedback` while SNS posts bounces to a feedback process: none is refused.

The process keeps answering from the old read model (its one lookup per delivery included) until
it switches to the rebuilt one; health stays SERVING; the model switched to equals one built from
scratch, row for row.
"""

from __future__ import annotations

import uuid
from dataclasses import replace

import pytest

from services.core.database import create_engine
from services.core.event_store import EventStore, PendingAppend
from services.core.events import new_event
from services.core.generated.postroom.v1 import events_pb2
from services.core.ids import recipient_hash
from services.feedback.main import projections
from tests.support import ses_feedback_messages as ses
from tests.support.events import provider_saved
from tests.support.read_models import assert_live_equals_rebuilt
from tests.support.service_process import ServiceProcess, keep_posting, replay_under_load
from tests.support.sns_signing import DEFAULT_TOPIC_ARN, http_body, http_headers, notification

pytestmark = pytest.mark.slow

ACCOUNT = "acme"
HISTORY = 15_000


def recorded_bounce(provider_id: str, n: int) -> events_pb2.Event:
    address = f"earlier{n}@example.org"
    return new_event(
        events_pb2.BounceReceived(
            provider_id=provider_id,
            recipient_hash=recipient_hash(address),
            recipient=address,
            bounce_type="Permanent",
            sns_message_id=str(uuid.uuid4()),
        ),
        account_id=ACCOUNT,
        aggregate_type="feedback",
        aggregate_id=uuid.uuid4().hex,
    )


async def test_rebuilding_feedback_under_sns_load_refuses_no_post(settings, signing_identity, tmp_path):
    pinned = tmp_path / "sns-certs"
    pinned.mkdir()
    signing_identity.pin_in(pinned)
    settings = replace(settings, sns_cert_dir=str(pinned), shutdown_grace=2.0)
    provider_id = str(uuid.uuid4())
    store = await EventStore.connect(settings)
    await store.append(provider_saved(ACCOUNT, provider_id, sns_topic_arns=[DEFAULT_TOPIC_ARN]))
    history = [recorded_bounce(provider_id, n) for n in range(HISTORY)]
    for start in range(0, HISTORY, 1000):
        await store.append_many([PendingAppend(event) for event in history[start : start + 1000]])
    service = ServiceProcess.for_settings("feedback", settings, tmp_path / "feedback.log").start()
    registry = create_engine(settings.database_url_for("feedback"))
    url = f"http://127.0.0.1:{settings.ports.feedback_http}/sns/{ACCOUNT}/{provider_id}"

    def signed_bounce(n: int) -> tuple[str, bytes, dict[str, str]]:
        message = signing_identity.sign(notification(ses.bounce([f"now{n}@example.org"])))
        return url, http_body(message), http_headers(message)

    try:
        await service.wait_until_serving()
        statuses = await replay_under_load(service, settings, lambda stop: keep_posting(stop, signed_bounce))
        assert set(statuses) == {200} and statuses[200] > 100, statuses
        await assert_live_equals_rebuilt(registry, "feedback", projections(settings), store)
    finally:
        service.stop()
        await registry.dispose()
        await store.close()
