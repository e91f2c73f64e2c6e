"""Per-request DataLoaders: each relation is fetched in one query per batch, never per row.

Tenant-owned rows are loaded only from the request's tenant, so a loader can never hand out
another tenant's data even if an id leaks into a request.
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Awaitable, Callable, Mapping, Sequence
from contextlib import AbstractAsyncContextManager
from functools import cached_property
from typing import Any

import sqlalchemy as sa
from strawberry.dataloader import DataLoader

from sqlalchemy.ext.asyncio import AsyncSession
from boka.identity.principal import Principal
from boka.models.bookings import BookingResource, Customer
from boka.models.catalog import Resource, Service, StaffMember
from boka.models.identity import User
from boka.models.sessions import ClassSession
from boka.models.tenancy import Tenant

# A domain function that fetches one relation for many parents in one query:
# (db, principal, parent ids) -> {parent id: [related rows]}.
BatchRelation = Callable[..., Awaitable[Mapping[uuid.UUID, list[Any]]]]


# Opens a read transaction scoped to a tenant: the request's shared one, or one of its own.
ReadTransaction = Callable[[uuid.UUID | None], AbstractAsyncContextManager[AsyncSession]]


class Loaders:
    def __init__(self, transaction: ReadTransaction, principal: Callable[[], Principal]) -> None:
        self._transaction = transaction
        self._principal = principal
        self._related: dict[tuple[BatchRelation, tuple[Any, ...]], DataLoader[uuid.UUID, list[Any]]] = {}

    # Each loader is built on first use: most requests need none or one of them.
    @cached_property
    def user_by_id(self) -> DataLoader[uuid.UUID, User | None]:
        return DataLoader(self._users)

    @cached_property
    def tenant_by_id(self) -> DataLoader[uuid.UUID, Tenant | None]:
        return DataLoader(self._tenants)

    @cached_property
    def customer_by_id(self) -> DataLoader[uuid.UUID, Customer | None]:
        return DataLoader(self._customers)

    @cached_property
    def service_by_id(self) -> DataLoader[uuid.UUID, Service | None]:
        return DataLoader(self._services)

    @cached_property
    def staff_member_by_id(self) -> DataLoader[uuid.UUID, StaffMember | None]:
        return DataLoader(self._staff)

    @cached_property
    def resource_by_id(self) -> DataLoader[uuid.UUID, Resource | None]:
        return DataLoader(lambda ids: self._by_id(Resource, ids))

    @cached_property
    def class_session_by_id(self) -> DataLoader[uuid.UUID, ClassSession | None]:
        return DataLoader(lambda ids: self._by_id(ClassSession, ids))

    @cached_property
    def resources_by_booking_id(self) -> DataLoader[uuid.UUID, list[Resource]]:
        return DataLoader(self._booking_resources)

    def related(self, batch: BatchRelation, *arguments: Any) -> DataLoader[uuid.UUID, list[Any]]:
        """The request's loader for a one-to-many relation (with the field's ``arguments``,
        e.g. a date range, passed on to ``batch``), built on first use. The domain function
        applies the principal's visibility rules; parents without rows get []."""
        key = (batch, arguments)
        loader = self._related.get(key)
        if loader is None:

            async def load(parent_ids: Sequence[uuid.UUID]) -> list[list[Any]]:
                principal = self._principal()
                async with self._transaction(self._tenant_id()) as db:
                    found = await batch(db, principal, list(parent_ids), *arguments)
                return [list(found.get(parent_id, [])) for parent_id in parent_ids]

            loader = self._related[key] = DataLoader(load)
        return loader

    def _tenant_id(self) -> uuid.UUID | None:
        tenant = self._principal().tenant
        return tenant.id if tenant else None

    async def _users(self, ids: Sequence[uuid.UUID]) -> list[User | None]:
        return await self._by_id(User, ids, tenant_owned=False)

    async def _tenants(self, ids: Sequence[uuid.UUID]) -> list[Tenant | None]:
        return await self._by_id(Tenant, ids, tenant_owned=False)

    async def _customers(self, ids: Sequence[uuid.UUID]) -> list[Customer | None]:
        return await self._by_id(Customer, ids)

    async def _services(self, ids: Sequence[uuid.UUID]) -> list[Service | None]:
        return await self._by_id(Service, ids)

    async def _staff(self, ids: Sequence[uuid.UUID]) -> list[StaffMember | None]:
        return await self._by_id(StaffMember, ids)

    async def _by_id(self, model: Any, ids: Sequence[uuid.UUID], *, tenant_owned: bool = True) -> list[Any]:
        statement = sa.select(model).where(model.id.in_(ids))
        if tenant_owned:
            statement = statement.where(model.tenant_id == self._tenant_id())
        async with self._transaction(self._tenant_id()) as db:
            found = {row.id: row for row in (await db.execute(statement)).scalars()}
        return [found.get(row_id) for row_id in ids]

    async def _booking_resources(self, booking_ids: Sequence[uuid.UUID]) -> list[list[Resource]]:
        statement = (
            sa.select(BookingResource.booking_id, Resource)
            .join(Resource, Resource.id == BookingResource.resource_id)
            .where(
                BookingResource.booking_id.in_(booking_ids),
                BookingResource.tenant_id == self._tenant_id(),
            )
            .order_by(Resource.name)
        )
        held: dict[uuid.UUID, list[Resource]] = defaultdict(list)
        async with self._transaction(self._tenant_id()) as db:
            for booking_id, resource in (await db.execute(statement)).all():
                held[booking_id].append(resource)
        return [held[booking_id] for booking_id in booking_ids]
