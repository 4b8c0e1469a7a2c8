"""ListDispatches shows every recipient's dispatch by filter; RetryDispatches re-sends FAILED ones once per key."""

from __future__ import annotations

import grpc
import pytest
from google.protobuf.timestamp_pb2 import Timestamp

from services.core.database import IN_LIST_KEYS
from services.core.generated.postroom.v1 import dispatch_pb2
from tests.integration.dispatch.dispatch_support import (
    ACCOUNT,
    METADATA,
    email,
    save_provider,
    wait_for_status,
    wait_until,
)
from tests.support.service_process import cli_output

GONE = [f"gone{i}@example.org" for i in range(3)]
FINE = [f"fine{i}@example.org" for i in range(4)]


async def send(stub, to: str, **fields) -> str:
    return (await stub.SendEmail(email(to=to, **fields), metadata=METADATA)).dispatch_id


async def listed(stub, page_size: int = 0, **filter_fields) -> list[dispatch_pb2.Dispatch]:
    found, token = [], ""
    while True:
        page = await stub.ListDispatches(
            dispatch_pb2.ListDispatchesRequest(
                account_id=ACCOUNT,
                filter=dispatch_pb2.DispatchFilter(**filter_fields),
                page_size=page_size,
                page_token=token,
            ),
            metadata=METADATA,
        )
        found += page.dispatches
        token = page.next_page_token
        if not token:
            return found


async def retry(stub, **fields) -> dispatch_pb2.RetryDispatchesResponse:
    return await stub.RetryDispatches(
        dispatch_pb2.RetryDispatchesRequest(account_id=ACCOUNT, **fields), metadata=METADATA
    )


@pytest.fixture
async def history(stub, store, dispatch_settings, sink):
    """Three dispatches to refused addresses (FAILED), four delivered, with tags and lists."""
    await save_provider(store, dispatch_settings, sink)
    for address in GONE:
        sink.handler.refused_recipients[address] = "550 Mailbox unavailable"
    failed = [await send(stub, a, tags={"campaign": "spring"}, list_id="news.acme.example") for a in GONE]
    sent = [
        await send(stub, a, tags={"campaign": "spring" if i % 2 else "summer"}, transactional=True)
        for i, a in enumerate(FINE)
    ]
    for dispatch_id in failed:
        assert (await wait_for_status(stub, dispatch_id, dispatch_pb2.FAILED)).status == dispatch_pb2.FAILED
    for dispatch_id in sent:
        assert (await wait_for_status(stub, dispatch_id, dispatch_pb2.DISPATCHED)).status == dispatch_pb2.DISPATCHED
    return failed, sent


async def test_a_listing_filters_by_status_tag_list_recipient_and_time(stub, history):
    failed, sent = history
    everything = await listed(stub, page_size=2)
    assert [d.dispatch_id for d in everything] == list(reversed(failed + sent)), "newest first, each once"
    assert {d.dispatch_id for d in await listed(stub, statuses=[dispatch_pb2.FAILED])} == set(failed)
    spring = await listed(stub, tag="campaign=spring")
    assert {d.dispatch_id for d in spring} == set(failed) | {sent[1], sent[3]}
    assert {d.dispatch_id for d in await listed(stub, tag="campaign")} == set(failed + sent)
    assert {d.dispatch_id for d in await listed(stub, list_id="news.acme.example")} == set(failed)
    (bob,) = await listed(stub, recipient="FINE2@example.org")
    assert bob.dispatch_id == sent[2] and list(bob.recipients) == ["fine2@example.org"]
    assert bob.tags == {"campaign": "summer"} and bob.queued_at.seconds > 0
    middle = everything[3].queued_at
    after = await listed(stub, queued_after=middle)
    before = await listed(stub, queued_before=middle)
    assert {d.dispatch_id for d in after} | {d.dispatch_id for d in before} == set(failed + sent)
    assert not {d.dispatch_id for d in after} & {d.dispatch_id for d in before}


async def test_failed_dispatches_are_retried_once_per_key(stub, history, sink):
    failed, sent = history
    sink.handler.refused_recipients.clear()  # the mailboxes are back
    first = await retry(stub, retry_key="spring-resend", filter=dispatch_pb2.DispatchFilter(tag="campaign=spring"))
    assert {r.original_dispatch_id for r in first.retried} == set(failed)
    assert all(r.error_code == 0 and r.dispatch_id not in failed for r in first.retried)
    for result in first.retried:
        resent = await wait_for_status(stub, result.dispatch_id, dispatch_pb2.DISPATCHED)
        assert resent.status == dispatch_pb2.DISPATCHED and resent.retry_of == result.original_dispatch_id
    assert await wait_until(lambda: len(sink.received) == len(FINE) + len(GONE), timeout=10)

    again = await retry(stub, retry_key="spring-resend", dispatch_ids=failed)
    assert {(r.original_dispatch_id, r.dispatch_id) for r in again.retried} == {
        (r.original_dispatch_id, r.dispatch_id) for r in first.retried
    }
    assert all(r.status == dispatch_pb2.DISPATCHED for r in again.retried)
    originals = {d.dispatch_id: d for d in await listed(stub, statuses=[dispatch_pb2.FAILED])}
    assert set(originals) == set(failed), "the originals keep their FAILED status and history"
    assert len(sink.received) == len(FINE) + len(GONE), "the same key sent nothing twice"


