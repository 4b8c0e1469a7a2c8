"""`postroom replay unsubscribe` while readers click one-click unsubscribe links: none is refused.

Health stays SERVING, and the model switched to equals one built from scratch, row for row.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime

import pytest

from services.core.database import create_engine
from services.core.event_store import EventStore, PendingAppend
from services.core.events import new_event
from services.core.generated.postroom.v1 import events_pb2
from services.core.ids import recipient_hash
from services.unsubscribe.main import projections
from tests.support.read_models import assert_live_equals_rebuilt
from tests.support.service_process import ServiceProcess, keep_posting, replay_under_load
from tests.support.unsubscribe import tokens_of, with_unsubscribe_key

pytestmark = pytest.mark.slow

ACCOUNT = "acme"
HISTORY = 15_000
ONE_CLICK = {"Content-Type": "application/x-www-form-urlencoded"}


def unsubscribed(n: int) -> events_pb2.Event:
    address = f"earlier{n}@example.org"
    hashed = recipient_hash(address)
    return new_event(
        events_pb2.Unsubscribed(recipient_hash=hashed, recipient=address, list_id=f"list-{n % 7}", source="api"),
        account_id=ACCOUNT,
        aggregate_type="subscription",
        aggregate_id=hashed,
    )


async def test_rebuilding_unsubscribe_under_one_click_load_refuses_no_post(settings, tmp_path):
    settings = replace(with_unsubscribe_key(settings), shutdown_grace=2.0)
    store = await EventStore.connect(settings)
    history = [unsubscribed(n) for n in range(HISTORY)]
    for start in range(0, HISTORY, 1000):
        await store.append_many([PendingAppend(event) for event in history[start : start + 1000]])
    service = ServiceProcess.for_settings("unsubscribe", settings, tmp_path / "unsubscribe.log").start()
    registry = create_engine(settings.database_url_for("unsubscribe"))
    tokens = tokens_of(settings)
    base = f"http://127.0.0.1:{settings.ports.unsubscribe_http}/u/"

    def one_click(n: int) -> tuple[str, bytes, dict[str, str]]:
        token = tokens.issue(ACCOUNT, f"reader{n}@example.org", "weekly", issued_at=datetime.now(UTC))
        return base + token, b"List-Unsubscribe=One-Click", ONE_CLICK

    try:
        await service.wait_until_serving()
        statuses = await replay_under_load(service, settings, lambda stop: keep_posting(stop, one_click))
        assert set(statuses) == {200} and statuses[200] > 100, statuses
        await assert_live_equals_rebuilt(registry, "unsubscribe", projections(settings), store)
    finally:
        service.stop()
        await registry.dispose()
        await store.close()
