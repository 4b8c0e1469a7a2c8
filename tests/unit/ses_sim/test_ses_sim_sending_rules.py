from dataclasses import replace
from datetime import UTC, datetime

import pytest

from services.ses_sim.account import AccountChange, SesAccount, identities_named
from services.ses_sim.regions import Regions, SesRegion
from services.ses_sim.sending_rules import (
    SENDING_PAUSED,
    Submission,
    accepted,
    message_rejection,
    verification_rejection,
)
from services.ses_sim.ses_headers import SesHeaders
from services.ses_sim.settings import SimulatorSettings

NOW = datetime(2024, 1, 1, tzinfo=UTC)

ACCOUNT = SesAccount(
    identities_named(("example.com", "Ops@Other.test")), False, "us-east-1", "123456789012", 14.0, 50_000
)
SANDBOX = replace(ACCOUNT, sandbox=True)


def submission(mail_from="news@example.com", header_from=("News <news@example.com>",), to=("jane@customer.test",)):
    return Submission.of(mail_from, header_from, to)


def test_a_verified_domain_or_address_may_send():
    assert verification_rejection(submission(), ACCOUNT) is None
    assert verification_rejection(submission("ops@other.test", ("ops@other.test",)), ACCOUNT) is None
    assert verification_rejection(submission("a@mail.example.com", ("a@mail.example.com",)), ACCOUNT) is None


def test_an_unverified_envelope_sender_gets_ses_wording():
    reply = verification_rejection(submission("x@unverified.test", ()), ACCOUNT)
    assert reply == (
        "554 Message rejected: Email address is not verified. The following identities failed the "
        "check in region US-EAST-1: x@unverified.test"
    )


def test_an_unverified_header_from_is_refused_too():
    reply = verification_rejection(submission(header_from=("Eve <eve@unverified.test>",)), ACCOUNT)
    assert reply.startswith("554 ") and reply.endswith(": eve@unverified.test")


def test_a_verified_address_does_not_verify_its_domain():
    assert verification_rejection(submission("someone@other.test", ()), ACCOUNT) is not None


def test_production_sends_to_anyone_but_the_sandbox_only_to_verified_recipients():
    assert verification_rejection(submission(to=("a@customer.test",)), ACCOUNT) is None
    reply = verification_rejection(submission(to=("a@customer.test", "b@example.com", "c@customer.test")), SANDBOX)
    assert reply.endswith("in region US-EAST-1: a@customer.test, c@customer.test")


def test_the_sandbox_lets_mailbox_simulator_addresses_through():
    assert verification_rejection(submission(to=("bounce+1@simulator.amazonses.com",)), SANDBOX) is None


def test_accepted_reply_carries_the_message_id():
    assert accepted("0100-x-000000") == "250 Ok 0100-x-000000"


def region_with(**settings) -> SesRegion:
    return Regions.from_settings(SimulatorSettings(**settings), now=NOW, clock=0.0).default


def headed(configuration_set=None, tenant=None) -> Submission:
    return Submission.of(
        "news@example.com", ("news@example.com",), ("jane@customer.test",), SesHeaders(configuration_set, tenant)
    )


@pytest.mark.parametrize("change", [AccountChange(enforcement_status="SHUTDOWN"), AccountChange(sending_enabled=False)])
def test_a_paused_account_refuses_everything_first(change):
    region = region_with()
    region.change_account(change, 0.0)
    assert message_rejection(submission("x@unverified.test", ()), region) == SENDING_PAUSED
    assert SENDING_PAUSED.startswith("554 Message rejected: Sending paused for this account.")


def test_probation_still_sends():
    region = region_with()
    region.change_account(AccountChange(enforcement_status="PROBATION"), 0.0)
    assert message_rejection(headed(), region) is None


def test_an_unknown_configuration_set_is_refused_after_the_sender_check():
    region = region_with(configuration_sets=("known",))
    assert message_rejection(headed("known"), region) is None
    assert (
        message_rejection(headed("gone"), region)
        == "554 Configuration Set does not exist: Configuration set <gone> does not exist."
    )
    assert message_rejection(
        Submission.of("x@unverified.test", (), ("j@c.test",), SesHeaders("gone")), region
    ).startswith("554 Message rejected: Email address is not verified.")


def test_a_tenant_must_exist_send_and_hold_every_resource_used():
    region = region_with(configuration_sets=("shared",), tenants=("acme",))
    assert message_rejection(headed("shared", "acme"), region) is None
    assert message_rejection(headed(None, "ghost"), region) == "554 Message rejected: Tenant <ghost> does not exist."
    region.tenants.create("bare", NOW)
    assert message_rejection(headed(None, "bare"), region) == (
        "554 Message rejected: Resource <arn:aws:ses:us-east-1:123456789012:identity/example.com> is not associated "
        "with tenant <bare>."
    )
    region.associate("bare", "arn:aws:ses:us-east-1:123456789012:identity/example.com", NOW)
    assert message_rejection(headed(None, "bare"), region) is None
    assert "configuration-set/shared" in message_rejection(headed("shared", "bare"), region)
    region.tenants.set_ses_status("acme", "DISABLED", NOW)
    assert (
        message_rejection(headed("shared", "acme"), region) == "554 Message rejected: Sending paused for tenant <acme>."
    )
