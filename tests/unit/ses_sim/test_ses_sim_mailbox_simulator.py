import pytest

from services.ses_sim.mailbox_simulator import is_simulator_address, mailbox_of, reported_outcome, simulated_outcome


@pytest.mark.parametrize(
    "address, kinds",
    [
        ("success@simulator.amazonses.com", ("Delivery",)),
        ("ooto@simulator.amazonses.com", ("Delivery",)),
        ("complaint@simulator.amazonses.com", ("Delivery", "Complaint")),
        ("bounce@simulator.amazonses.com", ("Bounce",)),
        ("suppressionlist@simulator.amazonses.com", ("Bounce",)),
    ],
)
def test_each_simulator_address_produces_what_ses_documents(address, kinds):
    assert simulated_outcome(address).notification_types == kinds


def test_bounce_is_a_permanent_general_bounce_with_a_dsn_diagnostic():
    bounce = simulated_outcome("bounce@simulator.amazonses.com").bounce
    assert (bounce.bounce_type, bounce.bounce_subtype, bounce.status) == ("Permanent", "General", "5.1.1")
    assert bounce.diagnostic_code.startswith("smtp; 550 5.1.1")


def test_suppression_list_bounce_says_so():
    bounce = simulated_outcome("suppressionlist@simulator.amazonses.com").bounce
    assert (bounce.bounce_type, bounce.bounce_subtype) == ("Permanent", "OnAccountSuppressionList")


def test_complaint_is_abuse_and_ooto_replies():
    assert simulated_outcome("complaint@simulator.amazonses.com").complaint_feedback_type == "abuse"
    assert simulated_outcome("ooto@simulator.amazonses.com").sends_auto_reply


@pytest.mark.parametrize(
    "address",
    ["bounce+order-42@simulator.amazonses.com", "Bounce+x@Simulator.AmazonSES.com", " bounce@simulator.amazonses.com "],
)
def test_labels_and_case_do_not_matter(address):
    assert mailbox_of(address) == "bounce"


@pytest.mark.parametrize(
    "address",
    [
        "bounce@example.com",
        "nobody@simulator.amazonses.com",
        "simulator.amazonses.com",
        "bounce@simulator.amazonses.com.evil.test",
        "",
    ],
)
def test_other_addresses_are_not_simulated(address):
    assert simulated_outcome(address) is None
    assert not is_simulator_address(address)


def test_a_suppressed_address_bounces_off_the_list_but_the_mailbox_simulator_answers_first():
    assert reported_outcome("gone@customer.test", suppressed=True).bounce.bounce_subtype == "OnAccountSuppressionList"
    assert reported_outcome("gone@customer.test", suppressed=False) is None
    assert reported_outcome("success@simulator.amazonses.com", suppressed=True).delivered
