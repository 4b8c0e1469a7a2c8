"""SNS from the simulator: the subscription handshake, then signed SES notifications that the
feedback service's own parser and verifier accept, with the certificate from the pinned directory."""

import asyncio
import json

import aiohttp

from services.feedback.ses_feedback import Bounce, Complaint, Delivery, parse_ses_feedback
from services.feedback.sns_message import SnsMessageType, parse_sns_message
from services.feedback.sns_verifier import PinnedCertificateDirectory, SnsSignatureVerifier
from tests.integration.ses_sim.conftest import email, eventually, send


def verifier(sim) -> SnsSignatureVerifier:
    return SnsSignatureVerifier(PinnedCertificateDirectory(sim.settings.pinned_cert_dir))


async def test_a_bounce_arrives_signed_and_verifies_with_the_pinned_certificate(simulator, receiver_factory):
    receiver = await receiver_factory(simulator)
    simulator.subscribe(receiver.url)
    await eventually(lambda: simulator.topics.confirmed(simulator.topic_arn))

    code, reply = await send(simulator, email(to="bounce@simulator.amazonses.com", X_Postroom_Dispatch_Id="d-42"))
    assert code == 250
    await eventually(lambda: receiver.of_type("Notification"))

    [(headers, body)] = receiver.of_type("Notification")
    assert headers["Content-Type"] == "text/plain; charset=UTF-8"
    assert headers["x-amz-sns-topic-arn"] == simulator.topic_arn
    assert headers["x-amz-sns-subscription-arn"].startswith(simulator.topic_arn + ":")
    message = parse_sns_message(body, headers)
    assert message.signature_version == "2" and message.signing_cert_url == simulator.signing_cert_url
    assert message.timestamp_text.endswith("Z") and len(message.timestamp_text) == 24
    assert headers["x-amz-sns-message-id"] == message.message_id
    await verifier(simulator).verify(message)

    [bounce] = parse_ses_feedback(message.message)
    assert isinstance(bounce, Bounce) and bounce.is_permanent and bounce.bounce_subtype == "General"
    assert f"Ok {bounce.ses_message_id}" == reply and bounce.dispatch_id == "d-42"


async def test_nothing_is_sent_before_the_subscription_is_confirmed(simulator, receiver_factory):
    receiver = await receiver_factory(simulator, confirm=False)
    pending = simulator.subscribe(receiver.url)
    await eventually(lambda: receiver.of_type("SubscriptionConfirmation"))
    [(headers, body)] = receiver.received
    confirmation = parse_sns_message(body, headers)
    assert confirmation.type is SnsMessageType.SUBSCRIPTION_CONFIRMATION
    assert confirmation.subscribe_url.startswith("https://sns.us-east-1.amazonaws.com/?Action=ConfirmSubscription")
    await verifier(simulator).verify(confirmation)

    await send(simulator, email(to="success@simulator.amazonses.com"))
    await asyncio.sleep(0.3)
    assert len(receiver.received) == 1 and not pending.confirmed

    answer = await receiver.visit_subscribe_url(0)
    assert f"<SubscriptionArn>{pending.arn}</SubscriptionArn>" in answer and pending.confirmed
    await send(simulator, email(to="success@simulator.amazonses.com"))
    await eventually(lambda: receiver.of_type("Notification"))
    [(_, body)] = receiver.of_type("Notification")
    [delivery] = parse_ses_feedback(json.loads(body)["Message"])
    assert isinstance(delivery, Delivery)


async def test_a_complaint_is_reported_after_its_delivery_to_every_confirmed_endpoint(simulator, receiver_factory):
    receivers = [await receiver_factory(simulator) for _ in range(2)]
    for receiver in receivers:
        simulator.subscribe(receiver.url)
    await eventually(lambda: len(simulator.topics.confirmed(simulator.topic_arn)) == 2)
    await send(simulator, email(to="complaint+x@simulator.amazonses.com"))
    for receiver in receivers:
        await eventually(lambda receiver=receiver: len(receiver.of_type("Notification")) == 2)
        kinds = [
            type(parse_ses_feedback(json.loads(body)["Message"])[0]) for _, body in receiver.of_type("Notification")
        ]
        assert kinds == [Delivery, Complaint]


async def test_a_failing_endpoint_is_retried(simulator, receiver_factory):
    receiver = await receiver_factory(simulator)
    simulator.subscribe(receiver.url)
    await eventually(lambda: simulator.topics.confirmed(simulator.topic_arn))
    receiver.failures_to_answer = 2
    await send(simulator, email(to="bounce@simulator.amazonses.com"))
    await eventually(lambda: receiver.of_type("Notification"))
    assert receiver.refused == [receiver.of_type("Notification")[0][1]] * 2


async def test_subscribing_through_the_api_and_unsubscribing_through_the_unsubscribe_url(simulator, receiver_factory):
    receiver = await receiver_factory(simulator)
    async with aiohttp.ClientSession() as client:
        async with client.post(f"{simulator.web_url}/api/subscriptions", json={"endpoint": receiver.url}) as answer:
            assert answer.status == 201 and (await answer.json())["confirmed"] is False
        async with client.post(f"{simulator.web_url}/api/subscriptions", json={"endpoint": "ftp://x"}) as answer:
            assert answer.status == 400
    await eventually(lambda: simulator.topics.confirmed(simulator.topic_arn))
    await send(simulator, email(to="success@simulator.amazonses.com"))
    await eventually(lambda: receiver.of_type("Notification"))
    unsubscribe_url = json.loads(receiver.of_type("Notification")[0][1])["UnsubscribeURL"]
    async with receiver._session.get(unsubscribe_url) as answer:
        assert answer.status == 200
    await eventually(lambda: receiver.of_type("UnsubscribeConfirmation"))
    assert simulator.topics.all() == []
