from datetime import UTC, datetime, timedelta

import pytest

from services.ses_sim.errors import AlreadyExists, InvalidValue, NotFound
from services.ses_sim.tenants import CUSTOMER_UPDATE_CAUSE, Tenants, aggregate_status, resource_type_of

NOW = datetime(2024, 1, 1, tzinfo=UTC)
IDENTITY = "arn:aws:ses:us-east-1:123456789012:identity/example.com"


@pytest.mark.parametrize(
    "customer, ses, aggregate",
    [
        (None, "ENABLED", "ENABLED"),
        ("ENABLED", "ENABLED", "ENABLED"),
        ("DISABLED", "ENABLED", "DISABLED"),
        (None, "DISABLED", "DISABLED"),
        ("REINSTATED", "DISABLED", "DISABLED"),
        ("REINSTATED", "ENABLED", "REINSTATED"),
        ("ENABLED", "REINSTATED", "REINSTATED"),
    ],
)
def test_either_side_disabling_disables_and_reinstating_needs_ses_to_allow_it(customer, ses, aggregate):
    assert aggregate_status(customer, ses) == aggregate


def test_a_new_tenant_is_enabled_with_an_arn_that_carries_its_id():
    tenant = Tenants("us-east-1", "123456789012").create("acme", NOW)
    assert tenant.arn == f"arn:aws:ses:us-east-1:123456789012:tenant/acme/{tenant.tenant_id}"
    assert tenant.tenant_id.startswith("tn-") and tenant.sending_status == "ENABLED" and tenant.may_send
    assert tenant.customer_status is None and tenant.policy == "none"


def test_ses_pausing_a_tenant_and_its_owner_setting_a_status():
    tenants = Tenants("us-east-1", "123456789012")
    tenant = tenants.create("acme", NOW)
    tenants.set_ses_status("acme", "DISABLED", NOW + timedelta(hours=1), "bounce rate 12%")
    assert not tenant.may_send and tenant.ses_status.cause == "bounce rate 12%"
    tenants.set_ses_status("acme", "ENABLED", NOW + timedelta(hours=2))
    tenants.set_customer_status(tenant.arn, "DISABLED", NOW + timedelta(hours=3))
    assert not tenant.may_send and tenant.customer_status.cause == CUSTOMER_UPDATE_CAUSE
    with pytest.raises(InvalidValue):
        tenants.set_customer_status(tenant.arn, "PAUSED", NOW)
    with pytest.raises(NotFound):
        tenants.set_customer_status(tenant.arn + "x", "ENABLED", NOW)


def test_policies_are_ses_managed_arns_of_the_region():
    tenants = Tenants("eu-west-1", "123456789012")
    tenant = tenants.create("acme", NOW)
    tenants.set_policy(tenant.arn, "arn:aws:ses:eu-west-1:aws:reputation-policy/strict")
    assert tenant.policy == "strict"
    with pytest.raises(InvalidValue):
        tenants.set_policy(tenant.arn, "arn:aws:ses:us-east-1:aws:reputation-policy/strict")


def test_names_are_unique_and_follow_ses_rules():
    tenants = Tenants("us-east-1", "123456789012")
    tenants.create("acme_1-a", NOW)
    with pytest.raises(AlreadyExists):
        tenants.create("acme_1-a", NOW)
    for bad in ("", "a b", "x" * 65, None):
        with pytest.raises(InvalidValue):
            tenants.create(bad, NOW)
    with pytest.raises(InvalidValue):
        tenants.create("scoped", NOW, suppression={"SuppressionScope": "GLOBAL"})


def test_associations_are_kept_once_and_listed_by_type():
    tenants = Tenants("us-east-1", "123456789012")
    tenants.create("acme", NOW)
    tenants.associate("acme", IDENTITY, NOW)
    with pytest.raises(AlreadyExists):
        tenants.associate("acme", IDENTITY, NOW)
    assert tenants.resource_page("acme", {"RESOURCE_TYPE": "CONFIGURATION_SET"}, None, None)[0] == []
    assert tenants.resource_page("acme", {"RESOURCE_TYPE": "EMAIL_IDENTITY"}, None, None)[0] == [IDENTITY]
    assert [t.name for t in tenants.tenants_of_page(IDENTITY, None, None)[0]] == ["acme"]
    tenants.dissociate("acme", IDENTITY)
    with pytest.raises(NotFound):
        tenants.dissociate("acme", IDENTITY)


def test_listing_filters_by_name_and_status():
    tenants = Tenants("us-east-1", "123456789012")
    for name in ("alpha", "beta", "alphabet"):
        tenants.create(name, NOW)
    tenants.set_ses_status("beta", "DISABLED", NOW)
    assert [t.name for t in tenants.page({"TENANT_NAME_CONTAINS": "alpha"}, None, None)[0]] == ["alpha", "alphabet"]
    assert [t.name for t in tenants.page({"SENDING_STATUS": "DISABLED"}, None, None)[0]] == ["beta"]
    with pytest.raises(InvalidValue):
        tenants.page({"COLOUR": "red"}, None, None)


@pytest.mark.parametrize(
    "arn, kind",
    [
        (IDENTITY, "EMAIL_IDENTITY"),
        ("arn:aws:ses:us-east-1:1:configuration-set/s", "CONFIGURATION_SET"),
        ("arn:aws:ses:us-east-1:1:template/t", "EMAIL_TEMPLATE"),
        ("arn:aws:sns:us-east-1:1:topic", None),
        ("nonsense", None),
    ],
)
def test_resource_types_come_from_the_arn(arn, kind):
    assert resource_type_of(arn) == kind
