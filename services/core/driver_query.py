"""One hot SELECT, compiled once from SQLAlchemy's tables and run straight through the driver.

Through SQLAlchemy's async pool one small lookup costs about 0.6-1 ms (a checkout, four thread
hops on aiosqlite, a reset on return); straight through the driver it is one call, in autocommit,
so every committed projection batch is seen. On SQLite the calls of one loop turn are made
together on one thread of the query's own, never on the event loop: a lookup that meets a WAL
checkpoint or a busy database waits there, not with every other request behind it. On
PostgreSQL each is one asyncpg round trip.

The connection is to the read model's generation being served: after a switch, the next lookup
opens one to the new generation and closes the old.
"""

from __future__ import annotations

import asyncio
import sqlite3
from concurrent.futures import ThreadPoolExecutor
from functools import partial
from typing import Any, cast

from sqlalchemy.sql import Select

from services.core.live_engine import LiveEngine
from services.core.per_turn import PerTurn


_NOT_OPENED = object()  # not a generation: a read model served without generations has None


class DriverQuery:
    def __init__(self, engine: LiveEngine, statement: Select, *, name: str, sqlite_timeout: float = 5.0) -> None:
        """`statement` names its values with `bindparam`s; `sqlite_timeout` is how long a lookup
        waits for a busy SQLite file before sqlite3 raises OperationalError."""
        self.engine = engine
        self.statement = statement
        self.name = name
        self.sqlite_timeout = sqlite_timeout
        self._sql = ""
        self._order: list[str] = []
        self._opened_for: object = _NOT_OPENED
        self._sqlite: sqlite3.Connection | None = None
        self._sqlite_thread: ThreadPoolExecutor | None = None
        self._postgres: Any = None
        self._connecting = asyncio.Lock()
        self._sqlite_lookups: PerTurn[list[Any], list[Any]] = PerTurn(self._sqlite_rows)

    async def start(self) -> None:
        """Connect now (else the first lookup does)."""
        await self._connect()

    async def stop(self) -> None:
        if self._sqlite is not None:
            await self._sqlite_lookups.settle()  # what was asked is answered before the close
            connection, thread, self._sqlite, self._sqlite_thread = self._sqlite, self._sqlite_thread, None, None
            assert thread is not None  # _connect sets it before self._sqlite
            await asyncio.get_running_loop().run_in_executor(thread, connection.close)
            thread.shutdown(wait=False)
        if self._postgres is not None:
            await self._postgres.close()
            self._postgres = None
        self._opened_for = _NOT_OPENED

    async def rows(self, **values: Any) -> list[Any]:
        """Every row the statement gives for these values, as the driver returns them."""
        if self._opened_for is not self.engine.generation:
            async with self._connecting:
                if self._opened_for is not self.engine.generation:
                    await self._connect()
        params = [values[name] for name in self._order]
        if self._sqlite is not None:
            return await self._sqlite_lookups.ask(params)
        return await self._postgres.fetch(self._sql, *params)

    async def _sqlite_rows(self, asked: list[list[Any]]) -> list[list[Any]]:
        """The lookups of one loop turn, on the query's thread in one hop."""
        # Asked only while self._sqlite is open (rows() checks; stop() settles the asks first).
        return await asyncio.get_running_loop().run_in_executor(
            self._sqlite_thread, _sqlite_rows, cast(sqlite3.Connection, self._sqlite), self._sql, asked
        )

    async def _connect(self) -> None:
        await self.stop()
        if not self._sql:
            compiled = self.statement.compile(dialect=self.engine.dialect)
            self._sql, self._order = str(compiled), list(compiled.positiontup or ())
        url = self.engine.url
        generation = self.engine.generation
        if url.get_backend_name() == "sqlite":
            self._sqlite_thread = ThreadPoolExecutor(max_workers=1, thread_name_prefix=self.name)
            self._sqlite = await asyncio.get_running_loop().run_in_executor(
                self._sqlite_thread,
                partial(
                    sqlite3.connect,
                    url.database or ":memory:",
                    isolation_level=None,
                    timeout=self.sqlite_timeout,
                    check_same_thread=False,
                ),
            )
        else:
            import asyncpg  # only a PostgreSQL process loads it

            dsn = url.set(drivername="postgresql").render_as_string(hide_password=False)
            self._postgres = await asyncpg.create_pool(
                dsn, min_size=1, max_size=4, server_settings={"search_path": self.engine.schema}
            )
        self._opened_for = generation


def _sqlite_rows(connection: sqlite3.Connection, sql: str, asked: list[list[Any]]) -> list[list[Any]]:
    return [connection.execute(sql, params).fetchall() for params in asked]
