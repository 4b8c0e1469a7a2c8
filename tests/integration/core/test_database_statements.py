"""Upserts and IN lists on SQLite: every row lands, every key is asked for, and the statements sent
are a few shapes of a few hundred rows or keys at most. sqlite3 keeps each statement it prepared
(128 per connection): one upsert of 5,000 rows was 6 MB prepared, and a projection's writer held
16 MB of them at dispatch's bench peak; an IN list of 400 keys is about 100 KB."""

import re

import pytest
from sqlalchemy import Column, Integer, MetaData, String, Table, event, select, tuple_

from services.core.database import create_engine, delete_in, in_list_chunks, rows_in, update_in, upsert

metadata = MetaData()
items = Table("items", metadata, Column("item_id", Integer, primary_key=True), Column("label", String(40)))
MOST_ROWS = 256


@pytest.fixture
async def engine(tmp_path):
    engine = create_engine(f"sqlite+aiosqlite:///{tmp_path / 'upsert.db'}")
    async with engine.begin() as conn:
        await conn.run_sync(metadata.create_all)
    yield engine
    await engine.dispose()


def rows_in_statement(statement: str) -> int:
    return len(re.findall(r"\(\?, \?\)", statement))


async def test_every_row_lands_in_statements_of_a_few_hundred_rows_at_most(engine):
    sent: list[str] = []
    event.listen(engine.sync_engine, "before_cursor_execute", lambda *args: sent.append(args[2]))
    total = 0
    async with engine.begin() as conn:
        for count in (1, 255, 256, 257, 3000, 20_000):
            rows = [{"item_id": total + n, "label": f"item {total + n}"} for n in range(count)]
            await upsert(conn, items, rows, ["item_id"])
            total += count
        stored = (await conn.execute(select(items.c.item_id, items.c.label).order_by(items.c.item_id))).all()
    assert [tuple(row) for row in stored] == [(n, f"item {n}") for n in range(total)]
    upserts = [statement for statement in sent if statement.startswith("INSERT")]
    assert max(map(rows_in_statement, upserts)) <= MOST_ROWS
    assert len(set(upserts)) <= MOST_ROWS.bit_length()  # the full shape and powers of two below it


async def test_rows_with_one_key_in_one_call_apply_in_order(engine):
    async with engine.begin() as conn:
        await upsert(conn, items, [{"item_id": 1, "label": f"v{n}"} for n in range(300)], ["item_id"])
        assert (await conn.execute(select(items.c.label))).scalar_one() == "v299"


def test_in_lists_come_in_a_few_shapes_and_hold_every_key():
    shapes = set()
    for count in range(1, 1300):
        keys = [f"key {n}" for n in range(count)]
        chunks = in_list_chunks(keys)
        shapes.update(len(chunk) for chunk in chunks)
        assert [key for chunk in chunks for key in dict.fromkeys(chunk)] == keys
    assert shapes == {1 << power for power in range(10)}  # 1, 2, 4, ... 512
    assert in_list_chunks([]) == []


async def test_an_in_list_query_prepares_a_few_statements_whatever_the_lengths(engine):
    sent: set[str] = set()
    event.listen(engine.sync_engine, "before_cursor_execute", lambda *args: sent.add(args[2]))
    async with engine.begin() as conn:
        await upsert(conn, items, [{"item_id": n, "label": f"item {n}"} for n in range(600)], ["item_id"])
        for count in range(1, 600, 7):
            found = set()
            for chunk in in_list_chunks(list(range(count))):
                found.update((await conn.execute(select(items.c.item_id).where(items.c.item_id.in_(chunk)))).scalars())
            assert found == set(range(count))
    assert len([statement for statement in sent if statement.startswith("SELECT")]) <= 10


async def test_rows_in_and_delete_in_cover_every_key_once(engine):
    async with engine.begin() as conn:
        await upsert(conn, items, [{"item_id": n, "label": f"item {n % 3}"} for n in range(1500)], ["item_id"])
        wanted = list(range(0, 1500, 2))  # 750 keys: two IN lists, the second padded
        found = await rows_in(conn, lambda chunk: select(items.c.item_id).where(items.c.item_id.in_(chunk)), wanted)
        assert sorted(row.item_id for row in found) == wanted
        gone = [(n, f"item {n % 3}") for n in range(1, 1500, 2)]
        await delete_in(conn, items, tuple_(items.c.item_id, items.c.label), gone)
        assert (await conn.execute(select(items.c.item_id).order_by(items.c.item_id))).scalars().all() == wanted
        await delete_in(conn, items, items.c.item_id, [])
        assert len((await conn.execute(select(items.c.item_id))).all()) == len(wanted)


async def test_update_in_sets_every_row_asked_for_and_no_other(engine):
    async with engine.begin() as conn:
        await upsert(conn, items, [{"item_id": n, "label": "old"} for n in range(1200)], ["item_id"])
        await update_in(conn, items, items.c.item_id, list(range(0, 1200, 3)), {"label": "new"})  # 400: one padded list
        labels = dict((await conn.execute(select(items.c.item_id, items.c.label))).all())
    assert labels == {n: "new" if n % 3 == 0 else "old" for n in range(1200)}
