"""Tracing (OpenTelemetry): spans for GraphQL operations, SQL, Redis, relayed events and jobs,
linked by trace id from the request through the outbox to the jobs; off (and installing
nothing) without an endpoint; exported over OTLP/HTTP to a real receiver when one is set."""

from __future__ import annotations

import asyncio
import json
import logging
import threading
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import asynccontextmanager
from http.server import BaseHTTPRequestHandler, HTTPServer
from typing import Any

import httpx
import pytest
import redis
import structlog
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from rq import Queue

from boka.config import Settings
from boka.models.tenancy import Role
from boka.jobs.queues import QUEUE_NAMES
from boka.observability import tracing
from boka.web.app import create_app
from tests.booking.support import BookingWorld, future_day, local
from tests.conftest import TEST_REDIS_URL, _truncate_all, settings_for
from tests.support import GraphQLClient, World

CREATE = """
mutation Book($input: CreateBookingInput!) {
  createBooking(input: $input) { booking { id status } errors { code message } }
}"""


@pytest.fixture(autouse=True)
def no_otel_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("OTEL_EXPORTER_OTLP_ENDPOINT", "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"):
        monkeypatch.delenv(name, raising=False)


@pytest.fixture
def exporter() -> InMemorySpanExporter:
    return InMemorySpanExporter()


@pytest.fixture
def app_factory(exporter: InMemorySpanExporter) -> Callable[[Settings], Any]:
    def make(settings: Settings) -> Any:
        return create_app(settings, span_exporter=exporter)
    return make


@asynccontextmanager
async def _running(application: Any, settings: Settings) -> AsyncIterator[Any]:
    redis.Redis.from_url(TEST_REDIS_URL).flushdb()
    try:
        async with application.router.lifespan_context(application):
            yield application
    finally:
        tracing.shutdown_tracing()  # whatever happened, the next test starts with tracing off
        await _truncate_all(settings)


async def _book(application: Any, headers: dict[str, str] | None = None) -> tuple[Any, World]:
    world = World(application.state.runtime)
    tenant = await world.tenant("salon")
    staffed = await BookingWorld(world).staffed_service(tenant)
    owner = await world.person(tenant, Role.OWNER)
    transport = httpx.ASGITransport(app=application)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver",
                                 headers=headers or {}) as client:
        booked = await GraphQLClient(client)(
            CREATE,
            {"input": {"serviceId": staffed.service_id, "start": local(future_day(), 10).isoformat(),
                       "customer": {"email": "carl@example.com"}}},
            token=owner.token, tenant="salon",
        )
    assert booked.data["createBooking"]["errors"] == [], booked.errors
    return booked, world


def _named(spans: list[ReadableSpan], name: str) -> list[ReadableSpan]:
    return [s for s in spans if s.name == name]


async def _eventually(condition: Callable[[], Any], what: str, timeout: float = 30) -> Any:
    for _ in range(int(timeout / 0.1)):
        if value := condition():
            return value
        await asyncio.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")


