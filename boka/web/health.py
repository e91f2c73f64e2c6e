"""Operational endpoints: liveness, readiness and Prometheus metrics."""

from __future__ import annotations

import asyncio

from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, generate_latest
from sqlalchemy.pool import QueuePool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from boka.observability.logging import get_logger
from boka.observability.metrics import DB_POOL_CONNECTIONS, DEPENDENCY_UP, LIVE_SUBSCRIBERS
from boka.runtime import Runtime

READINESS_TIMEOUT_SECONDS = 2.0
log = get_logger("boka.health")


async def healthz(request: Request) -> Response:
    """The process is up and serving. Says nothing about its dependencies."""
    return JSONResponse({"status": "ok"})


async def readyz(request: Request) -> Response:
    """Ready to take traffic: the database answers, when configured Redis too, and the live
    fan-out is subscribed to the broadcast channel (else subscriptions would get nothing)."""
    runtime: Runtime = request.app.state.runtime
    checks = {"database": await _check(runtime.database.ping())}
    if runtime.redis is not None:
        checks["redis"] = await _check(runtime.redis.ping())
    checks["live"] = "ok" if runtime.live.ready else "unavailable"
    ready = all(state == "ok" for state in checks.values())
    return JSONResponse(
        {"status": "ready" if ready else "unavailable", "checks": checks},
        status_code=200 if ready else 503,
    )


async def _check(probe) -> str:  # type: ignore[no-untyped-def]
    try:
        await asyncio.wait_for(probe, READINESS_TIMEOUT_SECONDS)
    except Exception as exc:  # any failure means "not ready"; the reason goes to the log
        log.warning("readiness check failed", error=type(exc).__name__)
        return "unavailable"
    return "ok"


async def metrics(request: Request) -> Response:
    runtime: Runtime | None = getattr(request.app.state, "runtime", None)
    if runtime is not None:
        await _sample(runtime)
    return Response(generate_latest(REGISTRY), media_type=CONTENT_TYPE_LATEST)


async def _sample(runtime: Runtime) -> None:
    """Gauges read at scrape time: is each dependency reachable from this process (what the
    "database down" and "Redis down" alerts watch), live subscribers, pool use."""
    probes = {"database": runtime.database.ping}
    if runtime.redis is not None:
        probes["redis"] = runtime.redis.ping
    for name, probe in probes.items():
        DEPENDENCY_UP.labels(dependency=name).set(1 if await _check(probe()) == "ok" else 0)
    LIVE_SUBSCRIBERS.set(runtime.live.hub.listener_count())
    engines = {"app": runtime.database.engine, "background": runtime.database.background_engine}
    for name, engine in engines.items():
        pool = engine.pool if engine is not None else None
        if not isinstance(pool, QueuePool):
            continue  # SQLite's pool (embedded mode): nothing worth counting
        DB_POOL_CONNECTIONS.labels(pool=name, state="in_use").set(pool.checkedout())
        DB_POOL_CONNECTIONS.labels(pool=name, state="idle").set(pool.checkedin())
        DB_POOL_CONNECTIONS.labels(pool=name, state="limit").set(pool.size() + pool._max_overflow)
