"""SES's account-level suppression list, mirrored: config imports it at save (and on each poll),
dispatch stops mailing those addresses, and a resubscribe with remove_from_ses takes one off SES's
list and Postroom's both. Real config, dispatch and unsubscribe services, ses-sim for SES (its API
and its SMTP interface)."""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime


from services.core.generated.postroom.v1 import config_pb2, dispatch_pb2, events_pb2, unsubscribe_pb2
from services.ses_sim.errors import NotFound as SesNotFound
from services.ses_sim.main import SesSimulator
from tests.conftest import TEST_TOKEN
from tests.integration.config.conftest import ses_provider_settings
from tests.support.read_models import runner_of

METADATA = (("authorization", f"Bearer {TEST_TOKEN}"),)
ACCOUNT = "acme"
LISTED_AT = datetime(2026, 1, 5, 8, 30, tzinfo=UTC)


async def suppression(dispatch, email: str) -> dispatch_pb2.Suppression:
    return await dispatch.GetRecipientSuppression(
        dispatch_pb2.GetRecipientSuppressionRequest(account_id=ACCOUNT, email=email), metadata=METADATA
    )


async def eventually(check, timeout: float = 20.0):
    deadline = time.monotonic() + timeout
    while True:
        outcome = await check()
        if outcome or time.monotonic() > deadline:
            return outcome
        await asyncio.sleep(0.1)


async def sent_status(dispatch, provider_id: str, to: str) -> int:
    accepted = await dispatch.SendEmail(
        dispatch_pb2.SendEmailRequest(
            account_id=ACCOUNT,
            provider_id=provider_id,
            to=[events_pb2.EmailAddress(address=to)],
            subject="Hi",
            text_body="Hello",
            transactional=True,
        ),
        metadata=METADATA,
    )

    async def settled():
        found = await dispatch.GetDispatch(
            dispatch_pb2.GetDispatchRequest(account_id=ACCOUNT, dispatch_id=accepted.dispatch_id), metadata=METADATA
        )
        return found.status if found.status not in (dispatch_pb2.QUEUED, dispatch_pb2.SENDING) else 0

    return await eventually(settled)


async def test_seeded_addresses_are_suppressed_after_a_save_and_a_flagged_resubscribe_removes_one_on_both_sides(
    ses_suite, ses_sim
):
    _config, config_stub, dispatch, unsubscribe = ses_suite
    ses_sim.suppress("bounced@customer.test", "BOUNCE", at=LISTED_AT)
    ses_sim.suppress("complained@customer.test", "COMPLAINT")

    saved = await config_stub.SaveProvider(
        config_pb2.SaveProviderRequest(account_id=ACCOUNT, settings=ses_provider_settings(ses_sim)), metadata=METADATA
    )
    provider_id = saved.provider.provider_id

    async def both_suppressed():
        found = [
            await suppression(dispatch, address) for address in ("bounced@customer.test", "complained@customer.test")
        ]
        return [(s.suppressed, s.reason) for s in found] == [(True, "ses_bounce"), (True, "ses_complaint")]

    assert await eventually(both_suppressed)
    assert (await suppression(dispatch, "bounced@customer.test")).since.ToDatetime(tzinfo=UTC) == LISTED_AT
    assert await sent_status(dispatch, provider_id, "bounced@customer.test") == dispatch_pb2.SUPPRESSED

    # Without the flag, the resubscribe says SES suppresses the address and leaves SES alone
    status = await unsubscribe.Resubscribe(
        unsubscribe_pb2.ResubscribeRequest(account_id=ACCOUNT, email="bounced@customer.test"), metadata=METADATA
    )
    assert (status.ses_suppressed, list(status.ses_suppressed_by), status.ses_removal_requested) == (
        True,
        [provider_id],
        False,
    )
    assert on_ses_list(ses_sim, "bounced@customer.test")

    status = await unsubscribe.Resubscribe(
        unsubscribe_pb2.ResubscribeRequest(account_id=ACCOUNT, email="bounced@customer.test", remove_from_ses=True),
        metadata=METADATA,
    )
    assert (status.ses_suppressed, status.ses_removal_requested) == (True, True)

    async def lifted():
        return not (await suppression(dispatch, "bounced@customer.test")).suppressed

    assert await eventually(lifted), "Postroom still suppresses the address"
    assert not on_ses_list(ses_sim, "bounced@customer.test"), "SES still suppresses the address"
    assert (await suppression(dispatch, "complained@customer.test")).reason == "ses_complaint"
    after = await unsubscribe.GetStatus(
        unsubscribe_pb2.GetStatusRequest(account_id=ACCOUNT, email="bounced@customer.test"), metadata=METADATA
    )
    assert not after.ses_suppressed
    assert await sent_status(dispatch, provider_id, "bounced@customer.test") == dispatch_pb2.DISPATCHED
    assert [m.recipients for m in ses_sim.inbox.newest_first()][:1] == [("bounced@customer.test",)]


async def test_a_poll_imports_new_entries_and_drops_ones_taken_off_in_ses(ses_suite, ses_sim):
    config, config_stub, dispatch, _unsubscribe = ses_suite
    ses_sim.suppress("first@customer.test", "BOUNCE")
    await config_stub.SaveProvider(
        config_pb2.SaveProviderRequest(account_id=ACCOUNT, settings=ses_provider_settings(ses_sim)), metadata=METADATA
    )
    sync = config.components.workers[1].__self__  # the running service's SesSuppressionSync
    ses_sim.unsuppress("first@customer.test")
    for n in range(1005):  # more than one page of ListSuppressedDestinations
        ses_sim.suppress(f"many{n}@customer.test", "BOUNCE")

    assert await sync.poll_once() == 1 + 1005  # one removal, 1,005 imports

    async def mirrored():
        first, last = (
            await suppression(dispatch, "first@customer.test"),
            await suppression(dispatch, "many1004@customer.test"),
        )
        return (first.suppressed, last.reason) == (False, "ses_bounce")

    assert await eventually(mirrored)
    assert await runner_of(config).wait_for(await config.store.last_sequence(), 10)
    assert await sync.poll_once() == 0, "an unchanged list records nothing"
    assert (await suppression(dispatch, "many0@customer.test")).reason == "ses_bounce"


def on_ses_list(sim: SesSimulator, address: str) -> bool:
    try:
        sim.region().suppression_list.get(address)
    except SesNotFound:
        return False
    return True
