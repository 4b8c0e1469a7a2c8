"""The JetStream publisher against a real nats-server: acks, errors, and acks that never come."""

from __future__ import annotations

import asyncio

import nats
import nats.errors
import pytest
from nats.js.errors import APIError, NoStreamResponseError

from services.core.event_store import WRONG_LAST_SEQUENCE
from services.core.jetstream_publisher import JetStreamPublisher


@pytest.fixture
async def connection(settings):
    nc = await nats.connect(settings.nats_url)
    js = nc.jetstream()
    await js.add_stream(name=settings.stream_name, subjects=[f"{settings.subject_prefix}.>"])
    yield nc
    await js.delete_stream(settings.stream_name)
    await nc.close()


def expect_stream(settings, **more: str) -> dict[str, str]:
    return {"Nats-Expected-Stream": settings.stream_name, **more}


async def test_many_publishes_in_flight_each_get_their_own_sequence(connection, settings):
    publisher = JetStreamPublisher(connection, timeout=5)
    acks = [await publisher.send(f"{settings.subject_prefix}.a.{i}", b"x", expect_stream(settings)) for i in range(200)]
    sequences = [(await ack).seq for ack in acks]
    assert sequences == list(range(1, 201))
    await publisher.close()


async def test_a_republished_message_id_is_reported_as_a_duplicate(connection, settings):
    publisher = JetStreamPublisher(connection, timeout=5)
    subject, headers = f"{settings.subject_prefix}.a.1", expect_stream(settings, **{"Nats-Msg-Id": "m1"})
    first = await publisher.publish(subject, b"x", dict(headers))
    again = await publisher.publish(subject, b"x", dict(headers))
    assert (first.duplicate, again.duplicate, again.seq) == (False, True, first.seq)
    await publisher.close()


async def test_a_stream_error_settles_the_publish_with_the_api_error(connection, settings):
    publisher = JetStreamPublisher(connection, timeout=5)
    subject = f"{settings.subject_prefix}.a.1"
    await publisher.publish(subject, b"x", expect_stream(settings))
    with pytest.raises(APIError) as raised:
        await asyncio.wait_for(
            publisher.publish(subject, b"y", expect_stream(settings, **{"Nats-Expected-Last-Subject-Sequence": "0"})), 5
        )
    assert raised.value.err_code == WRONG_LAST_SEQUENCE
    await publisher.close()


async def test_a_subject_no_stream_holds_fails_at_once(connection, settings):
    publisher = JetStreamPublisher(connection, timeout=5)
    with pytest.raises(NoStreamResponseError):
        await asyncio.wait_for(publisher.publish("nowhere.at.all", b"x", {}), 5)
    await publisher.close()


async def test_an_ack_that_never_comes_times_out(connection, settings):
    # A plain subscriber takes the message and never answers, as when an ack is lost in a reconnect.
    async def ignore(_msg) -> None:
        pass

    await connection.subscribe("silent.subject", cb=ignore)
    publisher = JetStreamPublisher(connection, timeout=0.3)
    with pytest.raises(nats.errors.TimeoutError):
        await asyncio.wait_for(publisher.publish("silent.subject", b"x", {}), 5)
    await publisher.close()
