"""The real feedback service, in no special mode, fed by the simulator: it confirms the subscription
through the simulator's SNS stand-in and records the bounce the mailbox simulator reports."""

import ssl
import uuid
from dataclasses import replace
from functools import partial

import aiohttp

from services.core.events import Event
from services.core.runtime import start_service
from services.feedback.main import build
from services.ses_sim.main import SesSimulator
from tests.integration.ses_sim.conftest import SnsHostsAreTheSimulator, email, eventually, send, simulator_settings
from tests.support.events import provider_saved


async def event_types(store) -> list[str]:
    types = []
    for seq in range(1, await store.last_sequence() + 1):
        types.append(Event.FromString((await store.js.get_msg(store.stream, seq)).data or b"").type)
    return types


async def test_a_simulated_bounce_reaches_the_feedback_service(settings, tmp_path):
    async with SesSimulator(simulator_settings(tmp_path / "sim")) as sim:
        connector = aiohttp.TCPConnector(
            resolver=SnsHostsAreTheSimulator(sim.sns_https_port),
            ssl=ssl.create_default_context(cafile=str(sim.ca_file)),
        )
        feedback_settings = replace(settings, sns_cert_dir=str(sim.settings.pinned_cert_dir))
        service = await start_service("feedback", feedback_settings, partial(build, connector=connector))
        try:
            provider_id = str(uuid.uuid4())
            appended = await service.store.append(provider_saved("acme", provider_id, sns_topic_arns=[sim.topic_arn]))
            assert await service.components.projections[0].wait_for(appended.stream_seq, 10)
            sim.subscribe(f"http://127.0.0.1:{service.components.http[0].port}/sns/acme/{provider_id}")
            await eventually(lambda: sim.topics.confirmed(sim.topic_arn), timeout=30)

            assert (await send(sim, email(to="bounce@simulator.amazonses.com")))[0] == 250
            last = await service.store.last_sequence()
            await eventually(lambda: sim.publisher.delivered >= 2, timeout=30)  # confirmation + bounce
            assert await service.store.last_sequence() > last
            assert "BounceReceived" in await event_types(service.store)
            assert sim.publisher.failed == 0
        finally:
            await service.stop()
