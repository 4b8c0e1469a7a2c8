"""SQLAlchemy's asyncio engine, loaded without its ORM.

The `sqlalchemy.ext.asyncio` package imports its `AsyncSession` when imported, and with it the
whole ORM: 5.6 MB of each process, for nothing, as Postroom uses SQLAlchemy Core (`AsyncEngine`,
`AsyncConnection`). This loads the package's engine and result modules and leaves the rest of it
for later (`services/core/package_in_parts.py`): the first time a name the package has not loaded
is asked for (`AsyncSession`, say), the package runs as SQLAlchemy wrote it, ORM and all.
`services/__init__.py` does this first, before anything imports SQLAlchemy's asyncio package.
"""

from __future__ import annotations

from services.core.package_in_parts import load_in_parts

PACKAGE = "sqlalchemy.ext.asyncio"

# What the package takes from its Core modules (sqlalchemy/ext/asyncio/__init__.py).
CORE_NAMES = {
    "engine": (
        "AsyncConnection",
        "AsyncEngine",
        "AsyncTransaction",
        "async_engine_from_config",
        "create_async_engine",
        "create_async_pool_from_url",
    ),
    "result": ("AsyncMappingResult", "AsyncResult", "AsyncScalarResult", "AsyncTupleResult"),
}


def import_sqlalchemy_asyncio_without_orm() -> None:
    load_in_parts(PACKAGE, parts=CORE_NAMES)
