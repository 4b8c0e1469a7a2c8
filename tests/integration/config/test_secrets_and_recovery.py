"""The SMTP password stays secret everywhere; the read model survives catch-up, kill -9 and replay."""

from __future__ import annotations

import asyncio
import io
import logging
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc

from services.config.main import build
from services.config.projection import ProviderProjection, metadata
from services.core.database import create_engine, dump_tables
from services.core.event_store import EventStore, PendingAppend
from services.core.generated.postroom.v1 import config_pb2
from services.core.log import JsonFormatter
from services.core.projection import replay
from services.core.read_model_generations import ReadModelGenerations, open_live
from services.core.runtime import start_service
from tests.conftest import TEST_TOKEN
from tests.integration.config.conftest import AUTH, provider_settings
from tests.support.events import provider_deleted, provider_saved

PASSWORD = "BSecretSmtpPassword+Do/Not=Leak0123456789"


def files_under(path: Path):
    return [p for p in path.rglob("*") if p.is_file()]


async def test_the_smtp_password_is_never_stored_or_logged_in_plain_text(settings, nats_server, starttls_smtp):
    starttls_smtp.handler.password = PASSWORD
    stream_log = io.StringIO()
    handler = logging.StreamHandler(stream_log)
    handler.setFormatter(JsonFormatter("config"))
    logging.getLogger().addHandler(handler)
    level_before = logging.getLogger().level
    logging.getLogger().setLevel(logging.DEBUG)
    try:
        service = await start_service("config", settings, build)
        async with grpc.aio.insecure_channel(f"127.0.0.1:{service.grpc_port}") as channel:
            from services.core.generated.postroom.v1 import config_pb2_grpc

            config = config_pb2_grpc.ConfigServiceStub(channel)
            saved = (
                await config.SaveProvider(
                    config_pb2.SaveProviderRequest(
                        account_id="acme", settings=provider_settings(starttls_smtp, smtp_password=PASSWORD)
                    ),
                    metadata=AUTH,
                )
            ).provider
            got = await config.GetProvider(
                config_pb2.GetProviderRequest(account_id="acme", provider_id=saved.provider_id), metadata=AUTH
            )
            try:  # a failing login: the password travels through the error path too
                await config.SaveProvider(
                    config_pb2.SaveProviderRequest(
                        account_id="acme", settings=provider_settings(starttls_smtp, smtp_password=PASSWORD + "x")
                    ),
                    metadata=AUTH,
                )
            except grpc.aio.AioRpcError as error:
                assert PASSWORD not in error.details()
        logging.getLogger("leak-probe").error("should be masked: %s", PASSWORD)
        await service.stop()
    finally:
        logging.getLogger().removeHandler(handler)
        logging.getLogger().setLevel(level_before)  # left at DEBUG, every later test logs each SMTP line

    assert PASSWORD not in str(got)
    needle = PASSWORD.encode()
    stream_files = files_under(nats_server.store_dir)
    assert stream_files and not [p for p in stream_files if needle in p.read_bytes()]
    database_files = files_under(settings.data_dir)
    assert any(p.name.startswith("config.db") for p in database_files)
    assert not [p for p in database_files if needle in p.read_bytes()]
    assert "[redacted]" in stream_log.getvalue() and PASSWORD not in stream_log.getvalue()


async def test_health_is_not_serving_until_the_read_model_has_caught_up(settings):
    store = await EventStore.connect(settings)
    for start in range(0, 20_000, 1000):
        await store.append_many(
            [PendingAppend(provider_saved("acme", f"p{i % 300}")) for i in range(start, start + 1000)]
        )
    await store.close()
    service = await start_service("config", settings, build)
    try:
        async with grpc.aio.insecure_channel(f"127.0.0.1:{service.grpc_port}") as channel:
            health = health_pb2_grpc.HealthStub(channel)
            first = await health.Check(health_pb2.HealthCheckRequest())
            assert first.status == health_pb2.HealthCheckResponse.NOT_SERVING
            for _ in range(300):
                if (
                    await health.Check(health_pb2.HealthCheckRequest())
                ).status == health_pb2.HealthCheckResponse.SERVING:
                    break
                await asyncio.sleep(0.05)
            else:
                raise AssertionError("never became SERVING")
    finally:
        await service.stop()


