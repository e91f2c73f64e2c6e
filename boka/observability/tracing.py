"""OpenTelemetry tracing: off unless an OTLP endpoint is configured, and then free of cost when off.

``configure_tracing(settings)`` runs once per process (the app, the worker, the relay process)
before its Runtime is built. With no endpoint (``BOKA_OTLP_ENDPOINT``, else the standard
``OTEL_EXPORTER_OTLP_TRACES_ENDPOINT`` / ``OTEL_EXPORTER_OTLP_ENDPOINT``) it returns at once:
nothing of OpenTelemetry is imported, no instrumentation is installed, and every hook below is
one test of the module's ``ENABLED`` flag.

On, it installs a tracer provider of Boka's own (not the global one, so that a process, or a test
run, may switch tracing on and off) with a batching OTLP/HTTP exporter, the SQLAlchemy
instrumentation (a span per statement) and the Redis one (a span per command), and Boka's own
spans:

- ``query <name>`` / ``mutation <name>`` / ``subscription <name>``: one per GraphQL operation,
  over HTTP (boka/schema/execution.py) and over the websocket (boka/schema/extensions.py); it
  continues a ``traceparent`` header sent by the client;
- ``event <type>``: the relay handing one outbox event to its consumers, in the trace of the
  request that wrote the event (its traceparent is stored with the event, ``events.trace``);
- ``job <function>``: one per job run, in the trace of whatever enqueued it (RQ jobs carry the
  traceparent in their meta; in-process jobs inherit the context).

Only those spans may start a trace: a statement or Redis command outside any of them (the relay's
polling, a worker waiting for jobs) is not recorded, so the traces are the requests, events and
jobs and not the background noise.
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import SpanExporter

    from boka.config import Settings

ENABLED = False  # read on every hot path: nothing else runs while False
ENTRY_ATTRIBUTE = "boka.entry"  # set on the spans that may start a trace
TRACEPARENT = "traceparent"
JOB_META_KEY = "traceparent"

_provider: TracerProvider | None = None
_tracer: Any = None


def otlp_endpoint(settings: Settings) -> str | None:
    """The traces URL (…/v1/traces) to export to, or None: tracing is off."""
    if settings.otlp_endpoint:
        return _traces_url(settings.otlp_endpoint)
    if os.environ.get("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"):
        return os.environ["OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"]  # the full URL, per the spec
    if os.environ.get("OTEL_EXPORTER_OTLP_ENDPOINT"):
        return _traces_url(os.environ["OTEL_EXPORTER_OTLP_ENDPOINT"])
    return None


def _traces_url(base: str) -> str:
    base = base.rstrip("/")
    return base if base.endswith("/v1/traces") else f"{base}/v1/traces"


def configure_tracing(
    settings: Settings, *, service_name: str = "boka", exporter: SpanExporter | None = None,
) -> bool:
    """Switch tracing on if an endpoint is configured (or ``exporter`` is given: tests hand an
    in-memory one); True if on. Idempotent: a second call in the process keeps the first's
    provider (several apps in one test process share it)."""
    global ENABLED, _provider, _tracer
    endpoint = otlp_endpoint(settings)
    if endpoint is None and exporter is None:
        return ENABLED
    if ENABLED:
        if exporter is not None:
            _add_exporter(exporter)
        return True
    from opentelemetry.instrumentation.redis import RedisInstrumentor
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.sampling import ParentBased

    service = os.environ.get("OTEL_SERVICE_NAME") or service_name
    provider = TracerProvider(
        resource=Resource.create({"service.name": service}),
        sampler=ParentBased(root=_EntrySpansOnly()),
    )
    _provider, _tracer = provider, provider.get_tracer("boka")
    if endpoint is not None:
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

        _add_exporter(OTLPSpanExporter(endpoint=endpoint), batch=True)
    if exporter is not None:
        _add_exporter(exporter)
    RedisInstrumentor().instrument(tracer_provider=provider)  # every client, sync and async
    ENABLED = True
    return True


def instrument_engine(engine: Any) -> None:
    """A span per SQL statement run by ``engine`` (an AsyncEngine; called by the Runtime for
    the engines it builds, only when tracing is on). SQLAlchemy's instrumentor would wrap
    ``create_async_engine``, which boka.db imported before tracing could be configured, so the
    engine tracer is attached to each engine instead."""
    if not ENABLED or engine is None:
        return
    from opentelemetry.instrumentation.sqlalchemy import EngineTracer
    from opentelemetry.metrics import get_meter

    assert _provider is not None
    usage = get_meter("boka.sql").create_up_down_counter("db.client.connections.usage")
    EngineTracer(_provider.get_tracer("opentelemetry.instrumentation.sqlalchemy"),
                 engine.sync_engine, usage)


def _add_exporter(exporter: SpanExporter, *, batch: bool = False) -> None:
    from opentelemetry.sdk.trace.export import BatchSpanProcessor, SimpleSpanProcessor

    assert _provider is not None
    _provider.add_span_processor(BatchSpanProcessor(exporter) if batch else SimpleSpanProcessor(exporter))


def shutdown_tracing() -> None:
    """Flush and stop: the exporters get what is pending, the instrumentation is removed."""
    global ENABLED, _provider, _tracer
    if not ENABLED:
        return
    from opentelemetry.instrumentation.redis import RedisInstrumentor
    from opentelemetry.instrumentation.sqlalchemy import EngineTracer

    ENABLED = False
    EngineTracer.remove_all_event_listeners()
    RedisInstrumentor().uninstrument()
    provider, _provider, _tracer = _provider, None, None
    if provider is not None:
        provider.shutdown()


def force_flush(timeout_millis: int = 5000) -> None:
    if _provider is not None:
        _provider.force_flush(timeout_millis)


def _entry_sampler_class() -> type:
    from opentelemetry.sdk.trace.sampling import Decision, Sampler, SamplingResult

    class EntrySpansOnly(Sampler):
        """A trace starts only at one of Boka's own spans (marked ``boka.entry``)."""

        def should_sample(self, parent_context: Any, trace_id: int, name: str, kind: Any = None,
                          attributes: Any = None, links: Any = None, trace_state: Any = None
                          ) -> SamplingResult:
            if attributes and attributes.get(ENTRY_ATTRIBUTE):
                return SamplingResult(Decision.RECORD_AND_SAMPLE, attributes)
            return SamplingResult(Decision.DROP)

        def get_description(self) -> str:
            return "BokaEntrySpansOnly"

    return EntrySpansOnly


