"""Benches run on the loop the services run on (POSTROOM_EVENT_LOOP), so a baseline meets the same loop."""

from __future__ import annotations

from services.core import event_loop
from services.core.settings import Settings


def run(main):
    return event_loop.run(main, Settings.from_env().event_loop)