def service_environment(settings, database_url: str) -> dict[str, str]:
    return dict(
        os.environ,
        POSTROOM_NATS_URL=settings.nats_url,
        POSTROOM_STREAM=settings.stream_name,
        POSTROOM_SUBJECT_PREFIX=settings.subject_prefix,
        POSTROOM_DATABASE_URL=database_url,
        POSTROOM_API_TOKEN=TEST_TOKEN,
        POSTROOM_SECRET_KEY=settings.secret_keys,
        POSTROOM_CONFIG_GRPC_PORT=str(settings.ports.config_grpc),
        POSTROOM_DATA_DIR=str(settings.data_dir),
    )


def checkpoint(data_dir: Path) -> int:
    """The furthest checkpoint of the config read model's generations (files beside its database)."""
    found = 0
    for path in data_dir.glob("*.config_v*_g*.db"):
        try:
            with sqlite3.connect(path, timeout=5) as db:
                row = db.execute("select last_stream_seq from projection_checkpoints").fetchone()
                found = max(found, row[0] if row else 0)
        except sqlite3.OperationalError:
            pass
    return found


async def test_kill_9_mid_projection_then_restart_equals_a_clean_replay(settings, tmp_path):
    store = await EventStore.connect(settings)
    total = 60_000
    for start in range(0, total, 2000):
        batch = [
            provider_deleted("acme", f"p{i % 500}")
            if i % 7 == 0
            else provider_saved("acme", f"p{i % 500}", name=f"n{i}")
            for i in range(start, start + 2000)
        ]
        await store.append_many([PendingAppend(e) for e in batch])
    live_db = tmp_path / "live.db"
    command = [sys.executable, "-m", "services.cli.main", "serve", "config"]
    env = service_environment(settings, f"sqlite+aiosqlite:///{live_db}")

    process = subprocess.Popen(command, env=env, stderr=subprocess.DEVNULL)
    # Kill once the first batch is written: on a loaded machine the process's start alone took
    # more than the 6 s this once waited; the projection's 60,000 events take far longer than that.
    deadline = time.monotonic() + 60
    while checkpoint(tmp_path) == 0 and time.monotonic() < deadline:
        await asyncio.sleep(0.01)
    process.send_signal(signal.SIGKILL)
    process.wait()
    killed_at = checkpoint(tmp_path)
    assert 0 < killed_at < total, f"the kill should land mid-projection (checkpoint {killed_at})"

    process = subprocess.Popen(command, env=env, stderr=subprocess.DEVNULL)
    try:
        for _ in range(1200):
            if checkpoint(tmp_path) == total:
                break
            await asyncio.sleep(0.05)
        assert checkpoint(tmp_path) == total
    finally:
        process.terminate()
        assert process.wait(30) == 0

    clean_registry = create_engine(f"sqlite+aiosqlite:///{tmp_path / 'clean' / 'config.db'}")
    await replay(ProviderProjection(), store, clean_registry, model="config")
    registry = create_engine(f"sqlite+aiosqlite:///{live_db}")
    live, clean = await open_live(registry, "config"), await open_live(clean_registry, "config")
    assert await dump_tables(live, metadata) == await dump_tables(clean, metadata)
    for engine in (live, clean, registry, clean_registry):
        await engine.dispose()
    await store.close()


async def test_postroom_replay_rebuilds_the_live_tables_row_for_row(read_model_settings):
    from services.core.generated.postroom.v1 import config_pb2_grpc

    service = await start_service("config", read_model_settings, build)
    async with grpc.aio.insecure_channel(f"127.0.0.1:{service.grpc_port}") as channel:
        config = config_pb2_grpc.ConfigServiceStub(channel)
        for index in range(5):
            await config.SaveProvider(
                config_pb2.SaveProviderRequest(
                    account_id="acme", settings=provider_settings(name=f"p{index}"), skip_verification=True
                ),
                metadata=AUTH,
            )
    before = service.components.projections[0].generation
    await service.stop()
    registry = create_engine(read_model_settings.database_url_for("config"))
    old = await open_live(registry, "config")
    live = await dump_tables(old, metadata)
    await old.dispose()
    env = service_environment(read_model_settings, read_model_settings.database_url_for("config"))
    completed = subprocess.run(
        [sys.executable, "-m", "services.cli.main", "replay", "config"],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert completed.returncode == 0, completed.stderr
    assert "5/5 events" in completed.stderr and "####" in completed.stderr and "ETA 0:00:00" in completed.stderr
    rebuilt = await open_live(registry, "config")
    assert await dump_tables(rebuilt, metadata) == live
    generations = ReadModelGenerations(registry, "config", holder="test")
    assert [g.number for g in await generations.every()] == [before.number + 1]  # the old one is dropped
    await rebuilt.dispose()
    await registry.dispose()
