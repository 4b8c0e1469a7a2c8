"""The floor bench/memory.py measures the services against: what every service starts with and nothing else.

The loop the services run on, a gRPC server answering health, a JetStream connection and a
SQLAlchemy engine with a connection open on a SQLite file (each service's read model), imported as
the services import them (`services/__init__.py` first). Run as a script, by path:
`floor.py NATS_URL GRPC_PORT DATABASE_URL`.
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from bench.support.loop import run as run_on_service_loop


async def serve_floor(nats_url: str, port: int, database_url: str) -> None:
    """What every service starts with: the loop, a gRPC server with health, JetStream, a read model's engine."""
    import grpc
    import nats
    from grpc_health.v1 import health, health_pb2_grpc
    from sqlalchemy import text
    from sqlalchemy.ext.asyncio import create_async_engine

    connection = await nats.connect(nats_url)
    await connection.jetstream().account_info()
    engine = create_async_engine(database_url)
    async with engine.connect() as database:
        await database.execute(text("SELECT 1"))
    server = grpc.aio.server()
    health_pb2_grpc.add_HealthServicer_to_server(health.aio.HealthServicer(), server)
    server.add_insecure_port(f"127.0.0.1:{port}")
    await server.start()
    await server.wait_for_termination()


if __name__ == "__main__":
    run_on_service_loop(serve_floor(sys.argv[1], int(sys.argv[2]), sys.argv[3]))
