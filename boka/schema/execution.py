"""Running one query or mutation, lean: what Strawberry's per-request extension pipeline did,
as plain steps, with the parsed and validated document cached by its text.

Strawberry runs every operation through a chain of schema extensions built anew per request
(issue 10: the limiters' fresh validation rules made the validation cache miss every time, and
the chain itself cost more than graphql-core's execution of a small query). Here each step is
a call: persisted-query lookup, a document from the cache (parsed with the token limit and
validated with the depth and alias limits, once per distinct text), the operation type check,
graphql-core's execute with Strawberry's execution context (so resolvers see the same
``info``), then the errors shaped for clients, metrics and the security audit.

Subscriptions still go through Strawberry's own ``subscribe`` and its extensions.
"""

from __future__ import annotations

import time
from collections import OrderedDict
from functools import lru_cache
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from graphql import (
    DocumentNode,
    GraphQLError,
    GraphQLSchema,
    OperationDefinitionNode,
    parse,
    specified_rules,
    validate,
)
from graphql import ExecutionResult as GraphQLExecutionResult
from graphql import execute as graphql_execute
from graphql.validation import ASTValidationRule
from strawberry.exceptions import MissingQueryError
from strawberry.execution import optimized_is_awaitable
from strawberry.extensions.max_aliases import create_validator as max_aliases_rule
from strawberry.extensions.query_depth_limiter import create_validator as max_depth_rule
from strawberry.schema.exceptions import CannotGetOperationTypeError, InvalidOperationTypeError
from strawberry.schema.schema import StrawberryGraphQLCoreExecutionContext
from strawberry.schema.validation_rules.maybe_null import MaybeNullValidationRule
from strawberry.schema.validation_rules.one_of import OneOfInputValidationRule
from strawberry.types import ExecutionResult
from strawberry.types.graphql import OperationType

from boka.config import Settings
from boka.errors import BokaError, ErrorCode, RateLimited
from boka.identity.request_audit import record_operation
from boka.observability import tracing
from boka.observability.metrics import GRAPHQL_LATENCY, GRAPHQL_REQUESTS
from boka.persisted_queries import query_hash
from boka.schema.cost import max_cost_rule, operation_cost
from boka.schema.disclosure import INTROSPECTION_REFUSED, drop_suggestions, hides_schema_from, introspects
from boka.schema.errors import error_code, shape_error
from boka.schema.input_guard import StorableStringsRule, unstorable_variable
from boka.schema.operation_names import operation_label

DOCUMENT_CACHE_SIZE = 1024


@dataclass(frozen=True)
class PreparedDocument:
    """A query text parsed and validated once; ``errors`` are its parse or validation errors
    (copied per use, since shaping an error changes it)."""

    document: DocumentNode | None
    errors: tuple[GraphQLError, ...]
    operations: dict[str | None, OperationType]  # by name; None: the only operation, if one
    first_name: str | None = None  # the name of the first operation, if it has one
    introspects: bool = False  # asks for __schema or __type (boka/schema/disclosure.py)
    cost: int = 0  # the estimate of boka/schema/cost.py, for a valid document

    def operation_name(self, requested: str | None) -> str | None:
        return requested if requested is not None else self.first_name

    def operation_type(self, operation_name: str | None) -> OperationType:
        found = self.operations.get(operation_name)
        if found is None:
            raise CannotGetOperationTypeError(operation_name)
        return found

    def fresh_errors(self) -> list[GraphQLError]:
        return [
            GraphQLError(e.message, e.nodes, e.source, e.positions, e.path, e.original_error)
            for e in self.errors
        ]


@dataclass(frozen=True)
class MutationDocument:
    """The mutation a request would run: its document's SHA-256 and its operation's name."""

    document_hash: str
    operation_name: str | None


