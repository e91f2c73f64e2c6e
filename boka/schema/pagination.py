"""Relay connections built from the domain's keyset pages.

Every connection takes ``first``/``after`` and ``last``/``before`` (the Relay cursor connection
spec) and offers ``totalCount``, which runs its count only when a query selects it.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Annotated, Any, TypeVar

import sqlalchemy as sa
import strawberry
from sqlalchemy.ext.asyncio import AsyncSession
from strawberry import relay
from strawberry.relay.types import NodeType

from boka.identity.principal import Principal
from boka.pagination import Page, count_rows

NodeT = TypeVar("NodeT")

# Runs a count in the transaction the page was read in (its tenant, or all tenants for a
# superadmin's audit trail).
Counter = Callable[[sa.Select[Any]], Awaitable[int]]


@strawberry.type(name="Connection", description="A page of a list, with its cursors (Relay's cursor connection).")
class Connection(relay.Connection[NodeType]):
    everything: strawberry.Private[sa.Select[Any] | None] = None
    counter: strawberry.Private[Counter | None] = None

    @strawberry.field(
        description="How many items the whole list has (with its filters, across every page). "
        "Costs one count query, run only when you select this field."
    )
    async def total_count(self) -> int:
        if self.everything is None or self.counter is None:
            return len(self.edges)
        return await self.counter(self.everything)


def counted_in_read(info: Any) -> Counter:
    """Counts in the request's read transaction for its principal (what ``read`` uses)."""
    from boka.schema.transactions import read

    async def count(everything: sa.Select[Any]) -> int:
        async def query(db: AsyncSession, principal: Principal) -> int:
            return await count_rows(db, everything)

        return await read(info, query)

    return count


def connection_from_page(
    page: Page[Any], to_node: Callable[[Any], NodeT], counter: Counter | None = None
) -> Connection[NodeT]:
    edges = [
        relay.Edge(cursor=cursor, node=to_node(item))
        for item, cursor in zip(page.items, page.cursors, strict=True)
    ]
    return Connection(
        edges=edges,
        page_info=relay.PageInfo(
            has_next_page=page.has_next,
            has_previous_page=page.has_previous,
            start_cursor=page.cursors[0] if page.cursors else None,
            end_cursor=page.cursors[-1] if page.cursors else None,
        ),
        everything=page.everything,
        counter=counter,
    )


# The four paging arguments every connection takes, described once.
First = Annotated[int | None, strawberry.argument(
    description="Return the first n items (after `after`, if given); 1 to 500, 20 by default. "
    "Not with `last`."
)]
After = Annotated[str | None, strawberry.argument(
    description="Return items after this cursor (an edge's `cursor`, or `pageInfo.endCursor`)."
)]
Last = Annotated[int | None, strawberry.argument(
    description="Return the last n items (before `before`, if given), in the list's own order; "
    "1 to 500. Not with `first`."
)]
Before = Annotated[str | None, strawberry.argument(
    description="Return items before this cursor (an edge's `cursor`, or `pageInfo.startCursor`)."
)]