async def test_a_booking_traces_its_operation_sql_redis_and_the_event_and_job_it_causes(
    postgres_url: str, exporter: InMemorySpanExporter, app_factory: Callable[[Settings], Any],
) -> None:
    """Redis on (RQ jobs), the relay in the app: the request's trace reaches the relay's span
    for its event, and the RQ job enqueued there carries that trace to the worker."""
    settings = settings_for(postgres_url, relay_in_app=True)
    async with _running(app_factory(settings), settings) as application:
        await _book(application)
        spans = list(exporter.get_finished_spans())
        [operation] = _named(spans, "mutation Book")
        trace_id = operation.context.trace_id
        assert operation.attributes["graphql.operation.type"] == "mutation"
        children = [s for s in spans if s.parent is not None and s.parent.span_id == operation.context.span_id]
        sql = [s for s in children if s.attributes.get("db.system") == "postgresql"]
        assert len(sql) >= 3, [s.name for s in children]
        assert all(s.context.trace_id == trace_id for s in children)

        event = await _eventually(
            lambda: _named(exporter.get_finished_spans(), "event booking.created"), "the event's span")
        assert event[0].context.trace_id == trace_id
        # The relay's own work for the event (its consumers' SQL) is in the same trace.
        relay_children = [s for s in exporter.get_finished_spans()
                          if s.parent is not None and s.parent.span_id == event[0].context.span_id]
        assert all(s.context.trace_id == trace_id for s in relay_children)
        # Enqueueing the RQ job there is Redis commands, in the same trace too. (The request's
        # own Redis work, its rate limits, is batched across requests by a task of its own:
        # in no request's trace.)
        redis_spans = [s for s in exporter.get_finished_spans() if s.attributes.get("db.system") == "redis"]
        assert redis_spans and {s.context.trace_id for s in redis_spans} == {trace_id}

        # The job the consumer enqueued on RQ carries the trace for the worker...
        connection = redis.Redis.from_url(TEST_REDIS_URL)
        jobs = [job for name in QUEUE_NAMES for job in Queue(name, connection=connection).get_jobs()]
        traced = [job for job in jobs if job.meta.get(tracing.JOB_META_KEY)]
        assert traced, [job.func_name for job in jobs]
        for job in traced:
            assert job.meta[tracing.JOB_META_KEY].split("-")[1] == f"{trace_id:032x}"
        # ...which runs it in a span continuing that trace (the worker's job class, in a lane).
        from boka.jobs.rq_worker import LoopJob

        job = LoopJob.fetch(traced[0].id, connection=connection)
        await asyncio.to_thread(_perform_quietly, job)
        [ran] = _named(exporter.get_finished_spans(), f"job {job.func_name}")
        assert ran.context.trace_id == trace_id
        assert ran.parent is not None and ran.parent.is_remote


def _perform_quietly(job: Any) -> None:
    try:
        job.perform()
    except Exception:  # noqa: BLE001 - its outcome is not the point: its span is
        pass


async def test_in_process_jobs_continue_the_request_trace_and_a_client_traceparent_is_honoured(
    postgres_url: str, exporter: InMemorySpanExporter, app_factory: Callable[[Settings], Any],
) -> None:
    """No Redis: in-process jobs, relay in the app. A client's traceparent starts the chain."""
    settings = settings_for(postgres_url, redis_url=None)
    client_trace = "4bf92f3577b34da6a3ce929d0e0e4736"
    async with _running(app_factory(settings), settings) as application:
        await _book(application, {"traceparent": f"00-{client_trace}-00f067aa0ba902b7-01"})
        [operation] = _named(exporter.get_finished_spans(), "mutation Book")
        assert f"{operation.context.trace_id:032x}" == client_trace
        await _eventually(lambda: _named(exporter.get_finished_spans(), "event booking.created"),
                          "the event's span")
        await application.state.runtime.jobs.drain()
        spans = exporter.get_finished_spans()
        jobs = [s for s in spans if s.name.startswith("job ")]
        assert jobs, sorted({s.name for s in spans})
        # The jobs the event's consumers enqueued (the startup jobs, sweeps, have traces of
        # their own) are children of the event's span, in the client's trace.
        [event] = _named(spans, "event booking.created")
        caused = [s for s in jobs if s.parent is not None and s.parent.span_id == event.context.span_id]
        assert caused, [(s.name, s.parent) for s in jobs]
        assert {f"{s.context.trace_id:032x}" for s in caused} == {client_trace}
        # Each job's own statements are its children.
        job_ids = {s.context.span_id for s in caused}
        assert any(s.parent is not None and s.parent.span_id in job_ids
                   and s.attributes.get("db.system") == "postgresql" for s in spans)