class DocumentCache:
    """Parsed and validated documents by query text, least recently used dropped first."""

    def __init__(self, schema: GraphQLSchema, settings: Settings, size: int = DOCUMENT_CACHE_SIZE) -> None:
        self._schema = schema
        self._max_tokens = settings.query_max_tokens
        self._rules: tuple[type[ASTValidationRule], ...] = (
            *specified_rules,
            MaybeNullValidationRule,
            OneOfInputValidationRule,
            max_depth_rule(settings.query_max_depth, None, None),
            max_aliases_rule(settings.query_max_aliases),
            StorableStringsRule,
            max_cost_rule(settings.query_max_cost),
        )
        self._size = size
        self._documents: OrderedDict[str, PreparedDocument] = OrderedDict()

    def prepare(self, query: str) -> PreparedDocument:
        prepared = self._documents.get(query)
        if prepared is not None:
            self._documents.move_to_end(query)
            return prepared
        prepared = self._prepare(query)
        self._documents[query] = prepared
        if len(self._documents) > self._size:
            self._documents.popitem(last=False)
        return prepared

    def _prepare(self, query: str) -> PreparedDocument:
        try:
            document = parse(query, max_tokens=self._max_tokens)
        except GraphQLError as error:
            return PreparedDocument(None, (error,), {})
        errors = validate(self._schema, document, self._rules)
        cost = 0 if errors else operation_cost(self._schema, document)
        first = next((d for d in document.definitions if isinstance(d, OperationDefinitionNode)), None)
        return PreparedDocument(
            document, tuple(errors), _operation_types(document),
            first.name.value if first is not None and first.name else None,
            introspects(self._schema, document), cost,
        )


def _operation_types(document: DocumentNode) -> dict[str | None, OperationType]:
    operations = [d for d in document.definitions if isinstance(d, OperationDefinitionNode)]
    types: dict[str | None, OperationType] = {
        d.name.value: OperationType(d.operation.value) for d in operations if d.name
    }
    if len(operations) == 1:  # no name given: the only operation; with several, none
        types[None] = OperationType(operations[0].operation.value)
    return types


class OperationRunner:
    """``Schema.execute`` for queries and mutations (see the module's docstring)."""

    def __init__(self, schema: GraphQLSchema, settings: Settings) -> None:
        self._schema = schema
        self._documents = DocumentCache(schema, settings)
        self._public_introspection = settings.anonymous_introspection

    async def mutation(
        self, query: str | None, extensions: dict[str, Any] | None, operation_name: str | None,
        context: Any,
    ) -> MutationDocument | None:
        """What ``execute`` would run, if that is a well-formed, valid mutation; None for
        anything else (a query, an unknown persisted hash, a syntax or validation error), which
        ``execute`` then answers as usual. The document is cached for ``execute``."""
        try:
            text = await _persisted_query(context, query, extensions)
        except BokaError:
            return None
        if not text:
            return None
        prepared = self._documents.prepare(text)
        if prepared.document is None or prepared.errors:
            return None
        if prepared.operations.get(operation_name) is not OperationType.MUTATION:
            return None
        return MutationDocument(query_hash(text), prepared.operation_name(operation_name))

    async def execute(
        self,
        query: str | None,
        *,
        variable_values: dict[str, Any] | None,
        context_value: Any,
        root_value: Any,
        operation_name: str | None,
        allowed_operation_types: Iterable[OperationType],
        operation_extensions: dict[str, Any] | None,
    ) -> ExecutionResult:
        if tracing.ENABLED:  # off: this one test is all tracing costs an operation
            return await self._traced(
                query, variable_values, context_value, root_value, operation_name,
                allowed_operation_types, operation_extensions,
            )
        return await self._execute(
            query, variable_values, context_value, root_value, operation_name,
            allowed_operation_types, operation_extensions,
        )

    async def _traced(
        self, query: str | None, variables: dict[str, Any] | None, context: Any, root_value: Any,
        operation_name: str | None, allowed: Iterable[OperationType],
        extensions: dict[str, Any] | None,
    ) -> ExecutionResult:
        """The operation in a span of its own (renamed ``<type> <name>`` once the document is
        known, see ``_run``), continuing the client's ``traceparent`` header if it sent one."""
        request = getattr(context, "request", None)
        with tracing.entry_span(
            "graphql", kind="server",
            traceparent=tracing.header_traceparent(getattr(request, "headers", None)),
            attributes={"graphql.operation.name": operation_name or ""},
        ) as span:
            result = await self._execute(
                query, variables, context, root_value, operation_name, allowed, extensions
            )
            if result.errors:
                span.set_attribute("boka.error_code", error_code(result.errors[0]).value)
                tracing.set_error(span, result.errors[0].message)
            return result

    async def _execute(
        self, query: str | None, variable_values: dict[str, Any] | None, context_value: Any,
        root_value: Any, operation_name: str | None,
        allowed_operation_types: Iterable[OperationType],
        operation_extensions: dict[str, Any] | None,
    ) -> ExecutionResult:
        started = time.perf_counter()
        run = self._run(
            query, variable_values, context_value, root_value, operation_name,
            allowed_operation_types, operation_extensions,
        )
        shares_reads = getattr(context_value, "run_with_shared_reads", None)
        result, operation_name = await (shares_reads(run) if shares_reads else run)
        errors = result.errors or []
        if errors and hides_schema_from(context_value, self._public_introspection):
            drop_suggestions(errors)
        for error in errors:
            shape_error(error)
        outcome = error_code(errors[0]).value if errors else "ok"
        label = operation_label(operation_name)
        _operations(label, outcome).inc()
        _latency(label, outcome).observe(time.perf_counter() - started)
        await _audit(context_value, operation_name, errors)
        return result

    async def _run(
        self, query: str | None, variables: dict[str, Any] | None, context: Any, root_value: Any,
        operation_name: str | None, allowed: Iterable[OperationType],
        extensions: dict[str, Any] | None,
    ) -> tuple[ExecutionResult, str | None]:
        """The result, and the operation's name (as asked, else the document's first)."""
        try:
            query = await _persisted_query(context, query, extensions)
        except BokaError as refused:
            error = GraphQLError(refused.message, original_error=refused)
            return ExecutionResult(data=None, errors=[error]), operation_name
        if not query:
            raise MissingQueryError
        prepared = self._documents.prepare(query)
        if prepared.document is None:  # a syntax error
            return ExecutionResult(data=None, errors=prepared.fresh_errors()), operation_name
        operation_type = prepared.operation_type(operation_name)
        if operation_type not in allowed:
            raise InvalidOperationTypeError(operation_type)
        name = prepared.operation_name(operation_name)
        if tracing.ENABLED:
            tracing.name_operation(operation_type.value, name)
        if prepared.errors:
            return ExecutionResult(data=None, errors=prepared.fresh_errors()), name
        if prepared.introspects and hides_schema_from(context, self._public_introspection):
            return ExecutionResult(data=None, errors=[GraphQLError(INTROSPECTION_REFUSED)]), name
        if (unstorable := unstorable_variable(variables)) is not None:
            return ExecutionResult(data=None, errors=[unstorable]), name
        charge = getattr(context, "charge_api_cost", None)
        if charge is not None:
            try:
                await charge(prepared.cost)
            except RateLimited as refused:  # over the allowance: nothing runs
                error = GraphQLError(refused.message, original_error=refused)
                return ExecutionResult(data=None, errors=[error]), name
        await _remember_persisted(context, query, extensions)
        outcome = graphql_execute(
            self._schema, prepared.document, root_value=root_value, context_value=context,
            variable_values=variables, operation_name=operation_name,
            executor_class=StrawberryGraphQLCoreExecutionContext,
            is_awaitable=optimized_is_awaitable, operation_extensions=extensions,
        )
        if optimized_is_awaitable(outcome):
            outcome = await outcome
        assert isinstance(outcome, GraphQLExecutionResult)
        return ExecutionResult(data=outcome.data, errors=outcome.errors), name


