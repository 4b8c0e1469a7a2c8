"""Tenants through boto3's sesv2 client (tenants, resource associations, reputation entities), the
control endpoint that plays SES pausing a tenant, and the `X-SES-TENANT` header on SMTP."""

import asyncio

from services.ses_sim.main import SesSimulator
from tests.integration.ses_sim.conftest import call, control, email, error_code, send, ses_client, simulator_settings

IDENTITY = "arn:aws:ses:us-east-1:123456789012:identity/example.com"
SET = "arn:aws:ses:us-east-1:123456789012:configuration-set/acme-mail"


async def test_create_get_list_and_delete_tenants(simulator):
    v2 = ses_client(simulator)
    created = await call(v2, "create_tenant", TenantName="acme", Tags=[{"Key": "plan", "Value": "pro"}])
    assert created["TenantArn"] == f"arn:aws:ses:us-east-1:123456789012:tenant/acme/{created['TenantId']}"
    assert created["TenantId"].startswith("tn-") and created["SendingStatus"] == "ENABLED"
    tenant = (await call(v2, "get_tenant", TenantName="acme"))["Tenant"]
    assert (tenant["TenantArn"], tenant["Tags"]) == (created["TenantArn"], [{"Key": "plan", "Value": "pro"}])
    for name in ("beta", "gamma", "delta"):
        await call(v2, "create_tenant", TenantName=name)

    pages = v2.get_paginator("list_tenants").paginate(PaginationConfig={"PageSize": 3})
    listed = [t["TenantName"] for page in await asyncio.to_thread(list, pages) for t in page["Tenants"]]
    assert listed == ["acme", "beta", "delta", "gamma"]
    assert [
        t["TenantName"] for t in (await call(v2, "list_tenants", Filter={"TENANT_NAME_CONTAINS": "ta"}))["Tenants"]
    ] == ["beta", "delta"]

    await call(v2, "delete_tenant", TenantName="beta")
    assert await error_code(v2, "get_tenant", TenantName="beta") == "NotFoundException"
    assert await error_code(v2, "delete_tenant", TenantName="beta") == "NotFoundException"
    assert await error_code(v2, "create_tenant", TenantName="acme") == "AlreadyExistsException"
    assert await error_code(v2, "create_tenant", TenantName="no spaces") == "BadRequestException"
    assert await error_code(v2, "list_tenants", NextToken="bogus") == "BadRequestException"


async def test_resources_are_associated_listed_and_dissociated(simulator):
    v2 = ses_client(simulator)
    simulator.add_configuration_set("acme-mail")
    await call(v2, "create_tenant", TenantName="acme")
    await call(v2, "create_tenant_resource_association", TenantName="acme", ResourceArn=IDENTITY)
    await call(v2, "create_tenant_resource_association", TenantName="acme", ResourceArn=SET)
    assert (
        await error_code(v2, "create_tenant_resource_association", TenantName="acme", ResourceArn=SET)
        == "AlreadyExistsException"
    )
    assert (
        await error_code(
            v2, "create_tenant_resource_association", TenantName="acme", ResourceArn=SET.replace("acme-mail", "missing")
        )
        == "NotFoundException"
    )
    assert (
        await error_code(v2, "create_tenant_resource_association", TenantName="ghost", ResourceArn=SET)
        == "NotFoundException"
    )

    resources = await call(v2, "list_tenant_resources", TenantName="acme")
    assert {(r["ResourceType"], r["ResourceArn"]) for r in resources["TenantResources"]} == {
        ("EMAIL_IDENTITY", IDENTITY),
        ("CONFIGURATION_SET", SET),
    }
    identities = await call(v2, "list_tenant_resources", TenantName="acme", Filter={"RESOURCE_TYPE": "EMAIL_IDENTITY"})
    assert [r["ResourceArn"] for r in identities["TenantResources"]] == [IDENTITY]
    holders = await call(v2, "list_resource_tenants", ResourceArn=SET)
    assert [t["TenantName"] for t in holders["ResourceTenants"]] == ["acme"]

    await call(v2, "delete_tenant_resource_association", TenantName="acme", ResourceArn=SET)
    assert (
        await error_code(v2, "delete_tenant_resource_association", TenantName="acme", ResourceArn=SET)
        == "NotFoundException"
    )
    assert (await call(v2, "list_resource_tenants", ResourceArn=SET))["ResourceTenants"] == []