async def test_logs_carry_trace_and_span_ids_beside_the_request_id(
    postgres_url: str, exporter: InMemorySpanExporter, app_factory: Callable[[Settings], Any],
) -> None:
    settings = settings_for(postgres_url)
    async with _running(app_factory(settings), settings):
        # A line as the app's log handler writes it (a standard library record, as uvicorn's
        # and SQLAlchemy's are, through the same formatter), logged inside a span.
        assert tracing.add_trace_ids in structlog.get_config()["processors"]
        formatter = logging.getLogger().handlers[0].formatter
        structlog.contextvars.bind_contextvars(request_id="req_1")
        try:
            with tracing.entry_span("test") as span:
                record = logging.LogRecord("boka.test", logging.INFO, __file__, 1, "hello", None, None)
                line = json.loads(formatter.format(record))
        finally:
            structlog.contextvars.unbind_contextvars("request_id")
        assert line["request_id"] == "req_1"
        assert line["trace_id"] == f"{span.get_span_context().trace_id:032x}"
        assert line["span_id"] == f"{span.get_span_context().span_id:016x}"


async def test_tracing_off_installs_nothing(postgres_url: str) -> None:
    settings = settings_for(postgres_url, relay_in_app=True)
    assert tracing.otlp_endpoint(settings) is None
    application = create_app(settings)
    async with _running(application, settings):
        assert not tracing.ENABLED
        assert tracing.installed() == []
        assert tracing.add_trace_ids not in structlog.get_config()["processors"]
        await _book(application)
        assert tracing.installed() == []
    assert "opentelemetry.sdk.trace" not in _modules_imported_by_boka_alone()


def _modules_imported_by_boka_alone() -> str:
    """The modules a fresh process imports for the app with tracing off (this test process has
    the SDK loaded by the other tests)."""
    import subprocess
    import sys

    script = ("import sys; from boka.web.app import create_app; "
              "print(' '.join(m for m in sys.modules if m.startswith('opentelemetry')))")
    return subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                          check=True, env={"PATH": "/usr/bin:/bin"}, timeout=60).stdout


class _Receiver(BaseHTTPRequestHandler):
    received: list[tuple[str, str, bytes]] = []

    def do_POST(self) -> None:  # noqa: N802 - http.server's name
        body = self.rfile.read(int(self.headers.get("content-length", 0)))
        self.received.append((self.path, self.headers.get("content-type", ""), body))
        self.send_response(200)
        self.send_header("content-type", "application/x-protobuf")
        self.send_header("content-length", "0")
        self.end_headers()

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def otlp_receiver() -> Iterator[tuple[str, list[tuple[str, str, bytes]]]]:
    received: list[tuple[str, str, bytes]] = []
    handler = type("Receiver", (_Receiver,), {"received": received})
    server = HTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", received
    finally:
        server.shutdown()
        server.server_close()


def _exported(received: list[tuple[str, str, bytes]]) -> list[tuple[str, str, str]]:
    """(service, span name, trace id) of every span the receiver got."""
    spans = []
    for path, content_type, body in received:
        assert path == "/v1/traces"
        assert content_type == "application/x-protobuf"
        request = ExportTraceServiceRequest.FromString(body)
        for resource_spans in request.resource_spans:
            service = {a.key: a.value.string_value for a in resource_spans.resource.attributes}
            spans += [(service["service.name"], span.name, span.trace_id.hex())
                      for scope in resource_spans.scope_spans for span in scope.spans]
    return spans


