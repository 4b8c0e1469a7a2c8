from dataclasses import replace

from services.ses_sim.account import SesAccount, identities_named
from services.ses_sim.sending_rules import Submission, accepted, verification_rejection

ACCOUNT = SesAccount(identities_named(("example.com", "Ops@Other.test")), False, "us-east-1", "123456789012", 14.0,
                     50_000)
SANDBOX = replace(ACCOUNT, sandbox=True)


def submission(mail_from="news@example.com", header_from=("News <news@example.com>",), to=("jane@customer.test",)):
    return Submission.of(mail_from, header_from, to)


def test_a_verified_domain_or_address_may_send():
    assert verification_rejection(submission(), ACCOUNT) is None
    assert verification_rejection(submission("ops@other.test", ("ops@other.test",)), ACCOUNT) is None
    assert verification_rejection(submission("a@mail.example.com", ("a@mail.example.com",)), ACCOUNT) is None


def test_an_unverified_envelope_sender_gets_ses_wording():
    reply = verification_rejection(submission("x@unverified.test", ()), ACCOUNT)
    assert reply == ("554 Message rejected: Email address is not verified. The following identities failed the "
                     "check in region US-EAST-1: x@unverified.test")


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
