"""Pure dispatch rules: reply diagnosis, backoff, SES ids, request validation, rate shares."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from services.dispatch import domain
from services.dispatch.domain import Case, EmailRequest, Mailbox, SmtpOutcome, Verdict


@pytest.mark.parametrize(
    "code, text, verdict, case",
    [
        (250, "Ok 0100018c-abc", Verdict.DELIVERED, Case.NONE),
        (454, "Throttling failure: Maximum sending rate exceeded.", Verdict.RETRY, Case.THROTTLING),
        (454, "Throttling failure: Daily message quota exceeded.", Verdict.WAIT, Case.DAILY_QUOTA),
        (421, "Maximum message count per session exceeded", Verdict.RETRY, Case.TEMPORARY),
        (451, "Temporary service failure", Verdict.RETRY, Case.TEMPORARY),
        (535, "Authentication Credentials Invalid", Verdict.PROVIDER_DOWN, Case.INVALID_CREDENTIALS),
        (554, "Message rejected: Email address is not verified.", Verdict.FAILED, Case.UNVERIFIED_IDENTITY),
        (
            554,
            "Message rejected: Sending paused for this account. For more information, please check the inbox of the "
            "email address associated with your AWS account.",
            Verdict.WAIT,
            Case.ACCOUNT_PAUSED,
        ),
        (554, "Message rejected: Sending paused for tenant <customer-a>.", Verdict.WAIT, Case.TENANT_PAUSED),
        (552, "Message size exceeds fixed limit", Verdict.FAILED, Case.MESSAGE_TOO_LONG),
        (550, "Mailbox unavailable", Verdict.FAILED, Case.REJECTED),
    ],
)
def test_each_reply_has_a_verdict_and_a_case(code, text, verdict, case):
    diagnosis = domain.diagnose(SmtpOutcome(code, text))
    assert (diagnosis.verdict, diagnosis.case) == (verdict, case)
    assert bool(diagnosis.hint) == (verdict is not Verdict.DELIVERED)


def test_no_reply_is_dispatch_failed_in_the_product_pages_words():
    refused = domain.diagnose(SmtpOutcome(0, "Connection refused", connect_failed=True))
    dropped = domain.diagnose(SmtpOutcome(0, "connection lost"))
    assert refused.message == "Dispatch Failed: the provider could not be reached"
    assert (refused.verdict, dropped.verdict) == (Verdict.PROVIDER_DOWN, Verdict.RETRY)
    assert "Server Name and Port" in refused.hint


def test_invalid_credentials_says_smtp_credentials_not_aws_keys():
    diagnosis = domain.diagnose(SmtpOutcome(535, "Authentication Credentials Invalid"))
    assert diagnosis.message.startswith("Invalid Credentials")
    assert "SMTP credentials" in diagnosis.hint and "AWS access keys" in diagnosis.hint


@pytest.mark.parametrize(
    "reply, expected",
    [
        ("Ok 0100018c7a3f1e2d-1b2c3d4e-0000-000000", "0100018c7a3f1e2d-1b2c3d4e-0000-000000"),
        ("OK abc-123", "abc-123"),
        ("2.0.0 queued as 12345", ""),
        ("", ""),
    ],
)
def test_ses_message_id_comes_from_250_ok(reply, expected):
    assert domain.ses_message_id(reply) == expected


def test_backoff_doubles_up_to_the_cap_with_half_of_it_random():
    steps = [domain.backoff_seconds(n, base=1.0, cap=8.0, jitter=0.0) for n in range(1, 7)]
    assert steps == [0.5, 1.0, 2.0, 4.0, 4.0, 4.0]
    assert domain.backoff_seconds(3, base=1.0, cap=8.0, jitter=0.999) == pytest.approx(4.0, abs=0.01)


@given(st.integers(min_value=1, max_value=50), st.floats(min_value=0, max_value=0.9999))
def test_backoff_stays_within_half_a_step_and_a_step(attempt, jitter):
    step = min(60.0, 0.5 * 2 ** (attempt - 1))
    assert step / 2 <= domain.backoff_seconds(attempt, base=0.5, cap=60.0, jitter=jitter) <= step


def request(**overrides) -> EmailRequest:
    values = dict(
        account_id="acme", provider_id="ses-1", to=(Mailbox("bob@example.org"),), subject="Hi", text_body="Hello"
    )
    values.update(overrides)
    return EmailRequest(**values)


def fields(req: EmailRequest) -> set[str]:
    return {v.field for v in domain.request_violations(req)}


def test_a_good_request_has_no_violations():
    assert (
        domain.request_violations(
            request(
                headers=(("X-Campaign", "spring"),),
                tags=(("campaign", "spring"),),
                list_id="news",
                reply_to=Mailbox("r@example.org", "Réponse"),
            )
        )
        == []
    )


@pytest.mark.parametrize(
    "overrides, field",
    [
        ({"subject": "Hi\r\nBcc: x@example.org"}, "subject"),
        ({"subject": "Hi\nthere"}, "subject"),
        ({"to": (Mailbox("bob@example.org\n"),)}, "to[0].address"),
        ({"cc": (Mailbox("c@example.org", "C\rD"),)}, "cc[0].name"),
        ({"headers": (("X-A", "b\r\nBcc: x@example.org"),)}, "headers[X-A]"),
        ({"headers": (("Bcc", "x@example.org"),)}, "headers[Bcc]"),
        ({"headers": (("X A:", "v"),)}, "headers['X A:']"),
        ({"tags": (("bad tag", "v"),)}, "tags[bad tag]"),
        ({"tags": (("postroom-dispatch-id", "forged"),)}, "tags[postroom-dispatch-id]"),
        ({"tags": tuple((f"t{i}", "v") for i in range(50))}, "tags"),
        ({"to": ()}, "to"),
        ({"to": tuple(Mailbox(f"u{i}@example.org") for i in range(51))}, "to"),
        ({"text_body": ""}, "text_body"),
        ({"account_id": ""}, "account_id"),
        ({"subject": ""}, "subject"),
    ],
)
def test_each_problem_names_its_field(overrides, field):
    assert field in fields(request(**overrides))


def test_fifty_recipients_across_to_cc_and_bcc_are_allowed():
    fifty = tuple(Mailbox(f"u{i}@example.org") for i in range(50))
    assert domain.request_violations(request(to=fifty[:20], cc=fifty[20:40], bcc=fifty[40:])) == []
    assert "to" in fields(request(to=fifty[:20], cc=fifty[20:40], bcc=fifty[40:] + (Mailbox("x@example.org"),)))


def test_an_idempotency_key_names_one_dispatch_per_account():
    first = domain.dispatch_id_for("acme", "order-1")
    assert first == domain.dispatch_id_for("acme", "order-1")
    assert first != domain.dispatch_id_for("other", "order-1")
    assert domain.dispatch_id_for("acme", "") != domain.dispatch_id_for("acme", "")


def test_a_provider_is_paused_only_by_a_pause_after_its_last_save():
    assert domain.is_paused(paused_seq=10, saved_seq=5)
    assert not domain.is_paused(paused_seq=10, saved_seq=12)
    assert not domain.is_paused(paused_seq=0, saved_seq=3)
