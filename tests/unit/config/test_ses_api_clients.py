"""Clients for providers' SES API keys come from one botocore session, which parses each SES model once."""

from concurrent.futures import ThreadPoolExecutor

from services.config.ses_api_clients import SesApiClients, SesApiTarget


def target(key: str, region: str = "us-east-1") -> SesApiTarget:
    return SesApiTarget(region, key, f"secret-of-{key}", "http://127.0.0.1:9")


def test_each_target_gets_its_own_keys_region_and_endpoint():
    clients = SesApiClients(target("AKIAONE", "eu-west-1"))
    assert clients.v2.meta.region_name == "eu-west-1"
    assert clients.v2.meta.endpoint_url == "http://127.0.0.1:9"
    assert clients.v2._get_credentials().access_key == "AKIAONE"


def test_every_target_shares_the_parsed_sesv2_model():
    # A session per call parsed SESv2's model (about 11 MB) again for each call, and kept it.
    first, second = SesApiClients(target("AKIAONE")), SesApiClients(target("AKIATWO"))
    assert first.v2.meta.service_model._service_description is second.v2.meta.service_model._service_description


def test_ses_v1_is_made_only_when_a_call_falls_back_to_it():
    clients = SesApiClients(target("AKIAONE"))
    assert "v1" not in vars(clients)
    assert clients.v1.meta.service_model.service_name == "ses"
    assert clients.v1 is clients.v1


def test_clients_can_be_made_from_many_worker_threads_at_once():
    with ThreadPoolExecutor(8) as pool:
        made = list(pool.map(lambda n: SesApiClients(target(f"AKIA{n:04d}")), range(32)))
    assert sorted(c.v2._get_credentials().access_key for c in made) == sorted(f"AKIA{n:04d}" for n in range(32))
