"""UnsubscribeService over real gRPC; the complaint reactor; replay of the read model."""

from __future__ import annotations

import asyncio

import aiohttp
import grpc
import pytest
from google.rpc import error_details_pb2
from grpc_status import rpc_status

from services.core.event_store import EventStore
from services.core.events import new_event
from services.core.generated.postroom.v1 import events_pb2, unsubscribe_pb2
from services.core.ids import recipient_hash
from services.core.projection import replay
from services.core.runtime import start_service
from services.unsubscribe.complaints import DURABLE_NAME
from services.unsubscribe.main import build
from tests.integration.unsubscribe.conftest import AUTH
from tests.support.read_models import dump_runner, runner_of
from tests.support.unsubscribe import subscription_events

ACCOUNT = "acme"


def violations(error: grpc.aio.AioRpcError) -> dict[str, str]:
    found = {}
    for detail in rpc_status.from_call(error).details:
        bad = error_details_pb2.BadRequest()
        if detail.Unpack(bad):
            found.update({v.field: v.description for v in bad.field_violations})
    return found


async def unsub(stub, email, list_id="", **extra):
    return await stub.Unsubscribe(
        unsubscribe_pb2.UnsubscribeRequest(account_id=ACCOUNT, email=email, list_id=list_id, **extra), metadata=AUTH
    )


async def status_of(stub, email, account=ACCOUNT):
    return await stub.GetStatus(unsubscribe_pb2.GetStatusRequest(account_id=account, email=email), metadata=AUTH)


async def test_unsubscribe_per_list_and_global_then_resubscribe(unsubscribe, store):
    first = await unsub(unsubscribe, "Ann@Example.com", "news", reason="too many")
    assert first.changed and list(first.unsubscribed_lists) == ["news"] and not first.globally_unsubscribed
    assert not (await unsub(unsubscribe, "ann@example.com ", "news")).changed  # same address, normalised
    both = await unsub(unsubscribe, "ann@example.com")
    assert both.globally_unsubscribed and list(both.unsubscribed_lists) == ["news"]
    assert both.recipient_hash == recipient_hash("ann@example.com")

    again = await unsubscribe.Resubscribe(
        unsubscribe_pb2.ResubscribeRequest(account_id=ACCOUNT, email="ann@example.com"), metadata=AUTH
    )
    assert again.changed and not again.globally_unsubscribed and list(again.unsubscribed_lists) == ["news"]
    by_hash = await unsubscribe.GetStatus(
        unsubscribe_pb2.GetStatusRequest(account_id=ACCOUNT, recipient_hash=recipient_hash("ann@example.com")),
        metadata=AUTH,
    )
    assert list(by_hash.unsubscribed_lists) == ["news"]

    kinds = [
        (e.event.WhichOneof("payload"), e.event.unsubscribed.source or e.event.resubscribed.source)
        for e in await subscription_events(store)
    ]
    assert kinds == [("unsubscribed", "api"), ("unsubscribed", "api"), ("resubscribed", "api")]
    assert (await subscription_events(store))[0].event.unsubscribed.reason == "too many"


async def test_list_unsubscribes_pages_through_everything(unsubscribe):
    emails = [f"user{i}@example.com" for i in range(7)]
    for email in emails:
        await unsub(unsubscribe, email, "news")
    seen, token = [], ""
    while True:
        page = await unsubscribe.ListUnsubscribes(
            unsubscribe_pb2.ListUnsubscribesRequest(account_id=ACCOUNT, page_size=3, page_token=token), metadata=AUTH
        )
        seen += [(e.recipient_hash, e.list_id, e.source) for e in page.entries]
        assert all(e.unsubscribed_at.seconds > 0 for e in page.entries)
        token = page.next_page_token
        if not token:
            break
    assert sorted(seen) == sorted((recipient_hash(e), "news", "api") for e in emails)


@pytest.mark.parametrize(
    "request_fields, field",
    [
        (dict(account_id="", email="a@example.com"), "account_id"),
        (dict(account_id=ACCOUNT, email="not-an-address"), "email"),
        (dict(account_id=ACCOUNT, email="a@example.com", list_id="bad\nlist"), "list_id"),
        (dict(account_id=ACCOUNT, email="a@example.com", source="carrier-pigeon"), "source"),
        (dict(account_id=ACCOUNT, email="a@example.com", reason="x" * 501), "reason"),
    ],
)
async def test_bad_requests_name_the_field(unsubscribe, request_fields, field):
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await unsubscribe.Unsubscribe(unsubscribe_pb2.UnsubscribeRequest(**request_fields), metadata=AUTH)
    assert caught.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert field in violations(caught.value)


