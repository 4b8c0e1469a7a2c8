import asyncio

import pytest

from services.core import event_loop
from services.core.settings import Settings


async def loop_module() -> str:
    return type(asyncio.get_running_loop()).__module__


def test_services_run_on_uvloop_unless_told_otherwise():
    assert Settings().event_loop == "uvloop"
    assert event_loop.run(loop_module()).startswith("uvloop")
    assert event_loop.run(loop_module(), "asyncio").startswith("asyncio")


def test_an_unknown_loop_is_refused_with_the_setting_named(monkeypatch):
    monkeypatch.setenv("POSTROOM_EVENT_LOOP", "Trio")
    settings = Settings.from_env()
    with pytest.raises(SystemExit, match="POSTROOM_EVENT_LOOP='trio' is not one of uvloop, asyncio"):
        event_loop.run(loop_module(), settings.event_loop)
