"""The transactions behind tenant-scoped GraphQL fields: a read for a field, a write for a
mutation (its user errors become the payload's ``errors``, with nothing written), and node
lookups that show only what the principal may see (another tenant's row resolves to null)."""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable, Iterable, Mapping
from typing import Any, TypeVar

from sqlalchemy.ext.asyncio import AsyncSession

from boka.errors import UserInputError
from boka.identity.principal import Principal
from boka.schema.errors import UserError
from boka.schema.ids import parse_node_ids

T = TypeVar("T")
RowT = TypeVar("RowT")
NodeT = TypeVar("NodeT")


async def read(info: Any, query: Callable[[AsyncSession, Principal], Awaitable[T]]) -> T:
    """Run ``query`` in a read transaction (the operation's shared one), for the request's
    principal."""
    principal = info.context.principal
    tenant_id = principal.tenant.id if principal.tenant else None
    async with info.context.read_transaction(tenant_id) as db:
        return await query(db, principal)


async def write(
    info: Any, work: Callable[[AsyncSession, Principal], Awaitable[T]]
) -> tuple[T | None, list[UserError]]:
    """Run ``work`` in one write transaction: its result, or the user errors it raised (and
    nothing written). Decode the input inside ``work``, so bad IDs become user errors too."""
    principal = info.context.principal
    tenant_id = principal.tenant.id if principal.tenant else None
    try:
        async with info.context.runtime.database.transaction(tenant_id, write=True) as db:
            return await work(db, principal), []
    except UserInputError as error:
        return None, UserError.all_from(error)


async def resolve_visible_nodes(
    info: Any,
    node_ids: Iterable[str],
    find: Callable[[AsyncSession, Principal, list[uuid.UUID]], Awaitable[Mapping[uuid.UUID, RowT]]],
    to_node: Callable[[RowT], NodeT],
) -> list[NodeT | None]:
    """``resolve_nodes`` for a tenant-scoped type: ``find`` returns the rows the principal may
    see; every other id (malformed, unknown, another tenant's) resolves to None."""
    ids = parse_node_ids(node_ids)
    wanted = [i for i in ids if i is not None]
    found = await read(info, lambda db, principal: find(db, principal, wanted))
    return [to_node(found[i]) if i in found else None for i in ids]


async def attempt(work: Awaitable[T]) -> tuple[T | None, list[UserError]]:
    """Await a domain call that manages its own transactions; its user errors become the
    payload's ``errors`` (the domain has written only what a refusal must leave behind)."""
    try:
        return await work, []
    except UserInputError as error:
        return None, UserError.all_from(error)
