"""`SesSimulator`: SMTP (STARTTLS and TLS), the web page and SES API, and the SNS stand-in, in one loop.

    async with SesSimulator(SimulatorSettings(data_dir=tmp, smtp_port=0, ...)) as sim:
        sim.smtp_port, sim.web_url, sim.ca_file, sim.subscribe("http://127.0.0.1:8081/sns/...")
"""

from __future__ import annotations

import asyncio
import json
import logging
import signal
import ssl
import time
from dataclasses import replace
from datetime import UTC, datetime

import aiohttp
from aiohttp import web

from services.core.log import configure_logging
from services.core.http_server import HttpEndpoint, new_app
from services.ses_sim.account import SesAccount
from services.ses_sim.certificates import SimulatorCertificates, SnsSigningCertificate, sns_host_names
from services.ses_sim.inbox import Inbox, KeptMessage
from services.ses_sim.mailbox_simulator import simulated_outcome
from services.ses_sim.ses_api import SesApi
from services.ses_sim.ses_notifications import SentMail, notifications_for
from services.ses_sim.settings import SimulatorSettings
from services.ses_sim.smtp import AcceptedMessage, SesSmtpHandler, start_smtp_server
from services.ses_sim.sns_endpoint import sns_endpoint_app
from services.ses_sim.sns_messages import SnsSigner
from services.ses_sim.sns_publisher import SNS_RETRY_DELAYS, SnsPublisher
from services.ses_sim.sns_topics import Subscription, Topics
from services.ses_sim.throttle import SendingLimits
from services.ses_sim.web import InboxWeb

log = logging.getLogger(__name__)

CALLER_IDENTITY = "ses-smtp-user.postroom-simulator"


