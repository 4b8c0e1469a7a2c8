"""The local loop with attachments: `postroom send --attach` through a real dispatch service to the
simulator, whose `postroom ses-sim inbox` lists the files and `attachment` downloads them intact."""

from __future__ import annotations

import asyncio
import functools
import os
import sys
from dataclasses import replace
from types import SimpleNamespace

from services.core.event_store import EventStore
from services.core.runtime import start_service
from services.dispatch import main as dispatch_main
from services.ses_sim.main import SesSimulator
from tests.integration.dispatch.dispatch_support import FAST, PROVIDER, save_provider
from tests.integration.ses_sim.conftest import eventually, simulator_settings
from tests.support.service_process import REPO, run_cli
from tests.support.streams import delete_test_streams


async def ses_sim_cli(sim: SesSimulator, *args: str) -> str:
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "services.cli.main",
        "ses-sim",
        "--url",
        sim.web_url,
        *args,
        cwd=REPO,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(process.communicate(), 30)
    assert process.returncode == 0, err.decode()
    return out.decode()


async def test_send_attach_to_the_simulator_lists_and_downloads_each_file(settings, tmp_path):
    async with SesSimulator(simulator_settings(tmp_path / "sim")) as sim:
        dispatch_settings = replace(settings, smtp_ca_file=str(sim.ca_file))
        store = await EventStore.connect(dispatch_settings)
        service = await start_service(
            "dispatch", dispatch_settings, functools.partial(dispatch_main.build, timings=FAST)
        )
        try:
            account = SimpleNamespace(
                host=sim.settings.host,
                port=sim.smtp_port,
                handler=SimpleNamespace(username=sim.settings.smtp_username, password=sim.settings.smtp_password),
            )
            await save_provider(store, dispatch_settings, account)
            invoice, photo = tmp_path / "Facture n°7 — été.pdf", tmp_path / "photo.png"
            invoice.write_bytes(b"%PDF-1.7\n" + os.urandom(300_000))
            photo.write_bytes(b"\x89PNG\r\n\x1a\n" + os.urandom(2000))
            await run_cli(
                dispatch_settings,
                "send",
                "--account",
                "acme",
                "--provider",
                PROVIDER,
                "--to",
                "jane@customer.test",
                "--subject",
                "Your invoice",
                "--text",
                "Attached.",
                "--attach",
                str(invoice),
                "--attach",
                str(photo),
                "--wait",
            )
            await eventually(lambda: len(sim.inbox) == 1, timeout=30)
            listing = await ses_sim_cli(sim, "inbox")
            assert invoice.name in listing and "photo.png" in listing and "application/pdf" in listing
            (message,) = sim.inbox.newest_first()
            for index, source in enumerate((invoice, photo)):
                target = tmp_path / f"downloaded-{index}"
                await ses_sim_cli(sim, "attachment", message.ses_message_id, str(index), "-o", str(target))
                assert target.read_bytes() == source.read_bytes()
        finally:
            await service.stop()
            await delete_test_streams(store)
            await store.close()
