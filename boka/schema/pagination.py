"""Relay connections built from the domain's keyset pages."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from strawberry import relay

from boka.pagination import Page

NodeT = TypeVar("NodeT")


def connection_from_page(page: Page[Any], to_node: Callable[[Any], NodeT]) -> relay.Connection[NodeT]:
    edges = [
        relay.Edge(cursor=cursor, node=to_node(item))
        for item, cursor in zip(page.items, page.cursors, strict=True)
    ]
    return relay.Connection(
        edges=edges,
        page_info=relay.PageInfo(
            has_next_page=page.has_next,
            has_previous_page=page.has_previous,
            start_cursor=page.cursors[0] if page.cursors else None,
            end_cursor=page.cursors[-1] if page.cursors else None,
        ),
    )
