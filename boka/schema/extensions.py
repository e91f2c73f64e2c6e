"""Schema extensions: per-operation metrics and the limits every document must stay within."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from functools import partial

from strawberry.extensions import (
    AddValidationRules,
    MaxAliasesLimiter,
    MaxTokensLimiter,
    ParserCache,
    QueryDepthLimiter,
    SchemaExtension,
    ValidationCache,
)

from boka.config import Settings
from boka.errors import ErrorCode
from boka.identity.request_audit import record_operation
from boka.observability import tracing
from boka.observability.metrics import GRAPHQL_LATENCY, GRAPHQL_REQUESTS
from boka.schema.cost import max_cost_rule
from boka.schema.disclosure import HiddenSchema
from boka.schema.errors import error_code
from boka.schema.operation_names import operation_label

CACHE_SIZE = 1024


class PersistedQueryLookup(SchemaExtension):
    """Before anything parses the operation: swap a persisted query's hash for its text (APQ),
    or refuse what the allowlist does not hold (boka/persisted_queries.py)."""

    async def on_operation(self):  # type: ignore[no-untyped-def]
        context = self.execution_context
        runtime = getattr(context.context, "runtime", None)
        persisted = runtime.persisted_queries if runtime is not None else None
        if persisted is not None:
            context.query = await persisted.resolve(context.query, context.operation_extensions)
            if context.query:  # a subscription: Strawberry validates it later
                await persisted.remember(context.query, context.operation_extensions)
        yield


class OperationMetrics(SchemaExtension):
    """Counts and times each operation by name and outcome (``ok`` or the first error code)."""

    def on_operation(self) -> Iterator[None]:
        started = time.perf_counter()
        yield
        result = self.execution_context.result
        errors = getattr(result, "errors", None) or self.execution_context.pre_execution_errors
        outcome = error_code(errors[0]).value if errors else "ok"
        operation = operation_label(self.execution_context.operation_name)
        GRAPHQL_REQUESTS.labels(operation, outcome).inc()
        GRAPHQL_LATENCY.labels(operation, outcome).observe(time.perf_counter() - started)


class OperationTracing(SchemaExtension):
    """The span of an operation run by Strawberry's pipeline (subscriptions; queries and
    mutations have theirs in boka/schema/execution.py): ``subscription <name>``, lasting as long
    as the subscription, current while its resolvers run, continuing the ``traceparent`` of the
    websocket's upgrade request. Only in the schema when tracing is on (and then it checks the
    flag again, since a schema may outlive tracing in a test process).

    Not Strawberry's OpenTelemetryExtension: it would see only this pipeline (not the
    OperationRunner's queries and mutations), names every span "GraphQL Query", records the
    query text, and adds a span per resolved field."""

    def on_operation(self) -> Iterator[None]:
        if not tracing.ENABLED:
            yield
            return
        context = self.execution_context
        request = getattr(context.context, "request", None)
        with tracing.entry_span(
            "graphql", kind="server",
            traceparent=tracing.header_traceparent(getattr(request, "headers", None)),
        ) as span:
            yield
            try:
                operation_type = context.operation_type.value
            except Exception:  # noqa: BLE001 - no valid document: the errors say why
                operation_type = "subscription"
            tracing.name_operation(operation_type, context.operation_name)
            errors = getattr(context.result, "errors", None) or context.pre_execution_errors
            if errors:
                span.set_attribute("boka.error_code", error_code(errors[0]).value)
                tracing.set_error(span, errors[0].message)


def schema_extensions(settings: Settings) -> list[Callable[[], SchemaExtension]]:
    """Factories, so every operation gets its own extension instances (Strawberry's advice);
    the parser and validation caches still share one LRU each across requests.

    The limits' validation rules are made once, here: Strawberry's limiters make a new rule
    class per instance, and the rules are part of the validation cache's key, so with a
    limiter per operation every subscribe was validated again and left an entry of its own
    (about 5 kB per websocket subscriber, bench/fanout.py)."""
    traced: list[Callable[[], SchemaExtension]] = [OperationTracing] if tracing.ENABLED else []
    limits = [
        *QueryDepthLimiter(max_depth=settings.query_max_depth).validation_rules,
        *MaxAliasesLimiter(max_alias_count=settings.query_max_aliases).validation_rules,
        max_cost_rule(settings.query_max_cost),  # subscriptions too
    ]
    return [
        *traced,  # first: the span covers the others' work
        PersistedQueryLookup,  # first: the others need the query text
        OperationMetrics,
        SecurityAudit,
        partial(ParserCache, maxsize=CACHE_SIZE),
        partial(ValidationCache, maxsize=CACHE_SIZE),
        partial(MaxTokensLimiter, max_token_count=settings.query_max_tokens),
        partial(AddValidationRules, limits),
        partial(HiddenSchema, public_introspection=settings.anonymous_introspection),
    ]


class SecurityAudit(SchemaExtension):
    """Records API key usage and permission denials once the operation has run."""

    async def on_operation(self):  # type: ignore[no-untyped-def]
        yield
        context = self.execution_context.context
        principal = getattr(context, "resolved_principal", None)
        if principal is None:
            return
        result = self.execution_context.result
        errors = getattr(result, "errors", None) or self.execution_context.pre_execution_errors or []
        denials = [
            f"{'.'.join(str(p) for p in (error.path or []))}: {error.message}"
            for error in errors
            if error_code(error) is ErrorCode.FORBIDDEN
        ]
        await record_operation(
            context.runtime.database, principal, operation=self.execution_context.operation_name,
            success=not errors, denials=denials, device=context.device,
        )
