# syntax=docker/dockerfile:1
# One image for every Postroom service; the command picks the service:
#   docker run IMAGE serve dispatch      (default: serve config)
#   docker run IMAGE replay feedback
ARG PYTHON_IMAGE=python:3.11-slim-bookworm

# --- builder: compilers live here only -------------------------------------------------------
FROM ${PYTHON_IMAGE} AS builder
ENV PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1
RUN apt-get update \
 && apt-get install -y --no-install-recommends build-essential \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY . .
# Wheels for the project and every dependency, so the final stage installs without compiling.
# The same pinned set CI tests (constraints.txt), so the image runs what passed.
RUN pip wheel --wheel-dir /wheels --constraint constraints.txt .

# --- runtime --------------------------------------------------------------------------------
FROM ${PYTHON_IMAGE}
# MALLOC_ARENA_MAX: glibc gives each thread (gRPC's, aiosqlite's) its own malloc arena, which
# holds on to what it once needed; two arenas took dispatch's peak under bench/dispatch.py from
# 146 to 137 MB at the same rate (`MALLOC_ARENA_MAX=2 make bench` measures it so).
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    MALLOC_ARENA_MAX=2 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    POSTROOM_BIND_HOST=0.0.0.0 \
    POSTROOM_METRICS_PORT=9090 \
    POSTROOM_DATA_DIR=/var/lib/postroom
RUN groupadd --system --gid 10001 postroom \
 && useradd --system --uid 10001 --gid 10001 --no-create-home --home-dir /nonexistent \
      --shell /usr/sbin/nologin postroom \
 && install -d -o 10001 -g 10001 -m 0750 /var/lib/postroom
# Bind-mount the wheels instead of copying them, so they never become a layer of this image.
RUN --mount=type=bind,from=builder,source=/wheels,target=/wheels \
    pip install --no-index --find-links=/wheels /wheels/*.whl
USER 10001:10001
WORKDIR /var/lib/postroom
# gRPC: config 50051, dispatch 50052, feedback 50053, unsubscribe 50054; HTTP: feedback 8081,
# unsubscribe 8082; metrics 9090.
EXPOSE 50051 50052 50053 50054 8081 8082 9090
ENTRYPOINT ["postroom"]
CMD ["serve", "config"]