class SesSimulator:
    def __init__(self, settings: SimulatorSettings, *, sns_retry_delays: tuple[float, ...] = SNS_RETRY_DELAYS) -> None:
        self.settings = settings
        self.account = SesAccount.from_settings(settings)
        self.limits = SendingLimits.of(settings.max_send_rate, settings.max_24_hour_send, time.monotonic())
        self.inbox = Inbox(settings.state_dir / "messages", settings.max_kept_messages)
        self.topics = Topics((settings.topic_arn,))
        self._sns_retry_delays = sns_retry_delays
        self._servers: list[asyncio.Server] = []
        self._sns_runner: web.AppRunner | None = None
        self._web: HttpEndpoint | None = None
        self._session: aiohttp.ClientSession | None = None
        self.publisher: SnsPublisher | None = None
        self.signing: SnsSigningCertificate | None = None
        self.ports: dict[str, int] = {}

    async def __aenter__(self) -> "SesSimulator":
        await self.start()
        return self

    async def __aexit__(self, *_) -> None:
        await self.stop()

    @property
    def smtp_port(self) -> int:
        return self.ports["smtp"]

    @property
    def smtp_tls_port(self) -> int:
        return self.ports["smtp_tls"]

    @property
    def web_port(self) -> int:
        return self.ports["web"]

    @property
    def sns_https_port(self) -> int:
        return self.ports["sns_https"]

    @property
    def web_url(self) -> str:
        return f"http://{self.settings.host}:{self.web_port}"

    @property
    def ca_file(self):
        return self.settings.ca_file

    @property
    def topic_arn(self) -> str:
        return self.settings.topic_arn

    @property
    def signing_cert_url(self) -> str:
        assert self.signing is not None
        return self.signing.url(self.settings.region)

    def subscribe(self, endpoint: str, topic_arn: str | None = None) -> Subscription:
        """Subscribe an HTTP(S) endpoint; it gets a SubscriptionConfirmation and must visit its SubscribeURL."""
        assert self.publisher is not None, "start() the simulator first"
        return self.publisher.subscribe(topic_arn or self.topic_arn, endpoint)

    async def start(self) -> None:
        certificates = await asyncio.to_thread(
            SimulatorCertificates.load_or_create, self.settings.state_dir, self.settings.ca_file)
        self.signing = await asyncio.to_thread(certificates.sns_signing_identity)
        self.signing.pin_in(self.settings.pinned_cert_dir)
        self._session = aiohttp.ClientSession(connector=aiohttp.TCPConnector(ssl=certificates.client_context()),
                                              trust_env=False)
        signer = SnsSigner(self.signing.key, self.signing_cert_url)
        self.publisher = SnsPublisher(self.topics, signer, self._session, retry_delays=self._sns_retry_delays)
        try:
            await self._start_smtp(certificates)
            await self._start_web()
            await self._start_sns_endpoint(certificates)
        except BaseException:
            await self.stop()
            raise

    async def _start_smtp(self, certificates: SimulatorCertificates) -> None:
        region, host = self.settings.region, self.settings.host
        names = [host, "127.0.0.1", "localhost", f"email-smtp.{region}.amazonaws.com"]
        tls = certificates.server_context("smtp", names)
        handler = SesSmtpHandler(self.settings.smtp_username, self.settings.smtp_password, self.account, self.limits,
                                 self._accepted)
        for name, port, implicit in (("smtp", self.settings.smtp_port, False),
                                     ("smtp_tls", self.settings.smtp_tls_port, True)):
            server = await start_smtp_server(handler, host, port, tls, implicit_tls=implicit,
                                             hostname=f"email-smtp.{region}.amazonaws.com")
            self._servers.append(server)
            self.ports[name] = server.sockets[0].getsockname()[1]

    async def _start_web(self) -> None:
        app = new_app()
        app.router.add_routes(InboxWeb(self.inbox, self.publisher, self.topic_arn).routes())
        app.router.add_routes(SesApi(self.account, self._sent_last_24_hours).routes())
        self._web = HttpEndpoint(app, self.settings.host, self.settings.web_port, lambda: True)
        await self._web.start()
        self.ports["web"] = self._web.port

    async def _start_sns_endpoint(self, certificates: SimulatorCertificates) -> None:
        names = [f"sns.{self.settings.region}.amazonaws.com", *sns_host_names(), "localhost", "127.0.0.1"]
        tls: ssl.SSLContext = certificates.server_context("sns", names)
        self._sns_runner = web.AppRunner(sns_endpoint_app(self.publisher, self.signing), access_log=None,
                                        shutdown_timeout=1)
        await self._sns_runner.setup()
        await web.TCPSite(self._sns_runner, self.settings.host, self.settings.sns_https_port, ssl_context=tls).start()
        self.ports["sns_https"] = self._sns_runner.addresses[0][1]

    def _sent_last_24_hours(self) -> int:
        return self.limits.quota.sent_last_24_hours(time.monotonic())

    def _accepted(self, message: AcceptedMessage) -> None:
        self.inbox.keep(KeptMessage(message.ses_message_id, message.accepted_at, message.mail_from,
                                    message.recipients, message.data))
        outcomes = [(recipient, outcome) for recipient in message.recipients
                    if (outcome := simulated_outcome(recipient)) is not None]
        if outcomes and self.publisher is not None:
            self.publisher.in_background(self._report(self._sent_mail(message), outcomes))

    def _sent_mail(self, message: AcceptedMessage) -> SentMail:
        identity = self.account.verifying_identity(message.mail_from)
        source_arn = self.account.identity_arn(identity) if identity else ""
        return SentMail(message.ses_message_id, message.accepted_at, message.mail_from, source_arn,
                        message.peer_ip, self.settings.aws_account, CALLER_IDENTITY, message.recipients,
                        message.data)

    async def _report(self, mail: SentMail, outcomes) -> None:
        """Publish what SES would report for each simulator recipient, in SES's order."""
        await asyncio.sleep(self.settings.notification_delay)
        for recipient, outcome in outcomes:
            for notification in notifications_for(mail, recipient, outcome, datetime.now(UTC)):
                await self.publisher.publish(self.topic_arn, json.dumps(notification, separators=(",", ":")))

    async def stop(self) -> None:
        for server in self._servers:
            server.close()
        self._servers.clear()
        if self.publisher:
            await self.publisher.close()
        if self._web:
            await self._web.stop()
            self._web = None
        if self._sns_runner:
            await self._sns_runner.cleanup()
            self._sns_runner = None
        if self._session:
            await self._session.close()
            self._session = None


def banner(simulator: SesSimulator) -> str:
    settings = simulator.settings
    actual = replace(settings, smtp_port=simulator.smtp_port, smtp_tls_port=simulator.smtp_tls_port,
                     web_port=simulator.web_port, sns_https_port=simulator.sns_https_port)
    lines = "\n".join(f"  {name:<34}{value}" for name, value in actual.described())
    return (f"Postroom SES simulator is running (Ctrl-C stops it).\n{lines}\n"
            f"  {'SNS topic':<34}{simulator.topic_arn}\n"
            f"  {'CA certificate (trust it)':<34}{settings.ca_file}\n"
            f"  {'SNS signing certificate':<34}{simulator.signing_cert_url}\n"
            f"Mailbox simulator: success@, bounce@, ooto@, complaint@, suppressionlist@simulator.amazonses.com")


async def serve_until_signalled(settings: SimulatorSettings) -> None:
    stopping = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stopping.set)
    async with SesSimulator(settings) as simulator:
        print(banner(simulator), flush=True)
        await stopping.wait()


def run_forever(settings: SimulatorSettings) -> int:
    configure_logging("ses-sim")
    # aiosmtpd logs every connection, and a warning per implicit-TLS session: keep its errors only.
    logging.getLogger("mail.log").setLevel(logging.ERROR)
    asyncio.run(serve_until_signalled(settings))
    return 0
