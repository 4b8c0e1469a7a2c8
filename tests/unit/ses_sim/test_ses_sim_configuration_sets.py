from datetime import UTC, datetime

import pytest

from services.ses_sim.configuration_sets import ConfigurationSets
from services.ses_sim.errors import AlreadyExists, InvalidValue, NotFound

NOW = datetime(2024, 1, 1, tzinfo=UTC)


def sets() -> ConfigurationSets:
    return ConfigurationSets("eu-west-1", "123456789012")


def test_a_set_answers_its_options_over_ses_defaults():
    created = sets().create("marketing", {"SendingOptions": {"SendingEnabled": False}}, NOW)
    described = created.described()
    assert described["SendingOptions"] == {"SendingEnabled": False}
    assert described["DeliveryOptions"] == {"TlsPolicy": "OPTIONAL"} and described["Tags"] == []
    assert created.suppressed_reasons is None


def test_suppression_options_name_the_reasons_honoured():
    created = sets().create("s", {"SuppressionOptions": {"SuppressedReasons": []}}, NOW)
    assert created.suppressed_reasons == ()


@pytest.mark.parametrize("name", ["", "has space", "x" * 65, "dot.ted", 7])
def test_names_follow_ses_rules(name):
    with pytest.raises(InvalidValue):
        sets().create(name, {}, NOW)


@pytest.mark.parametrize(
    "options",
    [{"Colour": {}}, {"Tags": {}}, {"SendingOptions": []}, {"SuppressionOptions": {"SuppressedReasons": ["SPAM"]}}],
)
def test_unknown_or_malformed_options_are_refused(options):
    with pytest.raises(InvalidValue):
        sets().create("s", options, NOW)


def test_names_are_unique_and_arns_are_the_regions():
    registry = sets()
    created = registry.create("s", {}, NOW)
    with pytest.raises(AlreadyExists):
        registry.create("s", {}, NOW)
    arn = registry.arn(created)
    assert arn == "arn:aws:ses:eu-west-1:123456789012:configuration-set/s" and registry.by_arn(arn) is created
    assert registry.by_arn("arn:aws:ses:us-east-1:123456789012:configuration-set/s") is None
    registry.delete("s")
    with pytest.raises(NotFound):
        registry.get("s")


def test_listing_filters_by_name():
    registry = sets()
    for name in ("billing", "alerts", "marketing"):
        registry.create(name, {}, NOW)
    assert [s.name for s in registry.page("ing", None, None)[0]] == ["billing", "marketing"]
