"""A hot SELECT straight through the driver: the rows SQLAlchemy would read, every committed write
seen, the look-ups of one loop turn in one hop on SQLite, and the live generation followed."""

from __future__ import annotations

import asyncio

from sqlalchemy import Column, Integer, MetaData, String, Table, bindparam, insert, select

from services.core.database import create_engine
from services.core.driver_query import DriverQuery
from services.core.live_engine import LiveEngine

metadata = MetaData()
notes = Table("notes", metadata, Column("key", String(16), primary_key=True), Column("n", Integer, nullable=False))
BY_KEY = select(notes.c.n).where(notes.c.key == bindparam("key"))


class Generation:
    """A generation as LiveEngine serves it: the tables are in PostgreSQL's default schema."""

    storage_name = "public"


async def engine_with(url: str, rows: dict[str, int]):
    engine = create_engine(url)
    async with engine.begin() as conn:
        await conn.run_sync(metadata.drop_all)
        await conn.run_sync(metadata.create_all)
        if rows:
            await conn.execute(insert(notes), [{"key": key, "n": n} for key, n in rows.items()])
    return engine


async def test_rows_as_sqlalchemy_reads_them_and_each_commit_seen(read_model_settings):
    engine = await engine_with(read_model_settings.database_url_for("driver-query"), {"a": 1})
    live = LiveEngine()
    live.switch_to(engine, Generation())
    query = DriverQuery(live, BY_KEY, name="test-lookups")
    try:
        assert [tuple(row) for row in await query.rows(key="a")] == [(1,)]
        assert await query.rows(key="b") == []
        async with engine.begin() as conn:
            await conn.execute(insert(notes), [{"key": "b", "n": 2}])
        assert [tuple(row) for row in await query.rows(key="b")] == [(2,)], "autocommit: the new row is seen"
        answers = await asyncio.gather(*(query.rows(key=key) for key in ("a", "b", "c") * 50))
        assert [[tuple(row) for row in rows] for rows in answers[:3]] == [[(1,)], [(2,)], []]
    finally:
        await query.stop()
        await engine.dispose()


async def test_a_switch_to_another_generation_is_followed(settings, tmp_path):
    old = await engine_with(f"sqlite+aiosqlite:///{tmp_path / 'g1.db'}", {"a": 1})
    new = await engine_with(f"sqlite+aiosqlite:///{tmp_path / 'g2.db'}", {"a": 2})
    live = LiveEngine()
    live.switch_to(old, Generation())
    query = DriverQuery(live, BY_KEY, name="test-lookups")
    try:
        assert [tuple(row) for row in await query.rows(key="a")] == [(1,)]
        live.switch_to(new, Generation())
        assert [tuple(row) for row in await query.rows(key="a")] == [(2,)]
    finally:
        await query.stop()
        await old.dispose()
        await new.dispose()
