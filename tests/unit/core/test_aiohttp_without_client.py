"""aiohttp's web server without its client: unsubscribe loads no aiohttp client module, the
server answers, and the client (feedback's, the SES stand-in's) still comes when asked for."""

import importlib.metadata

import pytest

from tests.unit.core.test_sqlalchemy_without_orm import run_fresh

CLIENT_MODULES = ("aiohttp.client", "aiohttp.connector", "aiohttp.cookiejar")


@pytest.mark.parametrize("module", ["services.unsubscribe.main", "services.core.http_server"])
def test_a_server_only_process_loads_no_client(module):
    loaded = run_fresh(f"import sys, {module}; print([m for m in {CLIENT_MODULES!r} if m in sys.modules])")
    assert loaded == "[]"


def test_the_web_server_answers_without_the_client():
    printed = run_fresh(
        """
        import asyncio, sys
        import services
        from aiohttp import web

        async def hello(request):
            return web.Response(text="hello")

        async def main():
            app = web.Application()
            app.router.add_get("/", hello)
            runner = web.AppRunner(app)
            await runner.setup()
            site = web.TCPSite(runner, "127.0.0.1", 0)
            await site.start()
            port = runner.addresses[0][1]
            reader, writer = await asyncio.open_connection("127.0.0.1", port)
            writer.write(b"GET / HTTP/1.1\\r\\nHost: x\\r\\nConnection: close\\r\\n\\r\\n")
            answer = await reader.read()
            writer.close()
            await runner.cleanup()
            return answer.split(b"\\r\\n", 1)[0].decode(), answer.endswith(b"hello")

        print(*asyncio.run(main()), "aiohttp.client" in sys.modules)
        """
    )
    assert printed == "HTTP/1.1 200 OK True False"


def test_the_client_comes_when_asked_for():
    printed = run_fresh(
        """
        import sys
        import services
        import aiohttp
        before = "aiohttp.client" in sys.modules
        session_type = aiohttp.ClientSession
        print(before, "aiohttp.client" in sys.modules, session_type.__module__, aiohttp.__version__)
        """
    )
    assert printed == f"False True aiohttp.client {importlib.metadata.version('aiohttp')}"
