"""The Starlette application factory."""

from __future__ import annotations

import gc
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.routing import Route, WebSocketRoute
from uvicorn.middleware.proxy_headers import ProxyHeadersMiddleware

from boka.config import Settings, get_settings
from boka.jobs.rearm import RearmWatch
from boka.jobs.scheduled import enqueue_startup_jobs
from boka.observability.logging import configure_logging
from boka.observability.tracing import configure_tracing, shutdown_tracing
from boka.runtime import Runtime
from boka.schema.root import build_schema
from boka.web.cors import BokaCORS
from boka.web.dev_mailbox import dev_mailbox_routes
from boka.web.graphql import BokaGraphQL
from boka.web.health import healthz, metrics, readyz
from boka.web.middleware import RequestIdMiddleware
from boka.web.notifications import calendar_feed, unsubscribe_link
from boka.web.pages import page_routes
from boka.web.webhooks import stripe_webhook

if TYPE_CHECKING:
    from opentelemetry.sdk.trace.export import SpanExporter


def trusted_proxy_middleware(settings: Settings) -> list[Middleware]:
    """The client's address from X-Forwarded-For, believed only from BOKA_TRUSTED_PROXIES and
    taken as the rightmost hop that is not a trusted proxy (what a client writes itself is to
    the left of it). Run uvicorn with --no-proxy-headers, so this is the only place that does
    it (``python app.py`` does)."""
    trusted = [entry.strip() for entry in settings.trusted_proxies.split(",") if entry.strip()]
    if not trusted or "*" in trusted:  # "*" would take the leftmost, client-written, address
        return []
    return [Middleware(ProxyHeadersMiddleware, trusted_hosts=trusted)]


def create_app(settings: Settings | None = None, *, span_exporter: SpanExporter | None = None) -> Starlette:
    """``span_exporter``: send spans there too (tests hand an in-memory one); tracing is
    otherwise on only with an OTLP endpoint configured (boka/observability/tracing.py)."""
    settings = settings or get_settings()
    settings.check_secret_key()
    traced = configure_tracing(settings, service_name="boka-app", exporter=span_exporter)
    configure_logging(settings.log_level, trace_ids=traced)
    runtime = Runtime.from_settings(settings)
    graphql = BokaGraphQL(runtime, schema=build_schema(settings))

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        await runtime.identity_cache.start()
        await runtime.live.start(runtime)
        await enqueue_startup_jobs(runtime)
        rearm_watch = RearmWatch(runtime)
        rearm_watch.start()
        # Everything built so far (modules, the schema, the mappers: most of the heap) lives
        # as long as the process. Frozen, the cyclic GC no longer walks it on each full
        # collection: those took 200-800 ms with 1,000 live subscribers (bench/fanout.py).
        gc.freeze()
        try:
            yield
        finally:
            await rearm_watch.stop()
            await runtime.live.stop()
            await runtime.identity_cache.stop()
            await runtime.close()
            if traced:
                shutdown_tracing()  # flushes what is pending to the exporters

    app = Starlette(
        routes=[
            Route("/graphql", graphql),  # every method: the view refuses others as GraphQL errors
            WebSocketRoute("/graphql", graphql),
            Route("/healthz", healthz, methods=["GET"]),
            Route("/readyz", readyz, methods=["GET"]),
            Route("/metrics", metrics, methods=["GET"]),
            Route("/calendar/{token}.ics", calendar_feed, methods=["GET"]),
            Route("/notifications/unsubscribe/{token}", unsubscribe_link, methods=["GET", "POST"]),
            Route("/webhooks/stripe", stripe_webhook, methods=["POST"]),
            *(page_routes(settings) if settings.web_pages else []),
            *dev_mailbox_routes(settings),
        ],
        middleware=[
            *trusted_proxy_middleware(settings),
            Middleware(RequestIdMiddleware, hsts=settings.secure_cookies),
            Middleware(BokaCORS, settings=settings, database=runtime.database, cache=runtime.identity_cache),
        ],
        lifespan=lifespan,
    )
    app.state.runtime = runtime
    return app
