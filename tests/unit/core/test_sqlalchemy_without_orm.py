"""SQLAlchemy's asyncio engine without its ORM: the services load no `sqlalchemy.orm`, the engine
works, and what the package holds besides (AsyncSession) still comes when asked for."""

import subprocess
import sys
import textwrap

import pytest


def run_fresh(code: str) -> str:
    """Runs code in a new interpreter, as a service starts: this one has imported everything."""
    done = subprocess.run([sys.executable, "-c", textwrap.dedent(code)], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    return done.stdout.strip()


@pytest.mark.parametrize(
    "module",
    ["services.config.main", "services.dispatch.main", "services.feedback.main", "services.unsubscribe.main"],
)
def test_no_service_loads_the_orm(module):
    loaded = run_fresh(f"import sys, {module}; print([m for m in sys.modules if m.startswith('sqlalchemy.orm')])")
    assert loaded == "[]"


def test_the_engine_runs_a_transaction_without_the_orm():
    printed = run_fresh(
        """
        import asyncio, sys
        import services
        from sqlalchemy import text
        from sqlalchemy.ext.asyncio import create_async_engine

        async def main():
            engine = create_async_engine("sqlite+aiosqlite://")
            async with engine.begin() as connection:
                await connection.execute(text("CREATE TABLE t (n INTEGER)"))
                await connection.execute(text("INSERT INTO t VALUES (41), (1)"))
                total = (await connection.execute(text("SELECT sum(n) FROM t"))).scalar_one()
            await engine.dispose()
            return total

        print(asyncio.run(main()), "sqlalchemy.orm" in sys.modules)
        """
    )
    assert printed == "42 False"


def test_the_rest_of_the_package_loads_when_asked_for():
    printed = run_fresh(
        """
        import sys
        import services
        import sqlalchemy.ext.asyncio as package
        from sqlalchemy.ext.asyncio import AsyncEngine, exc
        before = "sqlalchemy.orm" in sys.modules
        from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
        from sqlalchemy.ext.asyncio.engine import AsyncEngine as Engine
        print(before, "sqlalchemy.orm" in sys.modules, AsyncSession.__module__, exc.__name__, Engine is AsyncEngine)
        """
    )
    assert printed == "False True sqlalchemy.ext.asyncio.session sqlalchemy.ext.asyncio.exc True"


def test_a_name_the_package_does_not_have_is_still_refused():
    printed = run_fresh(
        """
        import services
        try:
            from sqlalchemy.ext.asyncio import NoSuchThing
        except ImportError as refused:
            print(type(refused).__name__)
        """
    )
    assert printed == "ImportError"