async def test_create_link_gives_headers_and_a_working_link(unsubscribe, unsubscribe_service, store):
    link = await unsubscribe.CreateUnsubscribeLink(
        unsubscribe_pb2.CreateUnsubscribeLinkRequest(
            account_id=ACCOUNT, email="Bob@Example.com", list_id="news", dispatch_id="d-9"
        ),
        metadata=AUTH,
    )
    assert link.url == f"https://unsubscribe.example.test/u/{link.token}"
    assert link.list_unsubscribe_header == (f"<{link.url}>, <mailto:unsubscribe@example.test?subject=unsubscribe>")
    assert link.list_unsubscribe_post_header == "List-Unsubscribe=One-Click"
    assert "bob" not in link.url.lower()

    local = f"http://127.0.0.1:{unsubscribe_service.components.http[0].port}/u/{link.token}"
    async with aiohttp.ClientSession() as http:
        async with http.post(local, data={"List-Unsubscribe": "One-Click"}) as response:
            assert response.status == 200
    assert list((await status_of(unsubscribe, "bob@example.com")).unsubscribed_lists) == ["news"]
    [event] = await subscription_events(store)
    assert event.event.unsubscribed.dispatch_id == "d-9"


async def test_create_link_without_a_key_says_what_to_set(settings):
    service = await start_service("unsubscribe", settings, build)  # no POSTROOM_UNSUBSCRIBE_KEY
    try:
        async with grpc.aio.insecure_channel(f"127.0.0.1:{service.grpc_port}") as channel:
            from services.core.generated.postroom.v1 import unsubscribe_pb2_grpc

            stub = unsubscribe_pb2_grpc.UnsubscribeServiceStub(channel)
            with pytest.raises(grpc.aio.AioRpcError) as caught:
                await stub.CreateUnsubscribeLink(
                    unsubscribe_pb2.CreateUnsubscribeLinkRequest(account_id=ACCOUNT, email="a@example.com"),
                    metadata=AUTH,
                )
        assert caught.value.code() == grpc.StatusCode.FAILED_PRECONDITION
        assert "POSTROOM_UNSUBSCRIBE_KEY" in caught.value.details()
    finally:
        await service.stop()


def complaint_event(account: str, email: str) -> events_pb2.Event:
    payload = events_pb2.ComplaintReceived(
        provider_id="p1",
        recipient_hash=recipient_hash(email),
        recipient=email,
        feedback_type="abuse",
        ses_message_id="ses-1",
        dispatch_id="d-1",
    )
    return new_event(payload, account_id=account, aggregate_type="feedback", aggregate_id=recipient_hash(email))


async def wait_until(predicate, timeout: float = 30.0, explain=None) -> None:
    """Generous: the reactor's retry delay is 5 s, and CI machines can be busy. On a timeout,
    `explain()` says what state things were left in, so a rare failure can be read from the log."""
    deadline = asyncio.get_running_loop().time() + timeout
    while not await predicate():
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"condition not reached in {timeout} s; {await explain() if explain else ''}")
        await asyncio.sleep(0.05)


async def test_a_complaint_unsubscribes_globally_once(unsubscribe_settings, unsubscribe, store, unsubscribe_service):
    complaint = complaint_event(ACCOUNT, "Carol@Example.com")
    await store.append(complaint)
    await unsub(unsubscribe, "dave@example.com", "news")  # unrelated traffic

    async def unsubscribed() -> bool:
        return (await status_of(unsubscribe, "carol@example.com")).globally_unsubscribed

    await wait_until(unsubscribed, explain=lambda: reactor_state(store))
    [event] = [e for e in await subscription_events(store) if e.event.unsubscribed.source == "complaint"]
    assert event.event.causation_id == complaint.event_id
    assert event.event.unsubscribed.list_id == "" and event.event.unsubscribed.reason == "complaint: abuse"

    # A second replica with the same durable consumer, and the complaint delivered again.
    second = await start_service("unsubscribe", unsubscribe_settings, _with_free_ports(build))
    try:
        redelivered = await store.append(complaint, msg_id=f"redelivered-{complaint.event_id}")
        await wait_until(
            lambda: reactor_has_acknowledged(store, redelivered.stream_seq), explain=lambda: reactor_state(store)
        )
    finally:
        await second.stop()
    complaints = [e for e in await subscription_events(store) if e.event.unsubscribed.source == "complaint"]
    assert len(complaints) == 1


