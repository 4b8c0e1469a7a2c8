"""`postroom replay SERVICE`: rebuild the service's read model beside the live one, then switch.

The running service keeps serving from its current read model meanwhile; it follows the new one
once it has caught up with the head of the stream, and the old one is dropped when nothing
reads it any more."""

from __future__ import annotations

import sys

from services.cli.catalog import service_module
from services.core.database import create_engine
from services.cli.client import event_store
from services.core.projection import replay
from services.core.settings import Settings

BAR_WIDTH = 30


def progress_bar(done: int, total: int, seconds: float) -> None:
    sys.stderr.write("\r" + progress_line(done, total, seconds))
    sys.stderr.flush()


def progress_line(done: int, total: int, seconds: float) -> str:
    total = max(total, done)  # events appended during the rebuild are read too
    fraction = 1.0 if total == 0 else done / total
    filled = int(fraction * BAR_WIDTH)
    rate = done / seconds if seconds > 0 else 0.0
    return (
        f"[{'#' * filled}{'.' * (BAR_WIDTH - filled)}] {done:,}/{total:,} events  {rate:,.0f} events/s  "
        f"ETA {_eta(total - done, rate)}"
    )


def _eta(remaining: int, rate: float) -> str:
    if remaining <= 0:
        return "0:00:00"
    if rate <= 0:
        return "--:--:--"
    seconds = int(remaining / rate)
    return f"{seconds // 3600}:{seconds // 60 % 60:02d}:{seconds % 60:02d}"


async def replay_service(name: str, settings: Settings) -> int:
    store = await event_store(settings, f"postroom-replay-{name}")  # first: a person hears at once if NATS is away
    module = service_module(name)
    engine = create_engine(settings.database_url_for(name))
    try:
        print(f"rebuilding the {name} read model beside the live one", file=sys.stderr)
        await replay(module.projections(settings), store, engine, progress_bar, model=module.NAME)
        sys.stderr.write(f"\nswitched: {name} now serves from the rebuilt read model\n")
    finally:
        await store.close()
        await engine.dispose()
    return 0
