"""SQLAlchemy's asyncio engine, loaded without its ORM.

The `sqlalchemy.ext.asyncio` package imports its `AsyncSession` when imported, and with it the
whole ORM: 5.6 MB of each process, for nothing, as Postroom uses SQLAlchemy Core (`AsyncEngine`,
`AsyncConnection`). This loads the package's engine and result modules and leaves the rest of it
for later: the first time a name the package has not loaded is asked for (`AsyncSession`, say),
the package runs as SQLAlchemy wrote it, ORM and all. Nothing goes missing; it only comes later.
`services/__init__.py` does this first, before anything imports SQLAlchemy's asyncio package.
"""

from __future__ import annotations

import importlib
import importlib.util
import sys
from types import ModuleType

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
    if PACKAGE in sys.modules:
        return  # loaded whole already
    spec = importlib.util.find_spec(PACKAGE)
    if spec is None or spec.loader is None:
        return  # let the import fail where it is made, as it would have
    package = importlib.util.module_from_spec(spec)
    package.__getattr__ = _rest_of(package)  # type: ignore[method-assign]
    sys.modules[PACKAGE] = package
    for module_name, names in CORE_NAMES.items():
        module = importlib.import_module(f"{PACKAGE}.{module_name}")
        for name in names:
            setattr(package, name, getattr(module, name))


def _rest_of(package: ModuleType):
    """The package's `__getattr__`, asked for what it does not hold yet."""

    def load_the_rest(name: str):
        if name.startswith("__") or importlib.util.find_spec(f"{PACKAGE}.{name}") is not None:
            # A probe, or a submodule the import system is about to load (`from . import exc`).
            raise AttributeError(f"module {PACKAGE!r} has no attribute {name!r}")
        del package.__getattr__
        package.__spec__.loader.exec_module(package)  # type: ignore[union-attr]
        return getattr(package, name)

    return load_the_rest
