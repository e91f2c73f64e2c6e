"""Rendering a subscription's event once for many subscribers: the selection set of the
subscription's document executed over the event, with a context of the group's principal, as
Strawberry would for each subscriber, and the result turned into JSON text once.

Strawberry's per-subscriber path runs the schema extensions' ``resolve`` hooks as graphql-core
middleware; Boka's extensions have none (tests/events/test_fanout.py holds to that), so none
are run here."""

from __future__ import annotations

import json
from typing import Any

from graphql import DocumentNode, GraphQLError, execute_subscription_event, print_ast
from strawberry import Schema

from boka.resolvers.context import Info, RequestContext
from boka.resolvers.live_handoff import Rendered

class EventRenderer:
    """The subscription operation of ``info``, ready to be executed for any event."""

    def __init__(self, info: Info, variables: dict[str, Any] | None) -> None:
        raw = info._raw_info
        self.schema: Schema = info.schema
        self.document = DocumentNode(definitions=(raw.operation, *raw.fragments.values()))
        self.variables = variables
        self.operation_name = raw.operation.name.value if raw.operation.name else None
        loc = raw.operation.loc
        source = loc.source.body if loc is not None else print_ast(self.document)
        # Subscribers whose key is equal get the same text (with equal principals' groups).
        self.key = (source, self.operation_name, json.dumps(variables, sort_keys=True, default=str))

    async def render(self, root: Any, context: RequestContext) -> Rendered:
        executor = self.schema.execution_context_class.build(
            self.schema._schema, self.document, context_value=context, raw_variable_values=self.variables,
            operation_name=self.operation_name, operation_extensions=None,
        )
        if isinstance(executor, list):  # the variables no longer coerce: cannot happen after subscribe
            return self._with_errors(None, executor)
        result = execute_subscription_event(executor.build_per_event_executor(root))
        if executor.is_awaitable(result):
            result = await result
        if result.errors:
            return self._with_errors(result.data, list(result.errors))
        return Rendered(json.dumps({"data": result.data}, separators=(",", ":")))

    def _with_errors(self, data: Any, errors: list[GraphQLError]) -> Rendered:
        self.schema.process_errors(errors, None)  # shaped and logged once, like any error
        return Rendered(None, data, [error.formatted for error in errors])

def payload_text(rendered: Rendered, request_id: str | None) -> str:
    """The ``next`` payload one subscriber gets: errors name that subscriber's request id."""
    if rendered.text is not None:
        return rendered.text
    errors = [
        {**error, "extensions": {**(error.get("extensions") or {}), "request_id": request_id}}
        for error in rendered.errors or ()
    ]
    return json.dumps({"data": rendered.data, "errors": errors}, separators=(",", ":"))
