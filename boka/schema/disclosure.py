"""How much the schema tells a caller who has not signed in. In production (unless
BOKA_PUBLIC_INTROSPECTION says otherwise) an anonymous caller gets no introspection
(``__schema``, ``__type``) and no "Did you mean …?" suggestions in validation errors, which
would otherwise spell out the schema one guess at a time. Signed-in callers get both; the
schema's shape is no secret from them (and GraphiQL needs it).

``__typename`` stays allowed: clients (Apollo, Relay) add it to every selection.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from typing import Any

from graphql import DocumentNode, GraphQLError, GraphQLSchema, validate
from graphql.validation import NoSchemaIntrospectionCustomRule
from strawberry.extensions import SchemaExtension

INTROSPECTION_REFUSED = (
    "Introspection is not available to anonymous callers: sign in (or use the schema file) "
    "to read the schema."
)
_SUGGESTION = re.compile(r"\s*Did you mean [^\n]*\?\s*$")


def introspects(schema: GraphQLSchema, document: DocumentNode) -> bool:
    """Whether ``document`` asks for ``__schema`` or ``__type`` anywhere."""
    return bool(validate(schema, document, [NoSchemaIntrospectionCustomRule]))


def hides_schema_from(context: Any, public_introspection: bool) -> bool:
    """True when the caller behind ``context`` may see neither introspection nor suggestions."""
    if public_introspection:
        return False
    principal = getattr(context, "resolved_principal", None)
    return principal is None or not principal.is_authenticated


def drop_suggestions(errors: Iterable[GraphQLError]) -> None:
    """Strip graphql-core's "Did you mean …?" from the errors' messages, in place."""
    for error in errors:
        error.message = _SUGGESTION.sub("", error.message)


class HiddenSchema(SchemaExtension):
    """The same rule for operations that run through Strawberry's pipeline (the websocket):
    an anonymous caller's document is validated with introspection refused."""

    def __init__(self, *, public_introspection: bool) -> None:
        self.public_introspection = public_introspection

    def on_operation(self) -> Iterator[None]:
        context = self.execution_context
        if hides_schema_from(context.context, self.public_introspection):
            context.validation_rules = (*context.validation_rules, NoSchemaIntrospectionCustomRule)
        yield
