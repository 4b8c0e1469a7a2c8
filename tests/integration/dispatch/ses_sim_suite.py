"""Config, dispatch and feedback in-process against one SES simulator: a provider saved through
config with SES API keys (so config polls GetAccount), mail sent over the simulator's SMTP, and its
bounces back through the simulator's SNS to the feedback service."""

from __future__ import annotations

import asyncio
import contextlib
import functools
import socket
import ssl
from dataclasses import dataclass, replace

import aiohttp
import grpc
from aiohttp.abc import ResolveResult

from services.config import main as config_main
from services.core.generated.postroom.v1 import config_pb2, config_pb2_grpc, dispatch_pb2, dispatch_pb2_grpc, events_pb2
from services.core.runtime import start_service
from services.dispatch import main as dispatch_main
from services.feedback import main as feedback_main
from services.ses_sim.main import SesSimulator
from tests.integration.dispatch.dispatch_support import ACCOUNT, FAST, METADATA
from tests.integration.ses_sim.conftest import SnsHostsAreTheSimulator, simulator_settings
from tests.support.smtp import unused_loopback_host
from tests.support.streams import delete_test_streams


def receipt(provider_id: str, n: int) -> dispatch_pb2.SendEmailRequest:
    """A transactional email: SES's pauses hold it where the guard's would let it through."""
    return dispatch_pb2.SendEmailRequest(
        account_id=ACCOUNT,
        provider_id=provider_id,
        subject=f"Receipt {n}",
        to=[events_pb2.EmailAddress(address=f"buyer{n}@customer.test")],
        text_body="Thank you",
        transactional=True,
    )


class SnsHostsAreTheSimulatorAt(SnsHostsAreTheSimulator):
    """SNS's host names lead to the simulator on its own loopback address."""

    def __init__(self, host: str, port: int) -> None:
        super().__init__(port)
        self._host = host

    async def resolve(self, host: str, port: int = 0, family=socket.AF_INET) -> list[ResolveResult]:
        return [ResolveResult(**{**answer, "host": self._host}) for answer in await super().resolve(host, port, family)]


@dataclass
class SimSuite:
    sim: SesSimulator
    config: config_pb2_grpc.ConfigServiceStub
    dispatch: dispatch_pb2_grpc.DispatchServiceStub
    dispatch_service: object
    store: object
    feedback_port: int

    async def save_provider(self, **overrides) -> config_pb2.Provider:
        values = dict(
            name="SES",
            smtp_host=self.sim.settings.host,
            smtp_port=2587,
            smtp_username=self.sim.settings.smtp_username,
            smtp_password=self.sim.settings.smtp_password,
            from_address="sender@example.com",
            region="us-east-1",
            ses_access_key_id="AKIAPOSTROOMSESSIM01",
            ses_secret_access_key="local-sim-secret",
            max_send_rate=40,
            sns_topic_arns=[self.sim.topic_arn],
        )
        values.update(overrides)
        saved = await self.config.SaveProvider(
            config_pb2.SaveProviderRequest(account_id=ACCOUNT, settings=config_pb2.ProviderSettings(**values)),
            metadata=METADATA,
        )
        return saved.provider

    async def subscribe_feedback(self, provider_id: str) -> None:
        self.sim.subscribe(f"http://127.0.0.1:{self.feedback_port}/sns/{ACCOUNT}/{provider_id}")
        deadline = asyncio.get_running_loop().time() + 30
        while not self.sim.topics.confirmed(self.sim.topic_arn):
            assert asyncio.get_running_loop().time() < deadline, "the SNS subscription was never confirmed"
            await asyncio.sleep(0.05)


@contextlib.asynccontextmanager
async def sim_suite(settings, tmp_path, *, sim_rate: float = 60.0, **overrides):
    """The three services on `settings` (with `overrides`), the simulator on SES's own port."""
    host = unused_loopback_host(2587)
    async with SesSimulator(
        simulator_settings(tmp_path / "sim", host=host, smtp_port=2587, max_send_rate=sim_rate)
    ) as sim:
        settings = replace(
            settings,
            ses_endpoint_url=sim.web_url,
            smtp_ca_file=str(sim.ca_file),
            sns_cert_dir=str(sim.settings.pinned_cert_dir),
            **overrides,
        )
        connector = aiohttp.TCPConnector(
            resolver=SnsHostsAreTheSimulatorAt(host, sim.sns_https_port),
            ssl=ssl.create_default_context(cafile=str(sim.ca_file)),
        )
        config = await start_service("config", settings, config_main.build)
        feedback = await start_service(
            "feedback", settings, functools.partial(feedback_main.build, connector=connector)
        )
        dispatch = await start_service("dispatch", settings, functools.partial(dispatch_main.build, timings=FAST))
        try:
            async with (
                grpc.aio.insecure_channel(f"127.0.0.1:{config.grpc_port}") as config_channel,
                grpc.aio.insecure_channel(f"127.0.0.1:{dispatch.grpc_port}") as dispatch_channel,
            ):
                yield SimSuite(
                    sim,
                    config_pb2_grpc.ConfigServiceStub(config_channel),
                    dispatch_pb2_grpc.DispatchServiceStub(dispatch_channel),
                    dispatch,
                    dispatch.store,
                    feedback.components.http[0].port,
                )
        finally:
            await dispatch.stop()
            await feedback.stop()
            await delete_test_streams(config.store)
            await config.stop()
