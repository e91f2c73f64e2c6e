"""Text no database can store, refused for every string a client sends (issue 12 item 7): a NUL
(PostgreSQL's text refuses it; SQLite would store it) or a lone surrogate (not UTF-8 at all). One
check for every argument, inline in the document or in the variables, before anything runs, so a
resolver never sees such a string: a ``VALIDATION_ERROR`` that names where it was.

Lengths and formats are each field's own business (boka/validation.py)."""

from __future__ import annotations

from typing import Any

from graphql import GraphQLError, StringValueNode
from graphql.validation import ValidationRule

from boka.validation import has_unstorable_characters

MESSAGE = "Text may not contain NUL characters or unpaired surrogates"


class StorableStringsRule(ValidationRule):
    """A validation rule: every string literal in the document is storable text."""

    def enter_string_value(self, node: StringValueNode, *_args: Any) -> None:
        if has_unstorable_characters(node.value):
            self.report_error(GraphQLError(f"{MESSAGE}.", node))


def unstorable_variable(variables: dict[str, Any] | None) -> GraphQLError | None:
    """An error naming the first variable (by its path) whose text cannot be stored, if any."""
    if not variables:
        return None
    pending: list[tuple[str, Any]] = [(f"${name}", value) for name, value in variables.items()]
    while pending:
        path, value = pending.pop()
        if isinstance(value, str):
            if has_unstorable_characters(value):
                return GraphQLError(f"{MESSAGE}: {path}.", extensions={"field": path})
        elif isinstance(value, dict):
            pending.extend((f"{path}.{key}", item) for key, item in value.items())
            if any(isinstance(key, str) and has_unstorable_characters(key) for key in value):
                return GraphQLError(f"{MESSAGE}: {path}.", extensions={"field": path})
        elif isinstance(value, list):
            pending.extend((f"{path}.{index}", item) for index, item in enumerate(value))
    return None
