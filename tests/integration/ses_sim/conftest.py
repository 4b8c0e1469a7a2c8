"""A running SES simulator on free ports, SMTP helpers, and an SNS receiver (an HTTP endpoint that
records what it is sent and can visit SubscribeURLs through a connector that resolves SNS's host names
to the simulator and trusts its CA, the way the feedback service will be wired)."""

from __future__ import annotations

import asyncio
import socket
import ssl
from dataclasses import dataclass, field, replace
from email.message import EmailMessage

import aiohttp
import aiosmtplib
import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError
from aiohttp import web
from aiohttp.abc import AbstractResolver, ResolveResult

from services.ses_sim.main import SesSimulator
from services.ses_sim.settings import SimulatorSettings


def simulator_settings(tmp_path, **overrides) -> SimulatorSettings:
    base = SimulatorSettings(
        data_dir=tmp_path, smtp_port=0, smtp_tls_port=0, web_port=0, sns_https_port=0, notification_delay=0.0
    )
    return replace(base, **overrides)


@pytest.fixture
async def simulator(tmp_path):
    async with SesSimulator(simulator_settings(tmp_path), sns_retry_delays=(0.05, 0.1)) as running:
        yield running


def email(
    sender="News <news@example.com>", to="jane@customer.test", subject="Hello", body="Hi Jane", **headers
) -> EmailMessage:
    message = EmailMessage()
    message["From"], message["To"], message["Subject"] = sender, to, subject
    for name, value in headers.items():
        message[name.replace("_", "-")] = value
    message.set_content(body)
    return message


def ses_client(sim: SesSimulator, service: str = "sesv2", region: str = "us-east-1", *, validate: bool = True):
    """A real boto3 client for the simulator's SES API; `region` signs its requests, and so picks the region.
    Without `validate`, boto3 sends what it is given, so the simulator's own checks can be tested."""
    return boto3.session.Session(
        aws_access_key_id="AKIAEXAMPLE", aws_secret_access_key="secret", region_name=region
    ).client(
        service, endpoint_url=sim.web_url, config=Config(retries={"max_attempts": 1}, parameter_validation=validate)
    )


async def call(client, operation: str, **parameters) -> dict:
    """A boto3 call, off the event loop the simulator runs on."""
    return await asyncio.to_thread(getattr(client, operation), **parameters)


async def error_code(client, operation: str, **parameters) -> str:
    """The SES error code boto3 raises for a call the simulator refuses."""
    with pytest.raises(ClientError) as refused:
        await call(client, operation, **parameters)
    return refused.value.response["Error"]["Code"]


async def control(
    sim: SesSimulator, method: str, path: str, body: dict | None = None, **query: str
) -> tuple[int, dict]:
    """The control endpoint: (status, JSON answer)."""
    async with (
        aiohttp.ClientSession() as http,
        http.request(method, f"{sim.web_url}/_sim{'/' + path if path else ''}", json=body, params=query) as answer,
    ):
        return answer.status, await answer.json()


PDF = b"%PDF-1.4\n" + bytes(range(256)) * 40 + b"\n%%EOF\n"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64


def with_attachments() -> EmailMessage:
    """An invoice: text and HTML bodies, an inline logo the HTML shows by cid:, a PDF with a non-ASCII name."""
    message = email(subject="Invoice", body="See attached")
    message.add_alternative("<p>Logo: <img src='cid:logo@example.com'></p>", subtype="html")
    message.get_payload()[1].add_related(
        PNG, "image", "png", cid="<logo@example.com>", filename="logo.png", disposition="inline"
    )
    message.add_attachment(PDF, maintype="application", subtype="pdf", filename="Rechnung März.pdf")
    return message


async def smtp_session(
    sim: SesSimulator, *, implicit_tls=False, password: str | None = None, region: str | None = None
) -> aiosmtplib.SMTP:
    trusting = ssl.create_default_context(cafile=str(sim.ca_file))
    ports = sim.smtp_ports_of(region)
    client = aiosmtplib.SMTP(
        hostname="127.0.0.1",
        port=ports["smtp_tls"] if implicit_tls else ports["smtp"],
        use_tls=implicit_tls,
        start_tls=not implicit_tls,
        tls_context=trusting,
        timeout=10,
    )
    await client.connect()
    await client.login(sim.settings.smtp_username, password or sim.settings.smtp_password)
    return client


