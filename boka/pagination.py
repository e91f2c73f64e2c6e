"""Keyset pagination: pages that stay fast however deep the client goes.

Rows are ordered by (sort key, id); a cursor encodes a row's pair, and a page starts strictly
after one (``after``) or ends strictly before one (``before``), which an index on (tenant_id,
sort key, id) answers directly in either direction. ``first`` takes rows from the start of
that window, ``last`` from its end (the Relay cursor connection spec); ``last`` reads the
index backwards and gives the rows back in the connection's own order.
"""

from __future__ import annotations

import base64
import json
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Generic, TypeVar

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from boka.errors import InvalidRequest

T = TypeVar("T")
DEFAULT_PAGE_SIZE = 20
MAX_PAGE_SIZE = 500


@dataclass(frozen=True)
class Page(Generic[T]):
    items: list[T]
    cursors: list[str]
    has_next: bool
    has_previous: bool
    # The whole connection's rows, without cursors, order or limit: what ``totalCount`` counts
    # (only when a client asks for it; see count_rows).
    everything: sa.Select[Any] | None = None


def encode_cursor(sort_value: datetime, row_id: uuid.UUID) -> str:
    raw = json.dumps([sort_value.isoformat(), str(row_id)]).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str) -> tuple[datetime, uuid.UUID]:
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        sort_value, row_id = json.loads(base64.urlsafe_b64decode(padded))
        return datetime.fromisoformat(sort_value), uuid.UUID(row_id)
    except (ValueError, TypeError) as exc:
        raise InvalidRequest("The cursor is not one this API gave out.") from exc


def page_size(first: int | None, name: str = "first") -> int:
    if first is None:
        return DEFAULT_PAGE_SIZE
    if not 1 <= first <= MAX_PAGE_SIZE:
        raise InvalidRequest(f"'{name}' must be between 1 and {MAX_PAGE_SIZE}.", field=name)
    return first


async def keyset_page(
    db: AsyncSession,
    statement: sa.Select[Any],
    *,
    sort_column: sa.ColumnElement[datetime],
    id_column: sa.ColumnElement[uuid.UUID],
    first: int | None,
    after: str | None,
    last: int | None = None,
    before: str | None = None,
    descending: bool = False,
) -> Page[Any]:
    """One page of ``statement``'s single-entity rows, by (sort_column, id_column), ascending
    unless ``descending`` (newest first, for logs): the ``first`` rows after ``after``, or the
    ``last`` rows before ``before`` (both cursors may bound the window; ``first`` and ``last``
    together are refused)."""
    if first is not None and last is not None:
        raise InvalidRequest("Pass 'first' or 'last', not both.", field="last")
    backwards = last is not None
    limit = page_size(last, "last") if backwards else page_size(first)
    everything = statement
    key = sa.tuple_(sort_column, id_column)
    for cursor, later in ((after, True), (before, False)):
        if cursor:
            sort_value, row_id = decode_cursor(cursor)
            bound = sa.tuple_(sa.literal(sort_value, sort_column.type), sa.literal(row_id, id_column.type))
            # "later" in the connection's order: greater when ascending, smaller when descending.
            statement = statement.where(key > bound if later != descending else key < bound)
    # Reading backwards (``last``) walks the index the other way and flips the rows after.
    reverse = descending != backwards
    order = (sort_column.desc(), id_column.desc()) if reverse else (sort_column, id_column)
    statement = statement.order_by(*order).limit(limit + 1)
    rows = list((await db.execute(statement)).scalars())
    more = len(rows) > limit
    items = rows[:limit]
    if backwards:
        items.reverse()
    sort_key = sort_column.key
    cursors = [encode_cursor(getattr(item, sort_key), item.id) for item in items]
    if backwards:
        return Page(items=items, cursors=cursors, has_next=before is not None, has_previous=more,
                    everything=everything)
    return Page(items=items, cursors=cursors, has_next=more, has_previous=after is not None,
                everything=everything)


async def count_rows(db: AsyncSession, everything: sa.Select[Any]) -> int:
    """How many rows a connection has in all (its filters, no cursors)."""
    counted = sa.select(sa.func.count()).select_from(everything.order_by(None).subquery())
    return int((await db.execute(counted)).scalar_one())


K = TypeVar("K")
V = TypeVar("V")


def group_rows(rows: Iterable[tuple[K, V]]) -> dict[K, list[V]]:
    """(key, value) rows, in order, grouped by key: what a batched relation query returns."""
    grouped: dict[K, list[V]] = {}
    for key, value in rows:
        grouped.setdefault(key, []).append(value)
    return grouped
