"""Per-request DataLoaders: each relation is fetched in one query per batch, never per row."""

from __future__ import annotations

import uuid
from collections.abc import Sequence

import sqlalchemy as sa
from strawberry.dataloader import DataLoader

from boka.db import Database
from boka.models.identity import User
from boka.models.tenancy import Tenant


class Loaders:
    def __init__(self, database: Database) -> None:
        self._database = database
        self.user_by_id: DataLoader[uuid.UUID, User | None] = DataLoader(self._users)
        self.tenant_by_id: DataLoader[uuid.UUID, Tenant | None] = DataLoader(self._tenants)

    async def _users(self, ids: Sequence[uuid.UUID]) -> list[User | None]:
        return await self._by_id(User, ids)

    async def _tenants(self, ids: Sequence[uuid.UUID]) -> list[Tenant | None]:
        return await self._by_id(Tenant, ids)

    async def _by_id(self, model, ids):  # type: ignore[no-untyped-def]
        async with self._database.transaction() as db:
            rows = (await db.execute(sa.select(model).where(model.id.in_(ids)))).scalars()
            found = {row.id: row for row in rows}
        return [found.get(row_id) for row_id in ids]
