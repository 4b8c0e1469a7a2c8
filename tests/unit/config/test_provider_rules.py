import pytest

from services.config.domain import (
    ProviderInput,
    callback_url,
    credentials_hint,
    host_problem,
    identity_violations,
    region_of_host,
    settings_violations,
    tls_mode,
    with_defaults,
)

VALID = ProviderInput(
    name="SES",
    smtp_host="email-smtp.eu-west-1.amazonaws.com",
    smtp_port=587,
    smtp_username="AKIAEXAMPLE",
    smtp_password="pw",
    from_address="a@example.com",
)


def problems(**changes) -> set[str]:
    from dataclasses import replace

    return {
        v.field
        for v in settings_violations(
            replace(VALID, **changes), password_stored=False, secret_key_stored=False, allow_custom_host=False
        )
    }


def test_a_valid_provider_has_no_problems():
    assert problems() == set()


@pytest.mark.parametrize(
    "host",
    [
        "email-smtp.us-east-1.amazonaws.com",
        "email-smtp-fips.us-gov-west-1.amazonaws.com",
        "email-smtp.ap-southeast-2.amazonaws.com",
    ],
)
def test_ses_hosts_are_accepted(host):
    assert host_problem(host, allow_custom_host=False) is None


@pytest.mark.parametrize(
    "host",
    [
        "smtp.gmail.com",
        "email-smtp.us-east-1.amazonaws.com.evil.com",
        "email-smtp.us-east-1.amazonaws.com\n",
        "EMAIL-SMTP.US-EAST-1.AMAZONAWS.COM.",
        "",
    ],
)
def test_other_hosts_are_refused_unless_allowed(host):
    assert host_problem(host, allow_custom_host=False)


def test_custom_hosts_need_the_override_and_still_a_hostname():
    assert host_problem("smtp.internal.example", allow_custom_host=True) is None
    assert host_problem("bad host", allow_custom_host=True)


@pytest.mark.parametrize(
    "port,mode", [(25, "STARTTLS"), (587, "STARTTLS"), (2587, "STARTTLS"), (465, "TLS"), (2465, "TLS")]
)
def test_ports_and_their_tls_modes(port, mode):
    assert problems(smtp_port=port) == set()
    assert tls_mode(port) == mode


def test_a_region_that_contradicts_the_host_is_refused():
    assert problems(region="us-east-1") == {"settings.region"}
    assert problems(region="eu-west-1") == set()


def test_defaults_fill_region_rate_and_connections():
    filled = with_defaults(VALID)
    assert (filled.region, filled.max_send_rate, filled.max_connections) == ("eu-west-1", 14.0, 10)
    assert region_of_host("smtp.example.com") == ""


def test_password_is_required_only_when_none_is_stored():
    from dataclasses import replace

    keep = replace(VALID, smtp_password="")
    assert not settings_violations(keep, password_stored=True, secret_key_stored=False, allow_custom_host=False)
    assert settings_violations(keep, password_stored=False, secret_key_stored=False, allow_custom_host=False)


def test_identifiers():
    assert not identity_violations("acme", "", provider_required=False)
    assert {v.field for v in identity_violations("", "", provider_required=True)} == {"account_id", "provider_id"}
    assert identity_violations("acme\n", "", provider_required=False)


def test_callback_url_and_credentials_hint():
    assert callback_url("https://x.example/", "acme", "p1") == "https://x.example/sns/acme/p1"
    assert "40 characters" in credentials_hint("x" * 40)
    assert "40 characters" not in credentials_hint("x" * 44)


KEYS = dict(ses_access_key_id="AKIAEXAMPLEKEY000001", ses_secret_access_key="secret", region="eu-west-1")


@pytest.mark.parametrize("field", ["ses_configuration_set", "ses_tenant"])
def test_ses_configuration_set_and_tenant_names(field):
    assert problems(**KEYS, **{field: "customer_a-1"}) == set()
    assert problems(**KEYS, **{field: "x" * 64}) == set()
    assert problems(**KEYS, **{field: "x" * 65}) == {f"settings.{field}"}
    assert problems(**KEYS, **{field: "no spaces"}) == {f"settings.{field}"}
    assert problems(**{field: "customer-a"}) == {f"settings.{field}"}, "cannot be checked without SES API keys"


def test_fallback_loops_are_found_through_saved_providers():
    from services.config.domain import fallback_loop

    saved = {"b": ("c",), "c": ("a",), "d": ()}
    assert fallback_loop("a", ("d", "b"), saved) == ["a", "b", "c", "a"]
    assert fallback_loop("a", ("d",), saved) is None
    assert fallback_loop("x", ("b",), saved) is None, "b and c loop only through a, not through x"
