"""A package loaded a part at a time: its `__init__` waits until a name only it makes is asked for.

Some packages Postroom depends on import, in their `__init__`, much that a service never uses
(SQLAlchemy's asyncio package its ORM; aiohttp its HTTP client). `load_in_parts` puts the package
in `sys.modules` without running its `__init__`, with the names given up front (`preset`) and
those of the modules named in `parts`; a submodule loads when imported or asked for as an
attribute. The first time another name the package does not hold yet is asked for, its `__init__`
runs as its authors wrote it and the name comes from there: nothing goes missing, it only comes
later.
"""

from __future__ import annotations

import importlib
import importlib.util
import sys
from collections.abc import Mapping
from types import ModuleType


def load_in_parts(
    package_name: str, *, preset: Mapping[str, object] | None = None, parts: Mapping[str, tuple[str, ...]] | None = None
) -> None:
    if package_name in sys.modules:
        return  # loaded whole already
    spec = importlib.util.find_spec(package_name)
    if spec is None or spec.loader is None:
        return  # let the import fail where it is made, as it would have
    package = importlib.util.module_from_spec(spec)
    package.__dict__.update(preset or {})
    package.__getattr__ = _rest_of(package)  # type: ignore[method-assign]
    sys.modules[package_name] = package
    for module_name, names in (parts or {}).items():
        module = importlib.import_module(f"{package_name}.{module_name}")
        for name in names:
            setattr(package, name, getattr(module, name))


def _rest_of(package: ModuleType):
    """The package's `__getattr__`, asked for what it does not hold yet."""
    name_of_package = package.__name__

    def load_the_rest(name: str):
        if name.startswith("__"):  # a probe (`__path__`, `__all__`, ...): what is set is all there is
            raise AttributeError(f"module {name_of_package!r} has no attribute {name!r}")
        if importlib.util.find_spec(f"{name_of_package}.{name}") is not None:
            # A submodule, asked for by `from . import exc` or as an attribute (the package's
            # `__init__` would have imported it): it alone is loaded.
            return importlib.import_module(f"{name_of_package}.{name}")
        del package.__getattr__
        package.__spec__.loader.exec_module(package)  # type: ignore[union-attr]
        return getattr(package, name)

    return load_the_rest