async def test_a_tenant_is_a_reputation_entity_with_two_statuses(simulator):
    v2 = ses_client(simulator)
    arn = (await call(v2, "create_tenant", TenantName="acme"))["TenantArn"]
    entity = (await call(v2, "get_reputation_entity", ReputationEntityType="RESOURCE", ReputationEntityReference=arn))[
        "ReputationEntity"
    ]
    assert entity["ReputationManagementPolicy"] == "arn:aws:ses:us-east-1:aws:reputation-policy/none"
    assert (entity["SendingStatusAggregate"], entity["AwsSesManagedStatus"]["Status"]) == ("ENABLED", "ENABLED")
    assert "CustomerManagedStatus" not in entity

    status, paused = await control(
        simulator, "PUT", "tenants/acme", {"sending_status": "DISABLED", "cause": "bounce rate 11%"}
    )
    assert status == 200 and paused["sending_status"] == "DISABLED"
    entity = (await call(v2, "get_reputation_entity", ReputationEntityType="RESOURCE", ReputationEntityReference=arn))[
        "ReputationEntity"
    ]
    assert (
        entity["AwsSesManagedStatus"]["Cause"] == "bounce rate 11%" and entity["SendingStatusAggregate"] == "DISABLED"
    )
    assert (await call(v2, "get_tenant", TenantName="acme"))["Tenant"]["SendingStatus"] == "DISABLED"

    simulator.set_tenant_status("acme", "ENABLED")
    await call(
        v2,
        "update_reputation_entity_customer_managed_status",
        ReputationEntityType="RESOURCE",
        ReputationEntityReference=arn,
        SendingStatus="REINSTATED",
    )
    entity = (await call(v2, "list_reputation_entities", Filter={"SENDING_STATUS": "REINSTATED"}))[
        "ReputationEntities"
    ][0]
    assert entity["CustomerManagedStatus"]["Cause"] == "Status manually updated."
    await call(
        v2,
        "update_reputation_entity_policy",
        ReputationEntityType="RESOURCE",
        ReputationEntityReference=arn,
        ReputationEntityPolicy="arn:aws:ses:us-east-1:aws:reputation-policy/strict",
    )
    assert (await call(v2, "get_reputation_entity", ReputationEntityType="RESOURCE", ReputationEntityReference=arn))[
        "ReputationEntity"
    ]["ReputationManagementPolicy"].endswith("/strict")

    assert (
        await error_code(
            v2, "get_reputation_entity", ReputationEntityType="RESOURCE", ReputationEntityReference=arn + "x"
        )
        == "NotFoundException"
    )
    assert (
        await error_code(
            v2,
            "update_reputation_entity_policy",
            ReputationEntityType="RESOURCE",
            ReputationEntityReference=arn,
            ReputationEntityPolicy="arn:aws:ses:::nope",
        )
        == "BadRequestException"
    )
    assert (
        await error_code(
            ses_client(simulator, validate=False),
            "update_reputation_entity_customer_managed_status",
            ReputationEntityType="RESOURCE",
            ReputationEntityReference=arn,
            SendingStatus="PAUSED",
        )
        == "BadRequestException"
    )


async def test_a_tenant_suppression_list_of_its_own(simulator):
    v2 = ses_client(simulator)
    await call(
        v2,
        "create_tenant",
        TenantName="acme",
        SuppressionAttributes={"SuppressionScope": "TENANT", "SuppressedReasons": ["BOUNCE"]},
    )
    await call(v2, "put_suppressed_destination", EmailAddress="t@customer.test", Reason="BOUNCE", TenantName="acme")
    own = await call(v2, "list_suppressed_destinations", TenantName="acme")
    assert [e["EmailAddress"] for e in own["SuppressedDestinationSummaries"]] == ["t@customer.test"]
    assert (await call(v2, "list_suppressed_destinations"))["SuppressedDestinationSummaries"] == []
    found = await call(v2, "get_suppressed_destination", EmailAddress="t@customer.test", TenantName="acme")
    assert found["SuppressedDestination"]["TenantName"] == "acme"
    await call(v2, "put_tenant_suppression_attributes", TenantName="acme", SuppressionScope="ACCOUNT")
    assert (await call(v2, "get_tenant", TenantName="acme"))["Tenant"]["SuppressionAttributes"][
        "SuppressionScope"
    ] == "ACCOUNT"


async def test_smtp_honours_the_tenant_header(tmp_path):
    settings = simulator_settings(tmp_path, configuration_sets=("acme-mail",), tenants=("acme",))
    async with SesSimulator(settings) as sim:
        code, _ = await send(sim, email(X_SES_TENANT="acme", X_SES_CONFIGURATION_SET="acme-mail"))
        assert code == 250
        [kept] = sim.inbox.newest_first()
        assert (kept.tenant, kept.configuration_set) == ("acme", "acme-mail") and b"X-SES-TENANT" not in kept.data

        assert await send(sim, email(X_SES_TENANT="ghost")) == (554, "Message rejected: Tenant <ghost> does not exist.")
        await call(ses_client(sim), "create_tenant", TenantName="bare")
        assert await send(sim, email(X_SES_TENANT="bare")) == (
            554,
            f"Message rejected: Resource <{IDENTITY}> is not associated with tenant <bare>.",
        )
        await control(sim, "PUT", "tenants/acme", {"sending_status": "DISABLED"})
        assert await send(sim, email(X_SES_TENANT="acme")) == (
            554,
            "Message rejected: Sending paused for tenant <acme>.",
        )
        assert (await send(sim, email()))[0] == 250  # the rest of the account keeps sending
        await control(sim, "PUT", "tenants/acme", {"sending_status": "ENABLED"})
        assert (await send(sim, email(X_SES_TENANT="acme")))[0] == 250


async def test_control_endpoint_lists_creates_and_deletes_tenants(simulator):
    simulator.add_configuration_set("acme-mail")
    status, created = await control(simulator, "PUT", "tenants/acme")
    assert status == 201 and set(created["resources"]) == {IDENTITY, SET}
    assert (await control(simulator, "PUT", "tenants/acme", {"sending_status": "PAUSED"}))[0] == 400
    assert (await control(simulator, "PUT", "tenants/new-one", {"sending_status": "PAUSED"}))[0] == 400
    assert [t["name"] for t in (await control(simulator, "GET", "tenants"))[1]["tenants"]] == ["acme"]
    assert (await control(simulator, "DELETE", "tenants/acme"))[0] == 200
    assert (await control(simulator, "DELETE", "tenants/acme"))[0] == 404
