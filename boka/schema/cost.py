"""What a query may cost, estimated before it runs (issue 12: thirty aliased 62-day availability
fields took 177 s of server time; a nested services × staff × services fan-out answered 9.5 MB).

The estimate walks the operation with the schema's types, fragments included:

- every field costs 1;
- a connection (a field with a ``first`` argument) multiplies what is under it by its page
  size (the literal, or the largest allowed when it is a variable; the default when absent),
  and its ``edges``/``nodes`` do not multiply again;
- any other list multiplies what is under it by LIST_GUESS, a typical length;
- an availability field adds its window in days × AVAILABILITY_DAY_COST (the largest window when
  the bounds are variables), for the schedule computation behind it.

It is computed once per document (with the document cache), so it costs a request nothing.
``max_cost_rule`` makes it a validation rule, so queries and mutations (boka/schema/execution.py)
and subscriptions (Strawberry's websocket pipeline, boka/schema/extensions.py) meet one limit.
"""

from __future__ import annotations

from datetime import datetime
from functools import cache
from typing import Any

from graphql import (
    DocumentNode,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLField,
    GraphQLSchema,
    InlineFragmentNode,
    IntValueNode,
    GraphQLError,
    OperationDefinitionNode,
    SelectionSetNode,
    StringValueNode,
    get_named_type,
    get_nullable_type,
    is_list_type,
)
from graphql.validation import ValidationRule

from boka.booking.slots import MAX_WINDOW
from boka.pagination import DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE

LIST_GUESS = 5
AVAILABILITY_DAY_COST = 50
# availabilityChanged recomputes its window on every change it hears of
AVAILABILITY_FIELDS = frozenset({"availability", "availabilityDays", "availabilityChanged"})


def operation_cost(schema: GraphQLSchema, document: DocumentNode) -> int:
    """The estimate for the costliest operation of a valid document."""
    fragments = {d.name.value: d for d in document.definitions if isinstance(d, FragmentDefinitionNode)}
    costs = [
        _selection_cost(schema, d.selection_set, schema.get_root_type(d.operation), fragments)
        for d in document.definitions
        if isinstance(d, OperationDefinitionNode)
    ]
    return max(costs, default=0)


@cache
def max_cost_rule(max_cost: int) -> type[ValidationRule]:
    """The limit as a graphql-core validation rule (one class per limit, so validation caches
    keyed by their rules keep hitting)."""

    class MaxQueryCost(ValidationRule):
        def enter_document(self, node: DocumentNode, *_args: Any) -> None:
            cost = operation_cost(self.context.schema, node)
            if cost > max_cost:
                self.report_error(GraphQLError(
                    f"This query would cost about {cost:,} units; the limit is {max_cost:,}. "
                    "Ask for fewer items, a shorter availability window or fewer aliases."
                ))

    return MaxQueryCost


def _selection_cost(
    schema: GraphQLSchema, selection_set: SelectionSetNode | None, parent: object,
    fragments: dict[str, FragmentDefinitionNode], *, in_connection: bool = False,
) -> int:
    if selection_set is None or parent is None:
        return 0
    total = 0
    for selection in selection_set.selections:
        if isinstance(selection, FieldNode):
            total += _field_cost(schema, selection, parent, fragments, in_connection)
        elif isinstance(selection, InlineFragmentNode):
            condition = selection.type_condition
            target = schema.get_type(condition.name.value) if condition else parent
            total += _selection_cost(schema, selection.selection_set, target, fragments,
                                     in_connection=in_connection)
        elif isinstance(selection, FragmentSpreadNode):
            fragment = fragments.get(selection.name.value)
            if fragment is not None:  # not inside itself: a cycle (invalid anyway) stops here
                inner = {name: f for name, f in fragments.items() if f is not fragment}
                target = schema.get_type(fragment.type_condition.name.value)
                total += _selection_cost(schema, fragment.selection_set, target, inner,
                                         in_connection=in_connection)
    return total


def _field_cost(
    schema: GraphQLSchema, node: FieldNode, parent: object, fragments: dict[str, FragmentDefinitionNode],
    in_connection: bool,
) -> int:
    fields = getattr(parent, "fields", None) or {}
    definition: GraphQLField | None = fields.get(node.name.value)
    if definition is None:  # __typename and other meta fields
        return 1
    child_type = get_named_type(definition.type)
    if "first" in definition.args:
        multiplier, children_in_connection = _page_size(node), True
    elif is_list_type(get_nullable_type(definition.type)):
        edges = in_connection and node.name.value in ("edges", "nodes")
        multiplier, children_in_connection = (1 if edges else LIST_GUESS), False
    else:
        multiplier, children_in_connection = 1, False
    extra = _availability_cost(node) if node.name.value in AVAILABILITY_FIELDS else 0
    children = _selection_cost(schema, node.selection_set, child_type, fragments,
                               in_connection=children_in_connection)
    return 1 + extra + multiplier * children


def _argument(node: FieldNode, name: str) -> object | None:
    return next((a.value for a in node.arguments or () if a.name.value == name), None)


def _page_size(node: FieldNode) -> int:
    value = _argument(node, "first")
    if value is None:
        return DEFAULT_PAGE_SIZE
    if isinstance(value, IntValueNode):
        return max(1, min(int(value.value), MAX_PAGE_SIZE))
    return MAX_PAGE_SIZE  # a variable: the largest it may be


def _availability_cost(node: FieldNode) -> int:
    days = MAX_WINDOW.days
    start, end = _argument(node, "from"), _argument(node, "to")
    if isinstance(start, StringValueNode) and isinstance(end, StringValueNode):
        try:
            span = datetime.fromisoformat(end.value) - datetime.fromisoformat(start.value)
            days = max(1, min(MAX_WINDOW.days, span.days + (1 if span.seconds else 0)))
        except (ValueError, TypeError):
            pass  # the resolver refuses it; the estimate stays the largest
    return days * AVAILABILITY_DAY_COST