async def _persisted_query(context: Any, query: str | None, extensions: dict[str, Any] | None) -> str | None:
    """The query text: a persisted query's hash swapped for its text (APQ), or refused when the
    allowlist does not hold it (boka/persisted_queries.py)."""
    runtime = getattr(context, "runtime", None)
    persisted = runtime.persisted_queries if runtime is not None else None
    if persisted is None:
        return query
    return await persisted.resolve(query, extensions)


async def _remember_persisted(context: Any, query: str, extensions: dict[str, Any] | None) -> None:
    runtime = getattr(context, "runtime", None)
    if runtime is not None and runtime.persisted_queries is not None:
        await runtime.persisted_queries.remember(query, extensions)


@lru_cache(maxsize=2048)
def _operations(label: str, outcome: str) -> Any:
    """The counter's child for these labels (bounded: operation_label caps the names)."""
    return GRAPHQL_REQUESTS.labels(label, outcome)


@lru_cache(maxsize=2048)
def _latency(label: str, outcome: str) -> Any:
    return GRAPHQL_LATENCY.labels(label, outcome)


async def _audit(context: Any, operation_name: str | None, errors: list[GraphQLError]) -> None:
    """API key usage and permission denials go to the audit trail once the operation ran."""
    principal = getattr(context, "resolved_principal", None)
    if principal is None or (principal.api_key is None and not errors):
        return
    denials = [
        f"{'.'.join(str(p) for p in (error.path or []))}: {error.message}"
        for error in errors
        if error_code(error) is ErrorCode.FORBIDDEN
    ]
    await record_operation(
        context.runtime.database, principal, operation=operation_name,
        success=not errors, denials=denials, device=context.device,
    )

