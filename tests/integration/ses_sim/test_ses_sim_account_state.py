"""The account's standing, set by a test while the simulator runs, as GetAccount, SES v1 and the SMTP
interface all report it."""

import aiosmtplib
import pytest
from botocore.exceptions import ClientError

from services.ses_sim.main import SesSimulator
from tests.integration.ses_sim.conftest import call, control, email, send, ses_client, simulator_settings, smtp_session

PAUSED = (
    "Message rejected: Sending paused for this account. For more information, please check the inbox of the "
    "email address associated with your AWS account."
)


async def test_get_account_answers_what_the_control_endpoint_set(simulator):
    status, standing = await control(
        simulator,
        "PUT",
        "account",
        {
            "enforcement_status": "PROBATION",
            "max_send_rate": 50,
            "max_24_hour_send": 1000,
            "production_access_enabled": False,
        },
    )
    assert status == 200 and standing["enforcement_status"] == "PROBATION"
    account = await call(ses_client(simulator), "get_account")
    assert (account["EnforcementStatus"], account["SendingEnabled"], account["ProductionAccessEnabled"]) == (
        "PROBATION",
        True,
        False,
    )
    assert account["SendQuota"] == {"Max24HourSend": 1000.0, "MaxSendRate": 50.0, "SentLast24Hours": 0.0}
    quota = await call(ses_client(simulator, "ses"), "get_send_quota")
    assert (quota["Max24HourSend"], quota["MaxSendRate"]) == (1000.0, 50.0)
    assert (await control(simulator, "GET", "account"))[1] == standing


async def test_a_shut_down_account_gets_its_mail_refused_until_it_is_healthy_again(simulator):
    simulator.set_account(enforcement_status="SHUTDOWN")
    assert (await call(ses_client(simulator), "get_account"))["EnforcementStatus"] == "SHUTDOWN"
    assert await send(simulator, email()) == (554, PAUSED)
    assert (await call(ses_client(simulator, "ses"), "get_account_sending_enabled"))["Enabled"] is False
    simulator.set_account(enforcement_status="HEALTHY")
    assert (await send(simulator, email()))[0] == 250
    assert len(simulator.inbox) == 1


async def test_put_account_sending_attributes_switches_sending_off_and_on(simulator):
    v2 = ses_client(simulator)
    await call(v2, "put_account_sending_attributes", SendingEnabled=False)
    assert (await call(v2, "get_account"))["SendingEnabled"] is False
    assert await send(simulator, email(), implicit_tls=True) == (554, PAUSED)
    await call(ses_client(simulator, "ses"), "update_account_sending_enabled", Enabled=True)
    assert (await call(v2, "get_account"))["SendingEnabled"] is True
    assert (await send(simulator, email()))[0] == 250


async def test_a_lowered_rate_holds_for_the_next_message_on_an_open_session(tmp_path):
    async with SesSimulator(simulator_settings(tmp_path, max_send_rate=100)) as sim:
        client = await smtp_session(sim)
        try:
            await client.send_message(email())
            sim.set_account(max_send_rate=1)
            with pytest.raises(aiosmtplib.SMTPResponseException) as throttled:
                for _ in range(3):
                    await client.send_message(email())
            assert (throttled.value.code, throttled.value.message) == (
                454,
                "Throttling failure: Maximum sending rate exceeded",
            )
        finally:
            client.close()


async def test_a_lowered_daily_quota_holds_at_once_and_counts_what_was_sent(simulator):
    await send(simulator, email(to="a@customer.test, b@customer.test"))
    await control(simulator, "PUT", "account", {"max_24_hour_send": 3})
    assert (await send(simulator, email()))[0] == 250
    assert await send(simulator, email()) == (454, "Throttling failure: Daily message quota exceeded")
    assert (await call(ses_client(simulator), "get_account"))["SendQuota"]["SentLast24Hours"] == 3.0


@pytest.mark.parametrize(
    "body, field",
    [
        ({"enforcement_status": "PAUSED"}, "enforcement_status"),
        ({"max_send_rate": 0}, "max_send_rate"),
        ({"max_24_hour_send": "lots"}, "max_24_hour_send"),
        ({"sending_enabled": "no"}, "sending_enabled"),
        ({"colour": "red"}, "colour"),
    ],
)
async def test_bad_account_changes_are_refused_and_change_nothing(simulator, body, field):
    status, answer = await control(simulator, "PUT", "account", {"max_send_rate": 2, **body})
    assert status == 400 and answer["field"] == field
    assert simulator.account.max_send_rate == 14.0


async def test_put_account_sending_attributes_refuses_a_non_boolean(simulator):
    with pytest.raises(ClientError) as refused:
        await call(ses_client(simulator, validate=False), "put_account_sending_attributes", SendingEnabled="yes")
    assert refused.value.response["Error"]["Code"] == "BadRequestException"
    assert (await call(ses_client(simulator), "get_account"))["SendingEnabled"] is True
