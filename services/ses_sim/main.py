"""`SesSimulator`: SMTP (STARTTLS and TLS) for every served region, the web page, SES API and control
endpoint, and the SNS stand-in, in one loop.

    async with SesSimulator(SimulatorSettings(data_dir=tmp, smtp_port=0, ...)) as sim:
        sim.smtp_port, sim.web_url, sim.ca_file, sim.subscribe("http://127.0.0.1:8081/sns/...")
        sim.set_account(enforcement_status="SHUTDOWN")          # the default region
        sim.suppress("gone@customer.test", "BOUNCE", region="eu-west-1")
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
from typing import Any

import aiohttp
from aiohttp import web

from services.core.http_server import HttpEndpoint, new_app
from services.core.log import configure_logging
from services.ses_sim.account import AccountChange, SesAccount
from services.ses_sim.certificates import SimulatorCertificates, SnsSigningCertificate, sns_host_names
from services.ses_sim.configuration_set_api import ConfigurationSetApi
from services.ses_sim.configuration_sets import ConfigurationSet
from services.ses_sim.control import SimulatorControl
from services.ses_sim.inbox import Inbox, KeptMessage
from services.ses_sim.mailbox_simulator import reported_outcome
from services.ses_sim.regions import Regions, SesRegion
from services.ses_sim.ses_api import SesApi
from services.ses_sim.ses_notifications import SentMail, notifications_for
from services.ses_sim.settings import SimulatorSettings, region_suffix
from services.ses_sim.smtp import AcceptedMessage, SesSmtpHandler, keep_aiosmtpd_errors_only, start_smtp_server
from services.ses_sim.sns_endpoint import sns_endpoint_app
from services.ses_sim.sns_messages import SnsSigner
from services.ses_sim.sns_publisher import SNS_RETRY_DELAYS, SnsPublisher
from services.ses_sim.sns_topics import Subscription, Topics
from services.ses_sim.suppression_api import SuppressionApi
from services.ses_sim.suppression_list import SuppressedDestination
from services.ses_sim.tenant_api import TenantApi
from services.ses_sim.tenants import Tenant
from services.ses_sim.web import InboxWeb

log = logging.getLogger(__name__)

CALLER_IDENTITY = "ses-smtp-user.postroom-simulator"


class SesSimulator:
    def __init__(self, settings: SimulatorSettings, *, sns_retry_delays: tuple[float, ...] = SNS_RETRY_DELAYS) -> None:
        self.settings = settings
        self.regions = Regions.from_settings(settings, now=datetime.now(UTC), clock=time.monotonic())
        self.inbox = Inbox(settings.state_dir / "messages", settings.max_kept_messages)
        self.topics = Topics(tuple(region.topic_arn for region in self.regions))
        self._sns_retry_delays = sns_retry_delays
        self._servers: list[asyncio.Server] = []
        self._sns_runner: web.AppRunner | None = None
        self._web: HttpEndpoint | None = None
        self._session: aiohttp.ClientSession | None = None
        self.publisher: SnsPublisher | None = None
        self.signing: SnsSigningCertificate | None = None
        self.ports: dict[str, int] = {}  # web, sns_https, and the default region's smtp / smtp_tls
        self.region_ports: dict[str, dict[str, int]] = {}  # region -> {"smtp": ..., "smtp_tls": ...}

    async def __aenter__(self) -> "SesSimulator":
        await self.start()
        return self

    async def __aexit__(self, *_) -> None:
        await self.stop()

    # --- where it listens ------------------------------------------------------------------------

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

    def smtp_ports_of(self, region: str | None = None) -> dict[str, int]:
        """{"smtp": STARTTLS port, "smtp_tls": TLS port} of a region (the default one for None)."""
        return dict(self.region_ports[self.region(region).name])

    # --- what a test changes while it runs (the control endpoint does the same over HTTP) --------

    def region(self, name: str | None = None) -> SesRegion:
        return self.regions.get(name)

    @property
    def account(self) -> SesAccount:
        return self.regions.default.account

    def set_account(self, region: str | None = None, **changes: Any) -> dict:
        """E.g. `set_account(enforcement_status="SHUTDOWN", sending_enabled=False, max_send_rate=50,
        max_24_hour_send=1000, production_access_enabled=True)`; limits hold from the next message."""
        target = self.region(region)
        target.change_account(AccountChange(**changes), time.monotonic())
        return target.account.standing()

    def set_identities(self, names: list[str], region: str | None = None) -> None:
        self.region(region).set_identities(names)

    def suppress(
        self,
        address: str,
        reason: str = "BOUNCE",
        *,
        region: str | None = None,
        tenant: str | None = None,
        at: datetime | None = None,
    ) -> SuppressedDestination:
        return self.region(region).tenant_suppression_list(tenant).put(address, reason, at or datetime.now(UTC))

    def unsuppress(self, address: str, *, region: str | None = None, tenant: str | None = None) -> None:
        self.region(region).tenant_suppression_list(tenant).delete(address)

    def add_configuration_set(self, name: str, region: str | None = None, **options: Any) -> ConfigurationSet:
        """Options as SESv2's CreateConfigurationSet takes them, e.g. SuppressionOptions={...}."""
        return self.region(region).configuration_sets.create(name, options, datetime.now(UTC))

    def delete_configuration_set(self, name: str, region: str | None = None) -> None:
        self.region(region).delete_configuration_set(name)

    def add_tenant(self, name: str, region: str | None = None) -> Tenant:
        """A tenant associated with every identity and configuration set of the region."""
        target = self.region(region)
        target.add_tenant_for_everything(name, datetime.now(UTC))
        return target.tenants.get(name)

    def set_tenant_status(
        self, name: str, sending_status: str, region: str | None = None, cause: str | None = None
    ) -> Tenant:
        """The status SES manages for a tenant: DISABLED is SES pausing it, ENABLED or REINSTATED lets it send."""
        return self.region(region).tenants.set_ses_status(name, sending_status, datetime.now(UTC), cause)

    def delete_tenant(self, name: str, region: str | None = None) -> None:
        self.region(region).tenants.delete(name)

    def subscribe(self, endpoint: str, topic_arn: str | None = None) -> Subscription:
        """Subscribe an HTTP(S) endpoint; it gets a SubscriptionConfirmation and must visit its SubscribeURL."""
        assert self.publisher is not None, "start() the simulator first"
        return self.publisher.subscribe(topic_arn or self.topic_arn, endpoint)

    # --- start and stop --------------------------------------------------------------------------

    async def start(self) -> None:
        certificates = await asyncio.to_thread(
            SimulatorCertificates.load_or_create, self.settings.state_dir, self.settings.ca_file
        )
        self.signing = await asyncio.to_thread(certificates.sns_signing_identity)
        self.signing.pin_in(self.settings.pinned_cert_dir)
        self._session = aiohttp.ClientSession(
            connector=aiohttp.TCPConnector(ssl=certificates.client_context()), trust_env=False
        )
        signer = SnsSigner(self.signing.key, self.signing.url)
        self.publisher = SnsPublisher(self.topics, signer, self._session, retry_delays=self._sns_retry_delays)
        try:
            await self._start_smtp(certificates)
            await self._start_web()
            await self._start_sns_endpoint(certificates)
        except BaseException:
            await self.stop()
            raise

    async def _start_smtp(self, certificates: SimulatorCertificates) -> None:
        host = self.settings.host
        names = [
            host,
            "127.0.0.1",
            "localhost",
            *(f"email-smtp.{name}.amazonaws.com" for name in self.settings.region_names),
        ]
        tls = certificates.server_context("smtp", names)
        for seed in self.settings.regions():
            handler = SesSmtpHandler(
                self.settings.smtp_username,
                self.settings.smtp_password,
                self.regions.get(seed.name),
                self._accepted,
                max_message_bytes=self.settings.max_message_bytes,
            )
            ports = {}
            for name, port, implicit in (("smtp", seed.smtp_port, False), ("smtp_tls", seed.smtp_tls_port, True)):
                server = await start_smtp_server(
                    handler,
                    host,
                    port,
                    tls,
                    implicit_tls=implicit,
                    hostname=f"email-smtp.{seed.name}.amazonaws.com",
                    max_message_bytes=self.settings.max_message_bytes,
                    max_messages_per_session=self.settings.max_messages_per_session,
                )
                self._servers.append(server)
                ports[name] = server.sockets[0].getsockname()[1]
            self.region_ports[seed.name] = ports
        self.ports.update(self.region_ports[self.settings.region])

    async def _start_web(self) -> None:
        assert self.publisher is not None  # start() set it
        app = new_app()
        app.router.add_routes(InboxWeb(self.inbox, self.publisher, self.topic_arn).routes())
        for api in (
            SesApi(self.regions),
            SuppressionApi(self.regions),
            ConfigurationSetApi(self.regions),
            TenantApi(self.regions),
            SimulatorControl(self.regions, self.smtp_ports_of),
        ):
            app.router.add_routes(api.routes())
        self._web = HttpEndpoint(app, self.settings.host, self.settings.web_port, lambda: True)
        await self._web.start()
        self.ports["web"] = self._web.port

    async def _start_sns_endpoint(self, certificates: SimulatorCertificates) -> None:
        names = [
            *(f"sns.{name}.amazonaws.com" for name in self.settings.region_names),
            *sns_host_names(),
            "localhost",
            "127.0.0.1",
        ]
        tls: ssl.SSLContext = certificates.server_context("sns", names)
        assert self.publisher is not None and self.signing is not None  # start() set them
        self._sns_runner = web.AppRunner(
            sns_endpoint_app(self.publisher, self.signing), access_log=None, shutdown_timeout=1
        )
        await self._sns_runner.setup()
        await web.TCPSite(self._sns_runner, self.settings.host, self.settings.sns_https_port, ssl_context=tls).start()
        self.ports["sns_https"] = self._sns_runner.addresses[0][1]

    # --- what happens to an accepted message -----------------------------------------------------

    def _accepted(self, message: AcceptedMessage) -> None:
        headers = message.ses_headers
        self.inbox.keep(
            KeptMessage(
                message.ses_message_id,
                message.accepted_at,
                message.mail_from,
                message.recipients,
                message.data,
                message.region,
                headers.configuration_set,
                headers.tenant,
            )
        )
        region = self.regions.get(message.region)
        outcomes = [
            (recipient, outcome)
            for recipient in message.recipients
            if (
                outcome := reported_outcome(
                    recipient, suppressed=region.is_suppressed(recipient, headers.configuration_set, headers.tenant)
                )
            )
            is not None
        ]
        if outcomes and self.publisher is not None:
            self.publisher.in_background(self._report(region, self._sent_mail(region, message), outcomes))

    def _sent_mail(self, region: SesRegion, message: AcceptedMessage) -> SentMail:
        identity = region.account.verifying_identity(message.mail_from)
        source_arn = region.account.identity_arn(identity) if identity else ""
        return SentMail(
            message.ses_message_id,
            message.accepted_at,
            message.mail_from,
            source_arn,
            message.peer_ip,
            self.settings.aws_account,
            CALLER_IDENTITY,
            message.recipients,
            message.data,
        )

    async def _report(self, region: SesRegion, mail: SentMail, outcomes) -> None:
        """Publish what SES would report for each such recipient, in SES's order, to the region's topic."""
        assert self.publisher is not None  # it runs in the publisher's background, and stop() keeps it
        await asyncio.sleep(self.settings.notification_delay)
        for recipient, outcome in outcomes:
            for notification in notifications_for(mail, recipient, outcome, datetime.now(UTC)):
                await self.publisher.publish(region.topic_arn, json.dumps(notification, separators=(",", ":")))

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
    actual = replace(
        settings,
        smtp_port=simulator.smtp_port,
        smtp_tls_port=simulator.smtp_tls_port,
        web_port=simulator.web_port,
        sns_https_port=simulator.sns_https_port,
    )
    described = [
        (name, value)
        for name, value in actual.described()
        if not name.startswith(("POSTROOM_SIM_SMTP_PORT_", "POSTROOM_SIM_SMTP_TLS_PORT_"))
    ]
    for region in list(simulator.regions)[1:]:  # a further region's ports, as bound
        ports, suffix = simulator.smtp_ports_of(region.name), region_suffix(region.name)
        described += [
            (f"POSTROOM_SIM_SMTP_PORT_{suffix}", f"{settings.host}:{ports['smtp']} (STARTTLS, {region.name})"),
            (f"POSTROOM_SIM_SMTP_TLS_PORT_{suffix}", f"{settings.host}:{ports['smtp_tls']} (TLS, {region.name})"),
        ]
    described += [
        (f"SNS topic{'' if region is simulator.regions.default else ' ' + region.name}", region.topic_arn)
        for region in simulator.regions
    ]
    described += [
        ("CA certificate (trust it)", str(settings.ca_file)),
        ("SNS signing certificate", simulator.signing_cert_url),
    ]
    width = max(len(name) for name, _ in described) + 2
    lines = "\n".join(f"  {name:<{width}}{value}" for name, value in described)
    return (
        f"Postroom SES simulator is running (Ctrl-C stops it).\n{lines}\n"
        f"Mailbox simulator: success@, bounce@, ooto@, complaint@, suppressionlist@simulator.amazonses.com"
    )


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
    keep_aiosmtpd_errors_only()
    asyncio.run(serve_until_signalled(settings))
    return 0
