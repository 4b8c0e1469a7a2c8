from datetime import UTC, datetime

import pytest

from services.ses_sim.account import AccountChange
from services.ses_sim.errors import NotFound
from services.ses_sim.regions import Regions, UnservedRegion, region_from_authorization
from services.ses_sim.sending_rules import RATE_EXCEEDED
from services.ses_sim.settings import RegionOverride, SimulatorSettings

NOW = datetime(2024, 1, 1, tzinfo=UTC)
SIGNED = (
    "AWS4-HMAC-SHA256 Credential=AKIAEXAMPLE/20240101/eu-west-1/ses/aws4_request, "
    "SignedHeaders=host;x-amz-date, Signature=abc"
)


def regions(**settings) -> Regions:
    return Regions.from_settings(SimulatorSettings(extra_regions=("eu-west-1",), **settings), now=NOW, clock=0.0)


def test_the_region_is_the_credential_scopes():
    assert region_from_authorization(SIGNED) == "eu-west-1"
    assert region_from_authorization("Bearer x") is None and region_from_authorization("") is None
    served = regions()
    assert served.signed_for(SIGNED).name == "eu-west-1"
    assert served.signed_for("AWS4-HMAC-SHA256 unparseable").name == "us-east-1"
    with pytest.raises(UnservedRegion):
        served.signed_for(SIGNED.replace("eu-west-1", "ap-south-1"))


def test_seeds_apply_to_every_region_unless_a_region_has_its_own():
    served = regions(
        suppressed=(("a@x.test", "BOUNCE"),),
        configuration_sets=("cs",),
        tenants=("acme",),
        region_overrides=(RegionOverride("eu-west-1", verified_identities=("example.eu",), suppressed=()),),
    )
    us, eu = served.get("us-east-1"), served.get("eu-west-1")
    assert len(us.suppression_list) == 1 and len(eu.suppression_list) == 0
    assert [i.name for i in eu.account.identities] == ["example.eu"]
    assert eu.topic_arn == "arn:aws:sns:eu-west-1:123456789012:ses-feedback"
    assert set(eu.tenants.get("acme").resources) == {
        "arn:aws:ses:eu-west-1:123456789012:identity/example.eu",
        "arn:aws:ses:eu-west-1:123456789012:configuration-set/cs",
    }


def test_an_account_change_resizes_the_limits_at_once():
    region = regions().default
    region.change_account(AccountChange(max_send_rate=1), clock=0.0)
    assert region.limits.admit(1, 0.0) is None
    assert region.limits.admit(1, 0.1) == RATE_EXCEEDED


def test_which_suppression_list_and_reasons_a_message_meets():
    region = regions().default
    region.suppression_list.put("b@x.test", "BOUNCE", NOW)
    region.configuration_sets.create("complaints", {"SuppressionOptions": {"SuppressedReasons": ["COMPLAINT"]}}, NOW)
    region.tenants.create("own", NOW, suppression={"SuppressionScope": "TENANT", "SuppressedReasons": ["BOUNCE"]})
    region.tenants.get("own").suppression_list.put("t@x.test", "BOUNCE", NOW)
    assert region.is_suppressed("b@x.test", None, None)
    assert not region.is_suppressed("b@x.test", "complaints", None)
    assert not region.is_suppressed("b@x.test", None, "own") and region.is_suppressed("t@x.test", "complaints", "own")
    assert not region.is_suppressed("t@x.test", None, None)


def test_associating_needs_a_resource_of_this_region():
    region = regions().default
    region.tenants.create("acme", NOW)
    region.associate("acme", "arn:aws:ses:us-east-1:123456789012:identity/example.com", NOW)
    with pytest.raises(NotFound):
        region.associate("acme", "arn:aws:ses:eu-west-1:123456789012:identity/example.com", NOW)


def test_a_deleted_resource_leaves_every_tenant():
    region = regions(configuration_sets=("cs",), tenants=("acme",)).default
    region.delete_configuration_set("cs")
    region.set_identities(["other.test"])
    assert region.tenants.get("acme").resources == {}
