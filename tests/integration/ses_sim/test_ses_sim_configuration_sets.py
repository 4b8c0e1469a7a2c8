"""Configuration sets through boto3's sesv2 client, the control endpoint and the
`X-SES-CONFIGURATION-SET` header, which SES reads, refuses when the set is unknown, and strips."""

import aiohttp

from services.ses_sim.main import SesSimulator
from tests.integration.ses_sim.conftest import call, control, email, error_code, send, ses_client, simulator_settings


async def test_create_get_list_and_delete(simulator):
    v2 = ses_client(simulator)
    await call(
        v2,
        "create_configuration_set",
        ConfigurationSetName="marketing",
        SendingOptions={"SendingEnabled": True},
        Tags=[{"Key": "team", "Value": "growth"}],
    )
    described = await call(v2, "get_configuration_set", ConfigurationSetName="marketing")
    assert described["ConfigurationSetName"] == "marketing" and described["Tags"] == [
        {"Key": "team", "Value": "growth"}
    ]
    assert described["DeliveryOptions"] == {"TlsPolicy": "OPTIONAL"}
    for name in ("transactional", "alerts", "billing"):
        await call(v2, "create_configuration_set", ConfigurationSetName=name)

    names, token = [], None
    while True:
        page = await call(v2, "list_configuration_sets", PageSize=3, **({"NextToken": token} if token else {}))
        names += page["ConfigurationSets"]
        if not (token := page.get("NextToken")):
            break
    assert names == ["alerts", "billing", "marketing", "transactional"]
    filtered = await call(v2, "list_configuration_sets", Filter={"CONFIGURATION_SET_NAME_CONTAINS": "ing"})
    assert filtered["ConfigurationSets"] == ["billing", "marketing"]

    await call(v2, "delete_configuration_set", ConfigurationSetName="alerts")
    assert await error_code(v2, "get_configuration_set", ConfigurationSetName="alerts") == "NotFoundException"
    assert await error_code(v2, "delete_configuration_set", ConfigurationSetName="alerts") == "NotFoundException"


async def test_refusals_carry_ses_error_codes(simulator):
    v2 = ses_client(simulator)
    await call(v2, "create_configuration_set", ConfigurationSetName="taken")
    assert await error_code(v2, "create_configuration_set", ConfigurationSetName="taken") == "AlreadyExistsException"
    assert await error_code(v2, "create_configuration_set", ConfigurationSetName="no spaces") == "BadRequestException"
    assert await error_code(v2, "list_configuration_sets", NextToken="bogus") == "BadRequestException"
    assert await error_code(v2, "list_configuration_sets", PageSize=0) == "BadRequestException"
    assert [s.name for s in simulator.region().configuration_sets.all()] == ["taken"]


async def test_seeded_by_a_setting_and_by_the_control_endpoint(tmp_path):
    async with SesSimulator(simulator_settings(tmp_path, configuration_sets=("seeded",))) as sim:
        status, created = await control(
            sim, "PUT", "configuration-sets/added", {"SuppressionOptions": {"SuppressedReasons": ["COMPLAINT"]}}
        )
        assert status == 201 and created["SuppressionOptions"] == {"SuppressedReasons": ["COMPLAINT"]}
        assert (await control(sim, "PUT", "configuration-sets/added"))[0] == 200
        assert (await control(sim, "PUT", "configuration-sets/bad%20name"))[0] == 400
        assert (await call(ses_client(sim), "list_configuration_sets"))["ConfigurationSets"] == ["added", "seeded"]
        assert (await control(sim, "DELETE", "configuration-sets/seeded"))[0] == 200
        assert [
            s["ConfigurationSetName"]
            for s in (await control(sim, "GET", "configuration-sets"))[1]["configuration_sets"]
        ] == ["added"]


async def test_an_unknown_set_is_refused_in_ses_words(simulator):
    code, reply = await send(simulator, email(X_SES_CONFIGURATION_SET="missing-set"))
    assert (code, reply) == (554, "Configuration Set does not exist: Configuration set <missing-set> does not exist.")
    assert len(simulator.inbox) == 0


async def test_the_header_is_stripped_from_the_copy_and_recorded_on_the_kept_message(simulator):
    simulator.add_configuration_set("newsletters")
    code, reply = await send(simulator, email(X_SES_CONFIGURATION_SET="newsletters"))
    assert code == 250
    [kept] = simulator.inbox.newest_first()
    assert b"X-SES-CONFIGURATION-SET" not in kept.data and kept.configuration_set == "newsletters"
    async with aiohttp.ClientSession() as http:
        async with http.get(f"{simulator.web_url}/api/messages") as answer:
            [summary] = (await answer.json())["messages"]
        async with http.get(f"{simulator.web_url}/") as answer:
            page = await answer.text()
    assert (summary["configuration_set"], summary["tenant"], summary["region"]) == ("newsletters", None, "us-east-1")
    assert "set: newsletters" in page
