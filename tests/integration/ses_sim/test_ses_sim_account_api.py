"""The SES account API, as boto3 (and so the config service's VerifyProvider) calls it."""

import asyncio

import aiohttp
import pytest
from botocore.exceptions import ClientError

from services.config.verification import SesApiTarget, check_ses_account
from services.ses_sim.main import SesSimulator
from tests.integration.ses_sim.conftest import email, send, ses_client, simulator_settings


async def test_sesv2_answers_account_and_identities(simulator):
    await send(simulator, email(to="a@customer.test, b@customer.test"))
    v2 = ses_client(simulator, "sesv2")
    account = await asyncio.to_thread(v2.get_account)
    assert account["ProductionAccessEnabled"] is True
    assert account["SendQuota"] == {"Max24HourSend": 50000.0, "MaxSendRate": 14.0, "SentLast24Hours": 2.0}
    identity = await asyncio.to_thread(v2.get_email_identity, EmailIdentity="example.com")
    assert (identity["IdentityType"], identity["VerificationStatus"], identity["VerifiedForSendingStatus"]) == (
        "DOMAIN",
        "SUCCESS",
        True,
    )
    with pytest.raises(ClientError) as missing:
        await asyncio.to_thread(v2.get_email_identity, EmailIdentity="other.test")
    assert missing.value.response["Error"]["Code"] == "NotFoundException"
    listed = await asyncio.to_thread(v2.list_email_identities)
    assert [i["IdentityName"] for i in listed["EmailIdentities"]] == ["example.com"]


async def test_ses_v1_answers_quota_and_verification(tmp_path):
    async with SesSimulator(
        simulator_settings(tmp_path, sandbox=True, verified_identities=("example.com", "me@mine.test"))
    ) as sim:
        v1 = ses_client(sim, "ses")
        quota = await asyncio.to_thread(v1.get_send_quota)
        assert (quota["Max24HourSend"], quota["MaxSendRate"], quota["SentLast24Hours"]) == (200.0, 14.0, 0.0)
        attributes = await asyncio.to_thread(
            v1.get_identity_verification_attributes, Identities=["example.com", "me@mine.test", "nope.test"]
        )
        assert {name: a["VerificationStatus"] for name, a in attributes["VerificationAttributes"].items()} == {
            "example.com": "Success",
            "me@mine.test": "Success",
        }
        assert (await asyncio.to_thread(v1.list_identities))["Identities"] == ["example.com", "me@mine.test"]
        domains = await asyncio.to_thread(v1.list_identities, IdentityType="Domain")
        assert domains["Identities"] == ["example.com"]
        assert (await asyncio.to_thread(ses_client(sim, "sesv2").get_account))["ProductionAccessEnabled"] is False


async def test_the_config_service_check_passes_in_production_and_flags_the_sandbox(simulator, tmp_path):
    target = SesApiTarget("us-east-1", "AKIAEXAMPLE", "secret", simulator.web_url)
    checks = {check.name: check.passed for check in await check_ses_account(target, "news@example.com")}
    assert checks == {"ses_identity": True, "ses_sandbox": True}
    unverified = {c.name: c.passed for c in await check_ses_account(target, "x@unverified.test")}
    assert unverified["ses_identity"] is False
    async with SesSimulator(simulator_settings(tmp_path / "sandbox", sandbox=True)) as sandboxed:
        target = SesApiTarget("us-east-1", "AKIAEXAMPLE", "secret", sandboxed.web_url)
        assert {c.name: c.passed for c in await check_ses_account(target, "news@example.com")}["ses_sandbox"] is False


async def test_an_unsigned_request_is_refused(simulator):
    async with aiohttp.ClientSession() as http:
        async with http.get(f"{simulator.web_url}/v2/email/account") as answer:
            assert answer.status == 403
        async with http.post(f"{simulator.web_url}/", data={"Action": "GetSendQuota"}) as answer:
            assert answer.status == 403 and "MissingAuthenticationToken" in await answer.text()


async def test_a_multipart_form_is_read_like_a_url_encoded_one(simulator):
    """aiohttp gives a multipart field that is not text/* as bytes: it must read as the action it names."""
    form = aiohttp.FormData()
    form.add_field("Action", "GetSendQuota", content_type="application/octet-stream")
    async with aiohttp.ClientSession() as http:
        async with http.post(
            f"{simulator.web_url}/", data=form, headers={"Authorization": "AWS4-HMAC-SHA256 x"}
        ) as answer:
            body = await answer.text()
            assert answer.status == 200 and "<Max24HourSend>" in body, body
        form = aiohttp.FormData()
        form.add_field("Action", "NoSuchAction", content_type="application/octet-stream")
        async with http.post(
            f"{simulator.web_url}/", data=form, headers={"Authorization": "AWS4-HMAC-SHA256 x"}
        ) as answer:
            assert answer.status == 400 and "The action NoSuchAction is not valid" in await answer.text()
