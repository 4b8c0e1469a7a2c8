"""Read-model storage: async engines, the checkpoint table, and portable upserts."""

from __future__ import annotations

import importlib

from operator import itemgetter
from pathlib import Path
from dataclasses import dataclass, field
from itertools import chain
from typing import Any, Callable, Iterable, Mapping, Sequence

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    bindparam,
    delete,
    event,
    select,
    update,
)
from sqlalchemy.engine import Dialect, Row
from sqlalchemy.sql.expression import ColumnElement, Executable
from sqlalchemy.types import TypeEngine
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine
from sqlalchemy.engine import make_url

checkpoint_metadata = MetaData()

checkpoints = Table(
    "projection_checkpoints",
    checkpoint_metadata,
    Column("projection", String(64), primary_key=True),
    Column("last_stream_seq", BigInteger, nullable=False),
)

# The schema version of each projection a read model holds, kept beside its rows: a snapshot
# carries them, so one made by another version is recognised and never used.
model_versions = Table(
    "read_model_versions",
    checkpoint_metadata,
    Column("projection", String(64), primary_key=True),
    Column("version", Integer, nullable=False),
)


def create_engine(url: str, *, schema: str | None = None) -> AsyncEngine:
    """An engine on `url`; on PostgreSQL, `schema` is where its unqualified tables live."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        if parsed.database and parsed.database != ":memory:":
            Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
        engine = create_async_engine(url, connect_args={"timeout": 30})
        event.listen(engine.sync_engine, "connect", _sqlite_pragmas)
        return engine
    connect_args = {"server_settings": {"search_path": schema}} if schema else {}
    return create_async_engine(url, pool_size=10, max_overflow=10, pool_pre_ping=True, connect_args=connect_args)


def is_sqlite(engine: AsyncEngine) -> bool:
    return engine.dialect.name == "sqlite"


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    # WAL lets the gRPC readers run while the projection writes; NORMAL is durable in WAL mode
    # up to the last checkpointed transaction, and the stream can always replay the rest.
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.close()


async def create_tables(engine: AsyncEngine, metadata: MetaData) -> None:
    async with engine.begin() as conn:
        await conn.run_sync(checkpoint_metadata.create_all)
        await conn.run_sync(metadata.create_all)


async def drop_tables(engine: AsyncEngine, metadata: MetaData) -> None:
    async with engine.begin() as conn:
        await conn.run_sync(metadata.drop_all)


async def read_checkpoint(conn: AsyncConnection, projection: str) -> int:
    value = await conn.scalar(select(checkpoints.c.last_stream_seq).where(checkpoints.c.projection == projection))
    return int(value or 0)


async def advance_checkpoint(conn: AsyncConnection, projection: str, old: int, new: int) -> bool:
    """Compare-and-set, so replicas sharing one read model never apply an event twice."""
    if old == 0:
        existing = await conn.scalar(
            select(checkpoints.c.last_stream_seq).where(checkpoints.c.projection == projection)
        )
        if existing is None:
            await conn.execute(checkpoints.insert().values(projection=projection, last_stream_seq=new))
            return True
    sql, order = _compiled_checkpoint_move(conn)
    values = {"projection": projection, "old": old, "new": new}
    result = await conn.exec_driver_sql(sql, tuple(values[name] for name in order))
    return result.rowcount == 1


_checkpoint_moves: dict[str, tuple[str, tuple[str, ...]]] = {}


def _compiled_checkpoint_move(conn: AsyncConnection) -> tuple[str, tuple[str, ...]]:
    """The checkpoint's compare-and-set, compiled once per dialect: it runs with every batch a
    live projection applies, and building the statement each time cost more than running it."""
    dialect = conn.dialect.name
    if dialect not in _checkpoint_moves:
        statement = (
            update(checkpoints)
            .where(
                checkpoints.c.projection == bindparam("projection"), checkpoints.c.last_stream_seq == bindparam("old")
            )
            .values(last_stream_seq=bindparam("new"))
        )
        compiled = statement.compile(dialect=conn.dialect)
        _checkpoint_moves[dialect] = (compiled.string, tuple(compiled.positiontup or ()))
    return _checkpoint_moves[dialect]


async def reset_checkpoint(conn: AsyncConnection, projection: str) -> None:
    await conn.execute(checkpoints.delete().where(checkpoints.c.projection == projection))


async def read_versions(conn: AsyncConnection) -> dict[str, int]:
    return {name: int(version) for name, version in await conn.execute(select(model_versions))}


async def write_versions(conn: AsyncConnection, versions: dict[str, int]) -> None:
    await conn.execute(model_versions.delete())
    await conn.execute(
        model_versions.insert(), [{"projection": name, "version": version} for name, version in versions.items()]
    )


# On SQLite an upsert carries many rows per statement: SQLite releases the GIL inside each
# statement, so one statement per row let the event loop's thread take it back after every row,
# and a replay crawled (about 40 us a row instead of 6). PostgreSQL takes executemany, which
# asyncpg pipelines (one round trip for all rows); many rows per statement were no faster there.
# A few hundred rows, not thousands: sqlite3 keeps every statement it prepared (128 a connection),
# and one of 5,000 rows is 6 MB prepared; a projection's writer held 16 MB of them at dispatch's
# bench peak. Replay's rate did not change (bench/replay.py, 97-102k events/s at 5,000, 90-105k at 256).
SQLITE_MAX_PARAMETERS = 32_766  # SQLite's default limit since 3.32
SQLITE_ROWS_PER_STATEMENT = 256
# Keys per IN list: a projection's batch can hold 20,000 events, and one IN list of them all passes
# SQLite's and asyncpg's 32,767 parameters (or PostgreSQL's stack depth, for a list of tuples).
IN_LIST_KEYS = 512


def in_list_chunks(keys: Sequence[Any]) -> list[list[Any]]:
    """`keys` in runs of at most IN_LIST_KEYS, one IN list each, each padded to a power of two by
    repeating its last key (an IN list's answer is the same). So a query has a few shapes, not
    one per length: the drivers keep every statement they prepared (sqlite3 128 a connection,
    asyncpg 100), and an IN list of 400 keys is about 100 KB prepared in SQLite."""
    chunks = []
    for start in range(0, len(keys), IN_LIST_KEYS):
        run = list(keys[start : start + IN_LIST_KEYS])
        shape = 1 << (len(run) - 1).bit_length()
        chunks.append(run + [run[-1]] * (shape - len(run)))
    return chunks


async def delete_in(conn: AsyncConnection, table: Table, key: ColumnElement, keys: Sequence[Any]) -> None:
    """DELETE the rows whose `key` (a column, or a `tuple_` of them) is one of `keys`."""
    for chunk in in_list_chunks(keys):
        await conn.execute(delete(table).where(key.in_(chunk)))


async def update_in(
    conn: AsyncConnection, table: Table, key: ColumnElement, keys: Sequence[Any], values: Mapping[str, Any]
) -> None:
    """UPDATE the rows whose `key` is one of `keys`, setting `values`."""
    for chunk in in_list_chunks(keys):
        await conn.execute(update(table).where(key.in_(chunk)).values(values))


async def rows_in(
    conn: AsyncConnection, query_for: Callable[[list[Any]], Executable], keys: Sequence[Any]
) -> list[Row]:
    """The rows of `query_for(chunk)`, a query with `chunk` as an IN list, over all of `keys`."""
    rows: list[Row] = []
    for chunk in in_list_chunks(keys):
        rows.extend(await conn.execute(query_for(chunk)))
    return rows


@dataclass
class _CompiledUpsert:
    sql: str
    parameters_of: Callable[[dict[str, Any]], tuple]
    width: int = 1  # parameters per row
    _multi_row: dict[int, str] = field(default_factory=dict)

    def for_rows(self, count: int) -> str:
        """The (SQLite) statement with `count` rows in its VALUES, an INSERT's only parameters."""
        if count not in self._multi_row:
            head, _, tail = self.sql.partition(" VALUES ")
            group_end = tail.index(")") + 1
            self._multi_row[count] = f"{head} VALUES {', '.join([tail[:group_end]] * count)}{tail[group_end:]}"
        return self._multi_row[count]


def _parameter_builder(
    columns: tuple[str, ...], processors: tuple[Callable[[Any], Any] | None, ...]
) -> Callable[[dict[str, Any]], tuple]:
    """A row dict -> the driver's parameter tuple. A replay writes millions of rows: the values
    are picked by one C-level itemgetter, and only the columns whose type has a bind processor
    go through Python."""
    pick = itemgetter(*columns)
    single = len(columns) == 1
    converted = [(index, process) for index, process in enumerate(processors) if process is not None]
    if not converted:
        return (lambda row: (pick(row),)) if single else pick

    def parameters(row: dict[str, Any]) -> tuple:
        values = [pick(row)] if single else list(pick(row))
        for index, process in converted:
            values[index] = process(values[index])
        return tuple(values)

    return parameters


def _bind_processor(column_type: TypeEngine, dialect: Dialect) -> Callable[[Any], Any] | None:
    # sqlite3 takes bytes and bools as they are; SQLAlchemy would wrap each in a memoryview or an
    # int first, which was a third of a replay's time per row.
    if dialect.name == "sqlite" and isinstance(column_type, (LargeBinary, Boolean)):
        return None
    return column_type.bind_processor(dialect)


_upserts: dict[tuple[str, str, tuple[str, ...]], _CompiledUpsert] = {}
_updates: dict[tuple[str, str, tuple[str, ...], tuple[str, ...]], _CompiledUpsert] = {}


def _compiled_upsert(conn: AsyncConnection, table: Table, keys: tuple[str, ...]) -> _CompiledUpsert:
    cache_key = (table.name, conn.dialect.name, keys)
    if cache_key not in _upserts:
        # The engine's own dialect module, loaded with the engine: a SQLite process never loads
        # PostgreSQL's (2 MB).
        dialect_module = importlib.import_module(f"sqlalchemy.dialects.{conn.dialect.name}")
        statement = dialect_module.insert(table)
        updates = {c.name: statement.excluded[c.name] for c in table.columns if c.name not in keys}
        compiled = statement.on_conflict_do_update(index_elements=list(keys), set_=updates).compile(
            dialect=conn.dialect
        )
        columns = tuple(compiled.positiontup or ())
        processors = tuple(_bind_processor(table.c[name].type, conn.dialect) for name in columns)
        _upserts[cache_key] = _CompiledUpsert(compiled.string, _parameter_builder(columns, processors), len(columns))
    return _upserts[cache_key]


def _compiled_update(
    conn: AsyncConnection, table: Table, keys: tuple[str, ...], columns: tuple[str, ...]
) -> _CompiledUpsert:
    cache_key = (table.name, conn.dialect.name, keys, columns)
    if cache_key not in _updates:
        statement = (
            update(table)
            .where(*(table.c[k] == bindparam(f"key_{k}") for k in keys))
            .values({c: bindparam(f"set_{c}") for c in columns})
        )
        compiled = statement.compile(dialect=conn.dialect)
        names = tuple(compiled.positiontup or ())
        columns_of_names = tuple(name.split("_", 1)[1] for name in names)
        processors = tuple(_bind_processor(table.c[name].type, conn.dialect) for name in columns_of_names)
        _updates[cache_key] = _CompiledUpsert(compiled.string, _parameter_builder(columns_of_names, processors))
    return _updates[cache_key]


async def update_rows(conn: AsyncConnection, table: Table, rows: Sequence[dict[str, Any]], keys: Iterable[str]) -> None:
    """UPDATE ... WHERE keys for many rows at once (every row sets the same columns), compiled once."""
    if not rows:
        return
    key_names = tuple(keys)
    columns = tuple(name for name in rows[0] if name not in key_names)
    compiled = _compiled_update(conn, table, key_names, columns)
    await conn.exec_driver_sql(compiled.sql, list(map(compiled.parameters_of, rows)))


async def upsert(conn: AsyncConnection, table: Table, rows: Sequence[dict[str, Any]], keys: Iterable[str]) -> None:
    """INSERT ... ON CONFLICT (keys) DO UPDATE, on SQLite and PostgreSQL.

    The statement is compiled once, and the values go to the driver with only the bind processors
    they need: SQLAlchemy's per-row parameter building cost ~50 us a row, which was most of a
    replay's time."""
    if not rows:
        return
    upsert_sql = _compiled_upsert(conn, table, tuple(keys))
    if conn.dialect.name != "sqlite":
        await conn.exec_driver_sql(upsert_sql.sql, list(map(upsert_sql.parameters_of, rows)))
        return
    # Rows with the same key in one statement are applied in order, as separate upserts would be.
    per_statement = max(1, min(SQLITE_ROWS_PER_STATEMENT, SQLITE_MAX_PARAMETERS // upsert_sql.width))
    start = 0
    for count in _statement_sizes(len(rows), per_statement):
        chunk = rows[start : start + count]
        start += count
        await conn.exec_driver_sql(
            upsert_sql.for_rows(count), tuple(chain.from_iterable(map(upsert_sql.parameters_of, chunk)))
        )


def _statement_sizes(rows: int, most: int) -> list[int]:
    """Full statements of `most` rows, then powers of two: a few statement shapes per table, which
    sqlite3's statement cache keeps, rather than one for every batch size."""
    sizes = [most] * (rows // most)
    rest = rows % most
    while rest:
        size = 1 << (rest.bit_length() - 1)
        sizes.append(size)
        rest -= size
    return sizes


async def dump_tables(engine: AsyncEngine, *metadatas: MetaData) -> dict[str, list[tuple]]:
    """Every row of every table, sorted: what `replay` must reproduce exactly."""
    dump: dict[str, list[tuple]] = {}
    async with engine.connect() as conn:
        for table in (table for metadata in metadatas for table in metadata.sorted_tables):
            rows = (await conn.execute(select(table))).all()
            dump[table.name] = sorted((tuple(row) for row in rows), key=repr)
    return dump