async def test_spans_reach_an_otlp_http_receiver_from_the_app_and_the_worker(
    postgres_url: str, otlp_receiver: tuple[str, list[tuple[str, str, bytes]]],
) -> None:
    """The deployment's configuration path: BOKA_OTLP_ENDPOINT, the app in this process, the
    relay in the app, and `worker.py --burst` in a process of its own running the job the
    event's consumer enqueued, its span in the request's trace."""
    endpoint, received = otlp_receiver
    settings = settings_for(postgres_url, otlp_endpoint=endpoint, relay_in_app=True)
    application = create_app(settings)
    async with _running(application, settings):
        assert tracing.ENABLED
        await _book(application)
        connection = redis.Redis.from_url(TEST_REDIS_URL)
        await _eventually(lambda: any(job.meta.get(tracing.JOB_META_KEY) for name in QUEUE_NAMES
                                      for job in Queue(name, connection=connection).get_jobs()),
                          "a traced job on RQ")
        worker = await asyncio.to_thread(_run_worker, settings, endpoint)
        assert worker.returncode == 0, worker.stderr[-3000:]
    # The app's shutdown flushed its batch; the worker flushed its own on exit.
    assert not tracing.installed()
    spans = _exported(received)
    [(_, _, trace_id)] = [s for s in spans if s[1] == "mutation Book"]
    assert ("boka-app", "event booking.created", trace_id) in spans
    jobs = [s for s in spans if s[0] == "boka-worker" and s[1].startswith("job ")]
    assert jobs, spans
    assert any(job[2] == trace_id for job in jobs), ([j[1] for j in jobs], trace_id, worker.stdout[-3000:])
    assert any(s[0] == "boka-worker" and s[1] != "job" and s[2] == trace_id
               and not s[1].startswith("job ") for s in spans), "the job's statements"


def _run_worker(settings: Settings, endpoint: str) -> Any:
    import os
    import subprocess
    import sys

    from boka.migrations import PROJECT_ROOT

    env = {k: v for k, v in os.environ.items() if not k.startswith(("BOKA_", "OTEL_"))}
    env.update({
        "BOKA_DATABASE_URL": settings.database_url, "BOKA_REDIS_URL": settings.redis_url or "",
        "BOKA_SECRET_KEY": settings.secret_key, "BOKA_DEV_MAILBOX_DIR": settings.dev_mailbox_dir,
        "BOKA_OTLP_ENDPOINT": endpoint, "BOKA_WORKER_CONCURRENCY": "1",
    })
    if settings.background_database_url:
        env["BOKA_BACKGROUND_DATABASE_URL"] = settings.background_database_url
    return subprocess.run([sys.executable, "worker.py", "--burst"], cwd=PROJECT_ROOT, env=env,
                          capture_output=True, text=True, timeout=120)


async def test_a_subscription_over_the_websocket_has_its_operation_span(
    postgres_url: str, exporter: InMemorySpanExporter, app_factory: Callable[[Settings], Any],
) -> None:
    """Subscriptions run through Strawberry's pipeline, not the OperationRunner: the schema
    extension gives them the same kind of span, pushed events in its trace's time."""
    from tests.events.support import BOOKING_EVENTS, live_socket, next_payload, subscribe

    settings = settings_for(postgres_url, relay_in_app=True)
    async with _running(app_factory(settings), settings) as application:
        world = World(application.state.runtime)
        tenant = await world.tenant("salon")
        staffed = await BookingWorld(world).staffed_service(tenant)
        manager = await world.person(tenant, Role.MANAGER)
        async with live_socket(application, token=manager.token) as ws:
            await subscribe(ws, "e", BOOKING_EVENTS)
            await asyncio.sleep(0.2)
            transport = httpx.ASGITransport(app=application)
            async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
                booked = await GraphQLClient(client)(
                    CREATE, {"input": {"serviceId": staffed.service_id,
                                       "start": local(future_day(), 10).isoformat(),
                                       "customer": {"email": "x@example.com"}}},
                    token=manager.token, tenant="salon")
            assert booked.data["createBooking"]["errors"] == []
            pushed = await next_payload(ws)
            assert pushed["type"] == "next", pushed
            await ws.send_json({"type": "complete", "id": "e"})
            [span] = await _eventually(
                lambda: _named(exporter.get_finished_spans(), "subscription Events"),
                "the subscription's span")
        assert span.attributes["graphql.operation.type"] == "subscription"
        assert span.parent is None  # a trace of its own, as long as the subscription lived