async def send(sim: SesSimulator, message: EmailMessage | bytes, **session) -> tuple[int, str]:
    """The server's final reply to the message: (code, text)."""
    client = await smtp_session(sim, **session)
    try:
        if isinstance(message, bytes):
            _, reply = await client.sendmail("news@example.com", ["jane@customer.test"], message)
        else:
            _, reply = await client.send_message(message)
        return 250, reply
    except aiosmtplib.SMTPRecipientsRefused as refused:
        error = refused.recipients[0]
        return error.code, error.message
    except aiosmtplib.SMTPResponseException as error:
        return error.code, error.message
    finally:
        client.close()


class SnsHostsAreTheSimulator(AbstractResolver):
    def __init__(self, port: int) -> None:
        self._port = port

    async def resolve(self, host: str, port: int = 0, family=socket.AF_INET) -> list[ResolveResult]:
        assert host.startswith("sns.") and host.endswith(".amazonaws.com"), host
        return [
            ResolveResult(
                hostname=host,
                host="127.0.0.1",
                port=self._port,
                family=socket.AF_INET,
                proto=0,
                flags=socket.AI_NUMERICHOST,
            )
        ]

    async def close(self) -> None:
        pass


@dataclass
class SnsReceiver:
    """An endpoint SNS posts to. With `confirm`, it visits each SubscribeURL as the feedback service does."""

    sim: SesSimulator
    confirm: bool = True
    received: list[tuple[dict, bytes]] = field(default_factory=list)
    refused: list[bytes] = field(default_factory=list)
    failures_to_answer: int = 0  # answer this many next deliveries with a 500
    url: str = ""
    _runner: web.AppRunner | None = None
    _session: aiohttp.ClientSession | None = None

    async def start(self) -> "SnsReceiver":
        connector = aiohttp.TCPConnector(
            resolver=SnsHostsAreTheSimulator(self.sim.sns_https_port),
            ssl=ssl.create_default_context(cafile=str(self.sim.ca_file)),
        )
        self._session = aiohttp.ClientSession(connector=connector)
        app = web.Application()
        app.router.add_post("/sns", self._receive)
        self._runner = web.AppRunner(app)
        await self._runner.setup()
        await web.TCPSite(self._runner, "127.0.0.1", 0).start()
        self.url = f"http://127.0.0.1:{self._runner.addresses[0][1]}/sns"
        return self

    async def _receive(self, request: web.Request) -> web.Response:
        body = await request.read()
        if self.failures_to_answer > 0:
            self.failures_to_answer -= 1
            self.refused.append(body)
            return web.Response(status=500, text="try again")
        self.received.append((dict(request.headers), body))
        if self.confirm and request.headers.get("x-amz-sns-message-type") == "SubscriptionConfirmation":
            await self.visit_subscribe_url(len(self.received) - 1)
        return web.Response(text="ok")

    async def visit_subscribe_url(self, index: int) -> str:
        import json

        subscribe_url = json.loads(self.received[index][1])["SubscribeURL"]
        async with self._session.get(subscribe_url) as answer:
            assert answer.status == 200, await answer.text()
            return await answer.text()

    def of_type(self, message_type: str) -> list[tuple[dict, bytes]]:
        return [
            (headers, body) for headers, body in self.received if headers.get("x-amz-sns-message-type") == message_type
        ]

    async def stop(self) -> None:
        await self._session.close()
        await self._runner.cleanup()


@pytest.fixture
async def receiver_factory():
    receivers: list[SnsReceiver] = []

    async def make(sim: SesSimulator, confirm: bool = True) -> SnsReceiver:
        receivers.append(await SnsReceiver(sim, confirm).start())
        return receivers[-1]

    yield make
    for receiver in receivers:
        await receiver.stop()


async def eventually(condition, timeout: float = 15.0) -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    while not condition():
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError("condition not met in time")
        await asyncio.sleep(0.02)
