"""`postroom replay SERVICE`: rebuild each of the service's read models from sequence 1."""

from __future__ import annotations

import sys

from services.cli.catalog import service_module
from services.core.database import create_engine
from services.core.event_store import EventStore
from services.core.projection import replay
from services.core.settings import Settings

BAR_WIDTH = 30


def progress_bar(done: int, total: int, seconds: float) -> None:
    fraction = 1.0 if total == 0 else min(done / total, 1.0)
    filled = int(fraction * BAR_WIDTH)
    rate = done / seconds if seconds > 0 else 0.0
    sys.stderr.write(f"\r[{'#' * filled}{'.' * (BAR_WIDTH - filled)}] {done:,}/{total:,} events  {rate:,.0f} events/s")
    sys.stderr.flush()


async def replay_service(name: str, settings: Settings) -> int:
    module = service_module(name)
    store = await EventStore.connect(settings, name=f"postroom-replay-{name}")
    engine = create_engine(settings.database_url_for(name))
    try:
        for projection_class in module.PROJECTIONS:
            projection = projection_class()
            print(f"replaying {projection.name}", file=sys.stderr)
            await replay(projection, store, engine, progress_bar)
            sys.stderr.write("\n")
    finally:
        await store.close()
        await engine.dispose()
    return 0
