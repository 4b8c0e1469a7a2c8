"""The account-level suppression list through boto3's sesv2 client, the control endpoint and SMTP:
mail to a suppressed address is taken, then bounced with subtype OnAccountSuppressionList."""

import json
from datetime import UTC, datetime, timedelta

from services.feedback.ses_feedback import Bounce, parse_ses_feedback
from services.feedback.sns_message import parse_sns_message
from services.feedback.sns_verifier import PinnedCertificateDirectory, SnsSignatureVerifier
from services.ses_sim.main import SesSimulator
from tests.integration.ses_sim.conftest import (
    call,
    control,
    email,
    error_code,
    eventually,
    send,
    ses_client,
    simulator_settings,
)


async def test_put_get_and_delete_a_suppressed_destination(simulator):
    v2 = ses_client(simulator)
    await call(v2, "put_suppressed_destination", EmailAddress="gone@customer.test", Reason="BOUNCE")
    found = (await call(v2, "get_suppressed_destination", EmailAddress="gone@customer.test"))["SuppressedDestination"]
    assert (found["EmailAddress"], found["Reason"]) == ("gone@customer.test", "BOUNCE")
    assert abs(found["LastUpdateTime"] - datetime.now(UTC)) < timedelta(seconds=30)
    await call(v2, "put_suppressed_destination", EmailAddress="gone@customer.test", Reason="COMPLAINT")
    assert (await call(v2, "get_suppressed_destination", EmailAddress="gone@customer.test"))["SuppressedDestination"][
        "Reason"
    ] == "COMPLAINT"
    await call(v2, "delete_suppressed_destination", EmailAddress="gone@customer.test")
    assert await error_code(v2, "get_suppressed_destination", EmailAddress="gone@customer.test") == "NotFoundException"
    assert (
        await error_code(v2, "delete_suppressed_destination", EmailAddress="gone@customer.test") == "NotFoundException"
    )


async def test_list_pages_and_filters_by_reason_and_date(simulator):
    old = datetime(2024, 1, 1, tzinfo=UTC)
    for number in range(5):
        simulator.suppress(f"b{number}@customer.test", "BOUNCE", at=old + timedelta(days=number))
    simulator.suppress("c@customer.test", "COMPLAINT", at=old + timedelta(days=10))
    v2 = ses_client(simulator)

    seen, token = [], None
    while True:
        page = await call(v2, "list_suppressed_destinations", PageSize=2, **({"NextToken": token} if token else {}))
        assert len(page["SuppressedDestinationSummaries"]) <= 2
        seen += [entry["EmailAddress"] for entry in page["SuppressedDestinationSummaries"]]
        if not (token := page.get("NextToken")):
            break
    assert seen == [f"b{n}@customer.test" for n in range(5)] + ["c@customer.test"]

    complaints = await call(v2, "list_suppressed_destinations", Reasons=["COMPLAINT"])
    assert [(e["EmailAddress"], e["Reason"]) for e in complaints["SuppressedDestinationSummaries"]] == [
        ("c@customer.test", "COMPLAINT")
    ]
    window = await call(
        v2, "list_suppressed_destinations", StartDate=old + timedelta(days=1), EndDate=old + timedelta(days=3)
    )
    assert [e["EmailAddress"] for e in window["SuppressedDestinationSummaries"]] == [
        "b1@customer.test",
        "b2@customer.test",
        "b3@customer.test",
    ]
    assert window["SuppressedDestinationSummaries"][0]["LastUpdateTime"] == old + timedelta(days=1)


async def test_bad_requests_get_ses_error_codes(simulator):
    v2, unchecked = ses_client(simulator), ses_client(simulator, validate=False)
    assert await error_code(v2, "list_suppressed_destinations", NextToken="not-a-token") == "InvalidNextTokenException"
    assert await error_code(v2, "list_suppressed_destinations", PageSize=0) == "BadRequestException"
    assert (
        await error_code(v2, "put_suppressed_destination", EmailAddress="not an address", Reason="BOUNCE")
        == "BadRequestException"
    )
    assert (
        await error_code(unchecked, "put_suppressed_destination", EmailAddress="a@b.test", Reason="SPAM")
        == "BadRequestException"
    )
    assert await error_code(unchecked, "list_suppressed_destinations", Reasons=["SPAM"]) == "BadRequestException"
    assert await error_code(v2, "list_suppressed_destinations", TenantName="nobody") == "NotFoundException"
    assert len(simulator.region().suppression_list) == 0


