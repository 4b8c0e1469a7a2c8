"""The product page, step by step, against the whole suite running as separate processes."""

from __future__ import annotations

import asyncio
import json
import urllib.request

import aiohttp
import grpc
import pytest

from services.core.generated.postroom.v1 import (
    dispatch_pb2,
    dispatch_pb2_grpc,
    events_pb2,
    unsubscribe_pb2,
    unsubscribe_pb2_grpc,
)
from services.cli.catalog import service_module
from services.core.database import create_engine, dump_tables, read_checkpoint
from services.core.read_model_generations import open_live
from services.core.event_store import EventStore
from services.core.settings import SERVICES
from tests.e2e.suite import AUTH, SIM_SECRETS, Suite, eventually
from tests.support.smtp import unused_loopback_host

ACCOUNT = "demo"


@pytest.fixture(scope="module")
def suite(tmp_path_factory):
    running = Suite(tmp_path_factory.mktemp("suite")).start()
    yield running
    running.close()


def save_provider(suite: Suite, *extra: str, host: str = "", password_env: dict | None = None):
    return suite.save_sim_provider(ACCOUNT, *extra, host=host, secrets=password_env, check=False)


def sim_subscriptions(suite: Suite) -> list[dict]:
    with urllib.request.urlopen(f"{suite.sim_url}/api/subscriptions", timeout=5) as answer:
        return json.load(answer)["subscriptions"]


def email(address: str) -> events_pb2.EmailAddress:
    return events_pb2.EmailAddress(address=address)


async def send(dispatch, provider_id: str, to: str, **fields) -> str:
    answer = await dispatch.SendEmail(
        dispatch_pb2.SendEmailRequest(
            account_id=ACCOUNT,
            provider_id=provider_id,
            to=[email(to)],
            subject=fields.pop("subject", "Hello from Postroom"),
            text_body="Hi!",
            **fields,
        ),
        metadata=AUTH,
    )
    return answer.dispatch_id


async def status_of(dispatch, dispatch_id: str) -> dispatch_pb2.Dispatch:
    return await dispatch.GetDispatch(
        dispatch_pb2.GetDispatchRequest(account_id=ACCOUNT, dispatch_id=dispatch_id), metadata=AUTH
    )


async def suppression_of(dispatch, address: str) -> dispatch_pb2.Suppression:
    return await dispatch.GetRecipientSuppression(
        dispatch_pb2.GetRecipientSuppressionRequest(account_id=ACCOUNT, email=address), metadata=AUTH
    )


async def test_the_product_page_step_by_step(suite):
    # Steps 1-7: save the provider; every check the page makes passes against the SES stand-in.
    saved = save_provider(suite)
    assert saved.returncode == 0, saved.stderr
    answer = json.loads(saved.stdout)
    provider = answer["provider"]
    assert {c["name"]: c.get("passed", False) for c in answer["checks"]} == {
        "smtp_login": True,
        "ses_identity": True,
        "ses_sandbox": True,
    }
    callback_url = provider["callback_url"]
    assert callback_url == f"{suite.env['POSTROOM_PUBLIC_URL']}/sns/{ACCOUNT}/{provider['provider_id']}"

    # Bounce and complaint processing: subscribe the callback URL; the handshake confirms it.
    suite.cli("ses-sim", "--url", suite.sim_url, "subscribe", "--endpoint", callback_url)
    await eventually(
        _async(lambda: any(s["confirmed"] and s["endpoint"] == callback_url for s in sim_subscriptions(suite)))
    )

    async with suite.channel("dispatch") as dispatch_channel, suite.channel("unsubscribe") as unsubscribe_channel:
        dispatch = dispatch_pb2_grpc.DispatchServiceStub(dispatch_channel)
        unsubscribe = unsubscribe_pb2_grpc.UnsubscribeServiceStub(unsubscribe_channel)
        provider_id = provider["provider_id"]

        # Step 8: "Send a test email".
        test = await dispatch.SendTestEmail(
            dispatch_pb2.SendTestEmailRequest(
                account_id=ACCOUNT, provider_id=provider_id, to="success@simulator.amazonses.com"
            ),
            metadata=AUTH,
        )
        assert test.delivered and test.ses_message_id, test

        # A bounce suppresses the address.
        bounced = await send(dispatch, provider_id, "bounce@simulator.amazonses.com")
        await eventually(lambda: _dispatched(dispatch, bounced))
        suppression = await eventually(lambda: _suppressed(dispatch, "bounce@simulator.amazonses.com"))
        assert suppression.reason == "hard_bounce"

        # A complaint unsubscribes another address (globally) and suppresses it.
        await send(dispatch, provider_id, "complaint@simulator.amazonses.com")
        status = await eventually(lambda: _globally_unsubscribed(unsubscribe, "complaint@simulator.amazonses.com"))
        assert status.globally_unsubscribed
        await eventually(lambda: _suppressed(dispatch, "complaint@simulator.amazonses.com"))

        # The one-click link unsubscribes a third.
        reader = "reader@example.net"
        link = await unsubscribe.CreateUnsubscribeLink(
            unsubscribe_pb2.CreateUnsubscribeLinkRequest(account_id=ACCOUNT, email=reader), metadata=AUTH
        )
        async with aiohttp.ClientSession() as http:
            async with http.post(link.url, data={"List-Unsubscribe": "One-Click"}, allow_redirects=False) as response:
                assert response.status == 200
        await eventually(lambda: _suppressed(dispatch, reader))

        # None of the three can be sent to again.
        for address in ("bounce@simulator.amazonses.com", "complaint@simulator.amazonses.com", reader):
            dispatch_id = await send(dispatch, provider_id, address, subject="Again?")
            final = await eventually(lambda dispatch_id=dispatch_id: _settled(dispatch, dispatch_id))
            assert final.status == dispatch_pb2.SUPPRESSED, (address, final)

    inbox = suite.cli("ses-sim", "--url", suite.sim_url, "inbox", "--json")
    recipients = [r for m in json.loads(inbox.stdout)["messages"] for r in m["recipients"]]
    assert "success@simulator.amazonses.com" in recipients and "reader@example.net" not in recipients