async def reactor_has_acknowledged(store: EventStore, stream_seq: int) -> bool:
    info = await store.js.consumer_info(store.stream, DURABLE_NAME)
    return info.ack_floor.stream_seq >= stream_seq and not info.num_ack_pending


async def reactor_state(store: EventStore) -> str:
    info = await store.js.consumer_info(store.stream, DURABLE_NAME)
    return (
        f"reactor consumer: delivered {info.delivered.stream_seq}, ack floor {info.ack_floor.stream_seq}, "
        f"pending acks {info.num_ack_pending}, redelivered {info.num_redelivered}, "
        f"waiting pulls {info.num_waiting}; stream last {await store.last_sequence()}"
    )


def _with_free_ports(build_fn):
    from dataclasses import replace
    from tests.conftest import free_ports

    async def build_on_free_ports(settings, store, engine):
        return await build_fn(replace(settings, ports=free_ports()), store, engine)

    return build_on_free_ports


async def test_replay_rebuilds_the_same_rows_and_has_no_side_effects(
    unsubscribe_settings, unsubscribe, unsubscribe_service, store
):
    for i in range(5):
        await unsub(unsubscribe, f"r{i}@example.com", "news" if i % 2 else "")
    await unsubscribe.Resubscribe(
        unsubscribe_pb2.ResubscribeRequest(account_id=ACCOUNT, email="r1@example.com", list_id="news"), metadata=AUTH
    )
    await store.append(complaint_event(ACCOUNT, "r9@example.com"))

    async def complained() -> bool:
        return (await status_of(unsubscribe, "r9@example.com")).globally_unsubscribed

    await wait_until(complained, explain=lambda: reactor_state(store))
    runner = runner_of(unsubscribe_service)
    live = await dump_runner(runner)
    events_before, before = await store.last_sequence(), runner.generation

    await replay(list(runner.projections.projections), store, unsubscribe_service.engine, model=runner.model)

    async def switched() -> bool:
        return runner.generation.number != before.number

    await wait_until(switched)
    assert await dump_runner(runner) == live
    assert await store.last_sequence() == events_before
    assert len(live["unsubscribe_unsubscribes"]) == 5


async def test_cli_unsubscribe_status_resubscribe(unsubscribe_settings, unsubscribe_service, capsys):
    from services.cli.main import build_parser

    def run(*argv: str) -> dict:
        args = build_parser().parse_args(list(argv))
        assert args.handler(args, unsubscribe_settings) == 0
        import json

        return json.loads(capsys.readouterr().out)

    done = await asyncio.to_thread(
        run,
        "unsubscribe",
        "--account",
        ACCOUNT,
        "--email",
        "cli@example.com",
        "--list",
        "news",
        "--reason",
        "asked by phone",
    )
    assert done["unsubscribed_lists"] == ["news"] and done["changed"]
    status = await asyncio.to_thread(run, "unsubscribe", "status", "--account", ACCOUNT, "--email", "cli@example.com")
    assert status["unsubscribed_lists"] == ["news"]

    def run_old_form() -> tuple[dict, str]:
        args = build_parser().parse_args(["status", "--account", ACCOUNT, "--email", "cli@example.com"])
        assert args.handler(args, unsubscribe_settings) == 0
        import json

        captured = capsys.readouterr()
        return json.loads(captured.out), captured.err

    old, notice = await asyncio.to_thread(run_old_form)
    assert old == status and "is now `postroom unsubscribe status --account A --email E`" in notice
    lifted = await asyncio.to_thread(
        run, "resubscribe", "--account", ACCOUNT, "--email", "cli@example.com", "--list", "news"
    )
    assert "unsubscribed_lists" not in lifted and lifted["changed"]
