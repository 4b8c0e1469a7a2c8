import pytest

from services.ses_sim.account import AccountChange, SesAccount, identities_named
from services.ses_sim.errors import InvalidValue


def account() -> SesAccount:
    return SesAccount(identities_named(["example.com"]), False, "us-east-1", "123456789012", 14.0, 50_000)


@pytest.mark.parametrize(
    "status, sending, paused",
    [("HEALTHY", True, False), ("PROBATION", True, False), ("SHUTDOWN", True, True), ("HEALTHY", False, True)],
)
def test_sending_is_paused_when_shut_down_or_switched_off(status, sending, paused):
    subject = account()
    subject.apply(AccountChange(enforcement_status=status, sending_enabled=sending))
    assert subject.sending_paused is paused


def test_a_change_sets_only_what_it_names():
    subject = account()
    subject.apply(AccountChange(max_send_rate=50, production_access_enabled=False))
    assert (subject.max_send_rate, subject.sandbox, subject.daily_quota, subject.enforcement_status) == (
        50.0,
        True,
        50_000,
        "HEALTHY",
    )


@pytest.mark.parametrize(
    "fields, bad",
    [
        ({"enforcement_status": "PAUSED", "max_24_hour_send": 5}, "enforcement_status"),
        ({"sending_enabled": "yes", "max_24_hour_send": 5}, "sending_enabled"),
        ({"max_send_rate": 0, "max_24_hour_send": 5}, "max_send_rate"),
        ({"max_send_rate": float("nan"), "max_24_hour_send": 5}, "max_send_rate"),
        ({"max_24_hour_send": -1, "max_send_rate": 2}, "max_24_hour_send"),
        ({"max_24_hour_send": 10.5, "max_send_rate": 2}, "max_24_hour_send"),
    ],
)
def test_a_bad_change_names_its_field_and_changes_nothing(fields, bad):
    subject = account()
    with pytest.raises(InvalidValue) as refused:
        subject.apply(AccountChange(**fields))
    assert refused.value.field == bad
    assert (subject.max_send_rate, subject.daily_quota) == (14.0, 50_000)


def test_identities_by_arn_belong_to_this_region_and_account():
    subject = account()
    assert subject.identity_by_arn("arn:aws:ses:us-east-1:123456789012:identity/example.com").name == "example.com"
    assert subject.identity_by_arn("arn:aws:ses:eu-west-1:123456789012:identity/example.com") is None