def _EntrySpansOnly() -> Any:  # noqa: N802 - built lazily: the SDK is imported only when on
    return _entry_sampler_class()()


# --- propagation: the W3C traceparent, as a string ---------------------------------------------

def current_traceparent() -> str | None:
    """The traceparent of the span at hand (to store with an event or a job), or None."""
    if not ENABLED:
        return None
    from opentelemetry import trace

    span_context = trace.get_current_span().get_span_context()
    if not span_context.is_valid:
        return None
    return f"00-{span_context.trace_id:032x}-{span_context.span_id:016x}-{int(span_context.trace_flags):02x}"


def _parent(traceparent: str | None) -> Any:
    """An OpenTelemetry context continuing ``traceparent`` (None: the current one)."""
    if not traceparent:
        return None
    from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator

    return TraceContextTextMapPropagator().extract({TRACEPARENT: traceparent})


def header_traceparent(headers: Any) -> str | None:
    """A request's ``traceparent`` header, if it sent one."""
    if headers is None:
        return None
    try:
        return headers.get(TRACEPARENT)
    except AttributeError:
        return None


@contextmanager
def entry_span(
    name: str, *, traceparent: str | None = None, kind: str = "internal",
    attributes: dict[str, Any] | None = None,
) -> Iterator[Any]:
    """One of Boka's own spans, current while the block runs, continuing ``traceparent`` if
    given (else the current span, if any). Exceptions are recorded and re-raised."""
    from opentelemetry.trace import SpanKind

    assert _tracer is not None
    with _tracer.start_as_current_span(
        name, context=_parent(traceparent), kind=getattr(SpanKind, kind.upper()),
        attributes={ENTRY_ATTRIBUTE: True, **(attributes or {})},
    ) as span:
        yield span


def name_operation(operation_type: str, name: str | None) -> None:
    """Name the current (operation) span after the GraphQL operation, as OpenTelemetry's
    GraphQL conventions do: ``mutation createBooking``."""
    from opentelemetry import trace

    span = trace.get_current_span()
    span.update_name(f"{operation_type} {name}" if name else operation_type)
    span.set_attribute("graphql.operation.type", operation_type)
    if name:
        span.set_attribute("graphql.operation.name", name)


def set_error(span: Any, description: str) -> None:
    from opentelemetry.trace import Status, StatusCode

    span.set_status(Status(StatusCode.ERROR, description))


# --- logs ---------------------------------------------------------------------------------------

def add_trace_ids(logger: Any, method: str, event_dict: dict[str, Any]) -> dict[str, Any]:
    """structlog processor (installed only when tracing is on): the trace and span ids of the
    span at hand, beside the request id."""
    if ENABLED:
        from opentelemetry import trace

        span_context = trace.get_current_span().get_span_context()
        if span_context.is_valid:
            event_dict.setdefault("trace_id", f"{span_context.trace_id:032x}")
            event_dict.setdefault("span_id", f"{span_context.span_id:016x}")
    return event_dict


def installed() -> Sequence[str]:
    """What tracing has installed in this process (for tests and /readyz-style checks)."""
    found: list[str] = []
    if _provider is not None:
        found.append("tracer provider")
    import sys

    import redis
    import redis.asyncio

    if hasattr(redis.Redis.execute_command, "__wrapped__") or hasattr(
        redis.asyncio.Redis.execute_command, "__wrapped__"
    ):
        found.append("redis instrumentation")
    engine_module = sys.modules.get("opentelemetry.instrumentation.sqlalchemy.engine")
    if engine_module is not None and engine_module.EngineTracer._remove_event_listener_params:
        found.append("sqlalchemy instrumentation")
    return found
