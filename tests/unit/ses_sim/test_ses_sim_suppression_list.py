from datetime import UTC, datetime, timedelta

import pytest

from services.ses_sim.errors import InvalidValue, NotFound
from services.ses_sim.suppression_list import SuppressionList, SuppressionQuery

T0 = datetime(2024, 1, 1, tzinfo=UTC)


def filled() -> SuppressionList:
    suppression_list = SuppressionList()
    suppression_list.put("a@x.test", "BOUNCE", T0)
    suppression_list.put("b@x.test", "COMPLAINT", T0 + timedelta(days=1))
    suppression_list.put("c@x.test", "BOUNCE", T0 + timedelta(days=2))
    return suppression_list


def test_addresses_match_whatever_their_case():
    suppression_list = filled()
    assert suppression_list.get("A@X.test").email_address == "a@x.test"
    assert suppression_list.suppressing("A@x.TEST", ("BOUNCE",)) is not None


def test_putting_again_changes_the_reason_and_the_time():
    suppression_list = filled()
    entry = suppression_list.put("a@x.test", "COMPLAINT", T0 + timedelta(days=5))
    assert (entry.reason, entry.last_update_time, len(suppression_list)) == ("COMPLAINT", T0 + timedelta(days=5), 3)


def test_an_entry_suppresses_only_for_the_reasons_honoured():
    suppression_list = filled()
    assert suppression_list.suppressing("b@x.test", ("BOUNCE",)) is None
    assert suppression_list.suppressing("b@x.test", ("BOUNCE", "COMPLAINT")).reason == "COMPLAINT"
    assert suppression_list.suppressing("nobody@x.test", ("BOUNCE", "COMPLAINT")) is None


@pytest.mark.parametrize(
    "query, expected",
    [
        (SuppressionQuery(), ["a@x.test", "b@x.test", "c@x.test"]),
        (SuppressionQuery(reasons=("BOUNCE",)), ["a@x.test", "c@x.test"]),
        (SuppressionQuery(start=T0 + timedelta(days=1)), ["b@x.test", "c@x.test"]),
        (SuppressionQuery(end=T0 + timedelta(days=1)), ["a@x.test", "b@x.test"]),
        (SuppressionQuery(reasons=("COMPLAINT",), start=T0 + timedelta(days=2)), []),
    ],
)
def test_listing_filters_by_reason_and_dates_inclusively(query, expected):
    entries, token = filled().page(query, None, None)
    assert [entry.email_address for entry in entries] == expected and token is None


def test_delete_and_get_of_an_absent_address_say_not_found():
    suppression_list = filled()
    suppression_list.delete("a@x.test")
    with pytest.raises(NotFound):
        suppression_list.get("a@x.test")
    with pytest.raises(NotFound):
        suppression_list.delete("a@x.test")


@pytest.mark.parametrize(
    "address, reason, field",
    [
        ("no-at-sign", "BOUNCE", "EmailAddress"),
        ("a b@x.test", "BOUNCE", "EmailAddress"),
        ("a@localhost", "BOUNCE", "EmailAddress"),
        ("a@x.test", "SPAM", "Reason"),
    ],
)
def test_bad_entries_are_refused(address, reason, field):
    with pytest.raises(InvalidValue) as refused:
        SuppressionList().put(address, reason, T0)
    assert refused.value.field == field