async def test_only_failed_dispatches_are_retried(stub, history):
    failed, sent = history
    answer = await retry(stub, retry_key="k1", dispatch_ids=[sent[0], "no-such-dispatch"])
    by_original = {r.original_dispatch_id: r for r in answer.retried}
    assert by_original[sent[0]].error_code == grpc.StatusCode.FAILED_PRECONDITION.value[0]
    assert "only FAILED dispatches" in by_original[sent[0]].error_message
    assert by_original["no-such-dispatch"].error_code == grpc.StatusCode.NOT_FOUND.value[0]


async def test_more_failed_dispatches_than_an_in_list_holds_are_retried_in_one_call(
    stub, store, dispatch_settings, sink
):
    """More originals than one IN list holds (services/core/database.py), their one shared body
    checked in the content store: each is re-queued once, in the order asked."""
    await save_provider(store, dispatch_settings, sink)
    refused = [f"bulk{i}@example.org" for i in range(IN_LIST_KEYS + 100)]
    sink.handler.refused_recipients.update({address: "550 Mailbox unavailable" for address in refused})
    answer = await stub.SendEmailBatch(
        dispatch_pb2.SendEmailBatchRequest(messages=[email(to=address) for address in refused]), metadata=METADATA
    )
    failed = [result.dispatch_id for result in answer.results]
    for dispatch_id in failed:
        await wait_for_status(stub, dispatch_id, dispatch_pb2.FAILED)
    retried = (await retry(stub, retry_key="bulk-again", dispatch_ids=failed)).retried
    assert [r.original_dispatch_id for r in retried] == failed
    assert all(r.error_code == 0 and r.status == dispatch_pb2.QUEUED for r in retried), retried[:3]
    assert len({r.dispatch_id for r in retried} - set(failed)) == len(failed)


@pytest.mark.parametrize(
    "fields, field",
    [
        (dict(dispatch_ids=["x"]), "retry_key"),
        (dict(retry_key="k", dispatch_ids=["x"], filter=dispatch_pb2.DispatchFilter(tag="a")), "dispatch_ids"),
        (dict(retry_key="k"), "dispatch_ids"),
        (
            dict(retry_key="k", filter=dispatch_pb2.DispatchFilter(statuses=[dispatch_pb2.DISPATCHED])),
            "filter.statuses",
        ),
        (dict(retry_key="k", filter=dispatch_pb2.DispatchFilter(recipient="not an address")), "filter.recipient"),
    ],
)
async def test_a_malformed_retry_is_refused_with_the_field_named(stub, service, fields, field):
    with pytest.raises(grpc.aio.AioRpcError) as refused:
        await retry(stub, **fields)
    assert refused.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert field in refused.value.details()


@pytest.mark.parametrize(
    "request_fields, field",
    [
        (dict(page_token="garbage"), "page_token"),
        (dict(filter=dispatch_pb2.DispatchFilter(statuses=[0])), "filter.statuses"),
        (dict(filter=dispatch_pb2.DispatchFilter(tag="=x")), "filter.tag"),
        (
            dict(
                filter=dispatch_pb2.DispatchFilter(
                    queued_after=Timestamp(seconds=20), queued_before=Timestamp(seconds=10)
                )
            ),
            "filter.queued_before",
        ),
    ],
)
async def test_a_malformed_listing_is_refused_with_the_field_named(stub, service, request_fields, field):
    with pytest.raises(grpc.aio.AioRpcError) as refused:
        await stub.ListDispatches(
            dispatch_pb2.ListDispatchesRequest(account_id=ACCOUNT, **request_fields), metadata=METADATA
        )
    assert refused.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert field in refused.value.details()


async def test_postroom_dispatches_prints_the_table_and_retries(stub, history, sink, dispatch_settings):
    failed, sent = history
    table, _ = await cli_output(dispatch_settings, "dispatches", "--account", ACCOUNT, "--status", "FAILED")
    header, *rows = table.splitlines()
    assert header.split()[:4] == ["QUEUED", "AT", "DISPATCH", "STATUS"]
    assert sorted(row.split()[2] for row in rows) == sorted(failed)
    assert all("gone" in row and "550 Mailbox unavailable" in row for row in rows)

    sink.handler.refused_recipients.clear()
    retried, _ = await cli_output(
        dispatch_settings, "dispatches", "--account", ACCOUNT, "--status", "FAILED", "--retry", "cli-1"
    )
    assert sorted(line.split()[0] for line in retried.splitlines()[1:]) == sorted(failed)
    assert await wait_until(lambda: len(sink.received) == len(FINE) + len(GONE), timeout=20)