async def test_troubleshooting_cases_give_the_pages_answers(suite):
    wrong = save_provider(
        suite, password_env=dict(SIM_SECRETS, POSTROOM_SMTP_PASSWORD="wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY")
    )
    assert wrong.returncode == 1
    assert "Invalid Credentials: these must be your SES SMTP credentials, not your AWS access keys" in wrong.stderr

    unreachable = save_provider(suite, host=unused_loopback_host(2587))
    assert unreachable.returncode == 1
    assert "Dispatch Failed: the provider could not be reached" in unreachable.stderr

    saved = json.loads(save_provider(suite).stdout)["provider"]
    async with suite.channel("dispatch") as channel:
        dispatch = dispatch_pb2_grpc.DispatchServiceStub(channel)
        with pytest.raises(grpc.aio.AioRpcError) as newline:
            await send(
                dispatch, saved["provider_id"], "someone@example.net", subject="Hello\r\nBcc: victim@example.org"
            )
        assert newline.value.code() == grpc.StatusCode.INVALID_ARGUMENT
        assert "subject" in newline.value.details()

        dead = json.loads(save_provider(suite, "--skip-verification", host=unused_loopback_host(2587)).stdout)[
            "provider"
        ]
        test = await dispatch.SendTestEmail(
            dispatch_pb2.SendTestEmailRequest(
                account_id=ACCOUNT, provider_id=dead["provider_id"], to="success@simulator.amazonses.com"
            ),
            metadata=AUTH,
        )
        assert not test.delivered and test.troubleshooting_case == "provider_unreachable"
        assert "could not be reached" in test.hint or "could not be reached" in test.smtp_reply


def test_a_sandboxed_account_is_refused_with_the_pages_answer(tmp_path):
    sandboxed = Suite(tmp_path, overrides={"POSTROOM_SIM_SANDBOX": "1"}).start()
    try:
        refused = save_provider(sandboxed)
        assert refused.returncode == 1
        assert "Invalid Credentials: the SES account is in the sandbox; request production access" in refused.stderr
    finally:
        sandboxed.close()


def _async(predicate):
    async def check():
        return predicate()

    return check


async def _dispatched(dispatch, dispatch_id: str):
    current = await status_of(dispatch, dispatch_id)
    return current if current.status == dispatch_pb2.DISPATCHED else None


async def _settled(dispatch, dispatch_id: str):
    try:
        current = await status_of(dispatch, dispatch_id)
    except grpc.aio.AioRpcError:
        return None
    return (
        current
        if current.status not in (dispatch_pb2.QUEUED, dispatch_pb2.SENDING, dispatch_pb2.DISPATCH_STATUS_UNSPECIFIED)
        else None
    )


async def _suppressed(dispatch, address: str):
    current = await suppression_of(dispatch, address)
    return current if current.suppressed else None


async def _globally_unsubscribed(unsubscribe, address: str):
    status = await unsubscribe.GetStatus(
        unsubscribe_pb2.GetStatusRequest(account_id=ACCOUNT, email=address), metadata=AUTH
    )
    return status if status.globally_unsubscribed else None


async def test_replay_of_each_service_gives_the_same_read_models(suite):
    """After the run above: stop the services, then `postroom replay` each one; nothing changes."""
    await wait_until_quiet(suite)
    suite.stop()
    settings = suite.env_settings()
    for name in SERVICES:
        registry = create_engine(settings.database_url_for(name))
        metadata = [projection.metadata for projection in service_module(name).projections(settings)]
        live = await dump_live(registry, name, metadata)
        assert any(rows for rows in live.values()), f"{name} has an empty read model"
        suite.cli("replay", name)
        assert await dump_live(registry, name, metadata) == live, f"replay of {name} differs"
        await registry.dispose()


async def dump_live(registry, model: str, metadata) -> dict:
    engine = await open_live(registry, model)
    try:
        return await dump_tables(engine, *metadata)
    finally:
        await engine.dispose()


async def wait_until_quiet(suite: Suite, timeout: float = 30) -> None:
    """Every projection of every service has applied the last event, and nothing new arrives."""
    settings = suite.env_settings()
    store = await EventStore.connect(settings)
    try:

        async def all_caught_up():
            last = await store.last_sequence()
            for name in SERVICES:
                registry = create_engine(settings.database_url_for(name))
                engine = await open_live(registry, name)
                async with engine.connect() as conn:
                    checkpoint = await read_checkpoint(conn, name)
                await engine.dispose()
                await registry.dispose()
                if checkpoint != last:
                    return False
            await asyncio.sleep(1.0)
            return await store.last_sequence() == last

        await eventually(all_caught_up, timeout=timeout, interval=0.3)
    finally:
        await store.close()
