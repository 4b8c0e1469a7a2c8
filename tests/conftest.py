"""Real infrastructure for every test: one nats-server per session, a fresh stream per test."""

from __future__ import annotations

import asyncio
import functools
import gc
import os
import sys
import uuid
from dataclasses import replace
from pathlib import Path

import pytest

from services.core.event_store import EventStore
from services.core.nats_server import EmbeddedNatsServer, free_port, take_ports_from
from services.core.secret_box import generate_key_spec
from services.core.settings import Ports, Settings
from tests.support.certificates import LocalCertificateAuthority
from tests.support.streams import delete_test_streams
from tests.support.workers import FAULTS_GROUP, SUITES_GROUP, worker_name, worker_ports

TEST_TOKEN = "test-api-token-0123456789"
CALL_FAILED = pytest.StashKey[bool]()
POSTGRES_URL = os.environ.get("POSTROOM_TEST_DATABASE_URL", "")
SERIAL_MODULES = {"tests/integration/dispatch/test_dispatch_nats_restart.py"}  # besides tests/e2e and `slow`


def pytest_configure(config) -> None:
    if (ports := worker_ports()) is not None:
        take_ports_from(*ports)


@pytest.hookimpl(tryfirst=True)  # before xdist's own hook, which writes each test's group into its id
def pytest_collection_modifyitems(config, items) -> None:
    root = Path(__file__).resolve().parents[1]
    for item in items:
        path = Path(item.path).resolve().relative_to(root).as_posix()
        if path.startswith("tests/e2e/"):
            item.add_marker(pytest.mark.xdist_group(SUITES_GROUP))
        elif path in SERIAL_MODULES or item.get_closest_marker("slow"):
            item.add_marker(pytest.mark.xdist_group(FAULTS_GROUP))


@pytest.hookimpl(optionalhook=True)
def pytest_xdist_node_collection_finished(node, ids) -> None:
    """xdist's scheduler reads a test's group from its id alone; were it missing, the suites would
    run beside each other without a word, so such a run stops here."""
    ungrouped = [nodeid for nodeid in ids if nodeid.startswith("tests/e2e/") and f"@{SUITES_GROUP}" not in nodeid]
    if node.config.getvalue("dist") == "loadgroup" and ungrouped:
        pytest.exit(
            f"pytest-xdist left {ungrouped[0]} (and {len(ungrouped) - 1} more) out of its xdist_group: "
            "this pytest and pytest-xdist do not group together (pytest-dev/pytest-xdist#1386)",
            returncode=pytest.ExitCode.USAGE_ERROR,
        )


@pytest.fixture(scope="session")
def nats_server(tmp_path_factory) -> EmbeddedNatsServer:
    server = EmbeddedNatsServer(free_port(), tmp_path_factory.mktemp("nats-store"))
    server.start()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def test_ca(tmp_path_factory) -> LocalCertificateAuthority:
    return LocalCertificateAuthority.create(tmp_path_factory.mktemp("ca"))


def free_ports() -> Ports:
    return Ports(
        config_grpc=free_port(),
        dispatch_grpc=free_port(),
        feedback_grpc=free_port(),
        feedback_http=free_port(),
        unsubscribe_grpc=free_port(),
        unsubscribe_http=free_port(),
        nats=0,
    )


@pytest.fixture
def settings(nats_server, tmp_path, test_ca) -> Settings:
    """Settings of an isolated suite: its own stream and subjects (like a namespace), ports and files."""
    tag = uuid.uuid4().hex[:10]
    return Settings(
        nats_url=nats_server.url,
        stream_name=f"T{tag}",
        subject_prefix=f"t{tag}",
        data_dir=tmp_path,
        api_token=TEST_TOKEN,
        secret_keys=generate_key_spec("k1"),
        public_url="https://mail.example.test",
        ports=free_ports(),
        allow_custom_smtp_host=True,
        smtp_ca_file=str(test_ca.ca_file),
        smtp_timeout=5.0,
        shutdown_grace=1.0,
        append_patience=2.0,
    )


@pytest.fixture
async def stream_store(settings):
    """An event store on the test's own stream, deleted afterwards."""
    store = await EventStore.connect(settings)
    yield store
    await delete_test_streams(store)
    await store.close()


def database_urls() -> list:
    urls = [pytest.param("sqlite", id="sqlite")]
    if POSTGRES_URL:
        urls.append(pytest.param("postgresql", id="postgresql"))
    return urls


@pytest.fixture(params=database_urls())
def read_model_settings(request, settings) -> Settings:
    """The same settings on each read-model backend: SQLite always, PostgreSQL when configured.
    PostgreSQL's database is shared by the worker's tests, so each test starts from an empty one."""
    if request.param == "sqlite":
        return settings
    url = worker_postgres_url()
    asyncio.run(drop_every_read_model(url))
    return replace(settings, database_url=url)


@functools.cache
def worker_postgres_url() -> str:
    """Looked up (and made) once per worker, not once per test."""
    return asyncio.run(worker_database(POSTGRES_URL))


async def worker_database(url: str) -> str:
    """Under xdist, this worker's own database beside the configured one (made on first use), so
    that one worker emptying its database never drops another's read models."""
    name = worker_name()
    if not name:
        return url
    from sqlalchemy import make_url, text
    from sqlalchemy.ext.asyncio import create_async_engine

    configured = make_url(url)
    own = configured.set(database=f"{configured.database}_{name}")
    engine = create_async_engine(url, isolation_level="AUTOCOMMIT")
    async with engine.connect() as conn:
        exists = await conn.scalar(text("SELECT 1 FROM pg_database WHERE datname = :name"), {"name": own.database})
        if not exists:
            await conn.execute(text(f'CREATE DATABASE "{own.database}"'))
    await engine.dispose()
    return own.render_as_string(hide_password=False)


async def drop_every_read_model(url: str) -> None:
    """Every generation's schema, the registry and any table: what a fresh database holds."""
    from sqlalchemy import text
    from services.core.database import create_engine

    engine = create_engine(url)
    async with engine.begin() as conn:
        schemas = await conn.execute(
            text("SELECT schema_name FROM information_schema.schemata WHERE schema_name ~ '_v[0-9a-f]{8}_g[0-9]+$'")
        )
        for (schema,) in schemas.all():
            await conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        await conn.execute(text("DROP SCHEMA public CASCADE"))
        await conn.execute(text("CREATE SCHEMA public"))
    await engine.dispose()


def shared_dir() -> Path:
    return Path(__file__).resolve().parents[2] / "shared"


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item, call):
    report = yield
    if report.when == "call":
        item.stash[CALL_FAILED] = report.failed
    return report


@pytest.fixture(autouse=True)
async def release_a_failed_test_while_its_loop_runs(request):
    """A failed test's traceback keeps its frames, with their gRPC calls and channels, alive past
    the close of its event loop; when the garbage collector frees them later, grpc's Cython
    finalizers run against a closed loop and can crash the whole run (a segfault seen once in
    CI, right after a failure; see grpc/grpc#31441). Free them here, while the loop still runs."""
    yield
    if request.node.stash.get(CALL_FAILED, False):
        sys.last_type = sys.last_value = sys.last_traceback = None
        gc.collect()