async def test_the_list_is_seeded_by_a_setting_and_changed_by_the_control_endpoint(tmp_path):
    settings = simulator_settings(tmp_path, suppressed=(("seeded@customer.test", "COMPLAINT"),))
    async with SesSimulator(settings) as sim:
        v2 = ses_client(sim)
        listed = await call(v2, "list_suppressed_destinations")
        assert [(e["EmailAddress"], e["Reason"]) for e in listed["SuppressedDestinationSummaries"]] == [
            ("seeded@customer.test", "COMPLAINT")
        ]
        status, added = await control(
            sim,
            "PUT",
            "suppressed/added@customer.test",
            {"reason": "BOUNCE", "last_update_time": "2024-05-01T12:00:00Z"},
        )
        assert status == 200 and added["reason"] == "BOUNCE"
        found = await call(v2, "get_suppressed_destination", EmailAddress="added@customer.test")
        assert found["SuppressedDestination"]["LastUpdateTime"] == datetime(2024, 5, 1, 12, tzinfo=UTC)
        assert (await control(sim, "PUT", "suppressed/x@customer.test", {"reason": "SPAM"}))[0] == 400
        assert (await control(sim, "DELETE", "suppressed/seeded@customer.test"))[0] == 200
        assert (await control(sim, "DELETE", "suppressed/seeded@customer.test"))[0] == 404
        assert [e["email_address"] for e in (await control(sim, "GET", "suppressed"))[1]["suppressed"]] == [
            "added@customer.test"
        ]


async def test_mail_to_a_suppressed_address_is_taken_then_bounced_off_the_list(simulator, receiver_factory):
    receiver = await receiver_factory(simulator)
    simulator.subscribe(receiver.url)
    await eventually(lambda: simulator.topics.confirmed(simulator.topic_arn))
    await call(ses_client(simulator), "put_suppressed_destination", EmailAddress="Gone@Customer.test", Reason="BOUNCE")

    code, reply = await send(
        simulator, email(to="gone@customer.test, here@customer.test", X_Postroom_Dispatch_Id="d-7")
    )
    assert code == 250
    await eventually(lambda: receiver.of_type("Notification"))
    [(headers, body)] = receiver.of_type("Notification")
    message = parse_sns_message(body, headers)
    await SnsSignatureVerifier(PinnedCertificateDirectory(simulator.settings.pinned_cert_dir)).verify(message)
    [bounce] = parse_ses_feedback(message.message)
    assert isinstance(bounce, Bounce) and bounce.is_permanent and bounce.bounce_subtype == "OnAccountSuppressionList"
    assert bounce.recipient.address == "gone@customer.test" and bounce.dispatch_id == "d-7"
    assert f"Ok {bounce.ses_message_id}" == reply
    assert "suppression list" in json.loads(message.message)["bounce"]["bouncedRecipients"][0]["diagnosticCode"]


async def test_a_configuration_set_can_narrow_which_reasons_suppress(simulator, receiver_factory):
    receiver = await receiver_factory(simulator)
    simulator.subscribe(receiver.url)
    await eventually(lambda: simulator.topics.confirmed(simulator.topic_arn))
    simulator.add_configuration_set("complaints-only", SuppressionOptions={"SuppressedReasons": ["COMPLAINT"]})
    simulator.suppress("bounced@customer.test", "BOUNCE")
    assert (await send(simulator, email(to="bounced@customer.test", X_SES_CONFIGURATION_SET="complaints-only")))[
        0
    ] == 250
    assert (await send(simulator, email(to="bounced@customer.test")))[0] == 250
    await eventually(lambda: receiver.of_type("Notification"))
    await send(simulator, email(to="success@simulator.amazonses.com"))
    await eventually(lambda: len(receiver.of_type("Notification")) == 2)
    kinds = [
        json.loads(json.loads(body)["Message"])["notificationType"] for _, body in receiver.of_type("Notification")
    ]
    assert kinds == ["Bounce", "Delivery"]  # only the message without the set was bounced off the list
