"""Two regions in one simulator: each its own SES (account, identities, lists, sets, tenants, quota,
topic), the API picking the region a boto3 client signs for, SMTP on each region's own ports, and a
certificate for every region's SMTP host name."""

import asyncio
import json
import ssl

from services.ses_sim.main import SesSimulator
from services.ses_sim.settings import RegionOverride
from tests.integration.ses_sim.conftest import (
    call,
    control,
    email,
    error_code,
    eventually,
    send,
    ses_client,
    simulator_settings,
)


def two_regions(tmp_path, **overrides):
    return simulator_settings(
        tmp_path,
        extra_regions=("eu-west-1",),
        region_overrides=(RegionOverride("eu-west-1", verified_identities=("example.eu",)),),
        **overrides,
    )


async def test_each_region_has_its_own_account_and_lists(tmp_path):
    async with SesSimulator(two_regions(tmp_path)) as sim:
        us, eu = ses_client(sim), ses_client(sim, region="eu-west-1")
        await control(sim, "PUT", "account", {"enforcement_status": "SHUTDOWN"}, region="eu-west-1")
        assert (await call(eu, "get_account"))["EnforcementStatus"] == "SHUTDOWN"
        assert (await call(us, "get_account"))["EnforcementStatus"] == "HEALTHY"

        await call(eu, "put_suppressed_destination", EmailAddress="eu@customer.test", Reason="BOUNCE")
        await call(eu, "create_configuration_set", ConfigurationSetName="eu-only")
        await call(eu, "create_tenant", TenantName="eu-tenant")
        assert (await call(us, "list_suppressed_destinations"))["SuppressedDestinationSummaries"] == []
        assert (await call(us, "list_configuration_sets"))["ConfigurationSets"] == []
        assert (await call(us, "list_tenants"))["Tenants"] == []
        assert (await call(eu, "get_tenant", TenantName="eu-tenant"))["Tenant"]["TenantArn"].startswith(
            "arn:aws:ses:eu-west-1:"
        )

        assert [i["IdentityName"] for i in (await call(eu, "list_email_identities"))["EmailIdentities"]] == [
            "example.eu"
        ]
        assert (await call(ses_client(sim, "ses", "eu-west-1"), "list_identities"))["Identities"] == ["example.eu"]
        assert await error_code(ses_client(sim, region="ap-south-1"), "get_account") == "InvalidSignatureException"


async def test_smtp_of_the_second_region_checks_its_own_identities_and_quota(tmp_path):
    async with SesSimulator(two_regions(tmp_path)) as sim:
        eu_ports, us_ports = sim.smtp_ports_of("eu-west-1"), sim.smtp_ports_of()
        assert set(eu_ports.values()).isdisjoint(us_ports.values())
        sim.set_account(region="eu-west-1", max_24_hour_send=1)
        assert await send(sim, email(), region="eu-west-1") == (
            554,
            "Message rejected: Email address is not verified. The following identities failed the check in "
            "region EU-WEST-1: news@example.com",
        )
        eu_mail = email(sender="news@example.eu")
        assert (await send(sim, eu_mail, region="eu-west-1", implicit_tls=True))[0] == 250
        assert await send(sim, email(sender="news@example.eu"), region="eu-west-1") == (
            454,
            "Throttling failure: Daily message quota exceeded",
        )
        assert (await send(sim, email()))[0] == 250  # us-east-1's quota is its own
        assert [m.region for m in sim.inbox.newest_first()] == ["us-east-1", "eu-west-1"]
        eu_quota = (await call(ses_client(sim, region="eu-west-1"), "get_account"))["SendQuota"]
        assert (eu_quota["Max24HourSend"], eu_quota["SentLast24Hours"]) == (1.0, 1.0)


async def test_the_certificate_covers_every_region_smtp_host(tmp_path):
    async with SesSimulator(two_regions(tmp_path)) as sim:
        trusting = ssl.create_default_context(cafile=str(sim.ca_file))
        for region in ("us-east-1", "eu-west-1"):
            host = f"email-smtp.{region}.amazonaws.com"
            reader, writer = await asyncio.open_connection(
                "127.0.0.1", sim.smtp_ports_of(region)["smtp_tls"], ssl=trusting, server_hostname=host
            )
            greeting = await reader.readline()
            writer.close()
            assert greeting.startswith(f"220 {host} ".encode())


async def test_notifications_go_to_the_region_topic_signed_for_that_region(tmp_path, receiver_factory):
    async with SesSimulator(two_regions(tmp_path), sns_retry_delays=(0.05,)) as sim:
        eu_topic = "arn:aws:sns:eu-west-1:123456789012:ses-feedback"
        receiver = await receiver_factory(sim)
        sim.subscribe(receiver.url, eu_topic)
        await eventually(lambda: sim.topics.confirmed(eu_topic))
        confirmation = json.loads(receiver.of_type("SubscriptionConfirmation")[0][1])
        assert confirmation["SubscribeURL"].startswith("https://sns.eu-west-1.amazonaws.com/")

        sim.suppress("gone@customer.test", region="eu-west-1")
        assert (await send(sim, email(sender="news@example.eu", to="gone@customer.test"), region="eu-west-1"))[0] == 250
        await eventually(lambda: receiver.of_type("Notification"))
        notification = json.loads(receiver.of_type("Notification")[0][1])
        assert notification["TopicArn"] == eu_topic
        assert notification["SigningCertURL"].startswith(
            "https://sns.eu-west-1.amazonaws.com/SimpleNotificationService-"
        )
        mail = json.loads(notification["Message"])["mail"]
        assert mail["sourceArn"] == "arn:aws:ses:eu-west-1:123456789012:identity/example.eu"


async def test_the_overview_names_every_region_with_its_ports_and_topic(tmp_path):
    async with SesSimulator(two_regions(tmp_path)) as sim:
        status, overview = await control(sim, "GET", "")
        assert status == 200 and overview["default_region"] == "us-east-1"
        assert [(r["name"], r["smtp_ports"], r["topic_arn"]) for r in overview["regions"]] == [
            ("us-east-1", sim.smtp_ports_of(), "arn:aws:sns:us-east-1:123456789012:ses-feedback"),
            ("eu-west-1", sim.smtp_ports_of("eu-west-1"), "arn:aws:sns:eu-west-1:123456789012:ses-feedback"),
        ]
        assert (await control(sim, "GET", "account", region="ap-south-1"))[0] == 404


async def test_identities_of_a_region_change_while_it_runs(tmp_path):
    async with SesSimulator(two_regions(tmp_path)) as sim:
        status, standing = await control(
            sim, "PUT", "identities", {"identities": ["example.com", "Ops@Other.test"]}, region="eu-west-1"
        )
        assert status == 200 and standing["verified_identities"] == ["example.com", "ops@other.test"]
        assert (await send(sim, email(), region="eu-west-1"))[0] == 250
        sim.set_identities(["example.eu"], region="eu-west-1")
        assert (await send(sim, email(), region="eu-west-1"))[0] == 554
        assert (await control(sim, "PUT", "identities", {"identities": "example.com"}))[0] == 400
