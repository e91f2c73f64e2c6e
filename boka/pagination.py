"""Keyset pagination: pages that stay fast however deep the client goes.

Rows are ordered by (sort key, id); a cursor encodes the last row's pair, and the next page
starts strictly after it, which an index on (tenant_id, sort key, id) answers directly.
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


def page_size(first: int | None) -> int:
    if first is None:
        return DEFAULT_PAGE_SIZE
    if not 1 <= first <= MAX_PAGE_SIZE:
        raise InvalidRequest(f"'first' must be between 1 and {MAX_PAGE_SIZE}.")
    return first


async def keyset_page(
    db: AsyncSession,
    statement: sa.Select[Any],
    *,
    sort_column: sa.ColumnElement[datetime],
    id_column: sa.ColumnElement[uuid.UUID],
    first: int | None,
    after: str | None,
    descending: bool = False,
) -> Page[Any]:
    """One page of ``statement``'s single-entity rows, by (sort_column, id_column), ascending
    unless ``descending`` (newest first, for logs)."""
    limit = page_size(first)
    if after:
        sort_value, row_id = decode_cursor(after)
        key = sa.tuple_(sort_column, id_column)
        bound = sa.tuple_(sa.literal(sort_value, sort_column.type), sa.literal(row_id, id_column.type))
        statement = statement.where(key < bound if descending else key > bound)
    order = (sort_column.desc(), id_column.desc()) if descending else (sort_column, id_column)
    statement = statement.order_by(*order).limit(limit + 1)
    rows = list((await db.execute(statement)).scalars())
    items = rows[:limit]
    sort_key = sort_column.key
    cursors = [encode_cursor(getattr(item, sort_key), item.id) for item in items]
    return Page(items=items, cursors=cursors, has_next=len(rows) > limit, has_previous=after is not None)


K = TypeVar("K")
V = TypeVar("V")


def group_rows(rows: Iterable[tuple[K, V]]) -> dict[K, list[V]]:
    """(key, value) rows, in order, grouped by key: what a batched relation query returns."""
    grouped: dict[K, list[V]] = {}
    for key, value in rows:
        grouped.setdefault(key, []).append(value)
    return grouped
