"""The engine readers hold: it follows the read model's switches from one generation to the next."""

from __future__ import annotations

from typing import Any

from sqlalchemy.ext.asyncio import AsyncEngine

from services.core.read_model_generations import Generation


class LiveEngine:
    """The engine of whichever generation of a read model this process serves from.

    Read models keep this one object; every `connect()` and `begin()` goes to the generation
    that is live at that moment, so a switch is atomic for them: a query runs wholly against
    the old generation or wholly against the new one, never a half-built one."""

    def __init__(self) -> None:
        self._engine: AsyncEngine | None = None
        self.generation: Generation | None = None

    def switch_to(self, engine: AsyncEngine, generation: Generation) -> None:
        self._engine = engine
        self.generation = generation

    @property
    def current(self) -> AsyncEngine:
        if self._engine is None:
            raise RuntimeError("the read model is not started yet")
        return self._engine

    @property
    def schema(self) -> str | None:
        """The PostgreSQL schema of the live generation (None on SQLite, where it is the file)."""
        if self.generation is None or self.current.dialect.name == "sqlite":
            return None
        return self.generation.storage_name

    def connect(self):
        return self.current.connect()

    def begin(self):
        return self.current.begin()

    def __getattr__(self, name: str) -> Any:
        # url, dialect, sync_engine, ...: those of the live generation's engine
        return getattr(self.current, name)
