"""Helpers for tests: a GraphQL client over HTTP and a builder of tenants and people."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

import httpx

from boka.identity.accounts import register_user
from boka.identity.devices import DeviceInfo
from boka.identity.memberships import add_membership
from boka.identity.sessions import start_session
from boka.models.identity import User
from boka.models.tenancy import Role, Tenant
from boka.runtime import Runtime
from boka.tenancy import create_tenant

PASSWORD = "correct horse battery"


@dataclass
class GraphQLResult:
    response: httpx.Response
    body: dict[str, Any] = field(init=False)

    def __post_init__(self) -> None:
        self.body = self.response.json()

    @property
    def data(self) -> dict[str, Any]:
        return self.body.get("data") or {}

    @property
    def errors(self) -> list[dict[str, Any]]:
        return self.body.get("errors") or []

    @property
    def error_codes(self) -> list[str]:
        return [error["extensions"]["code"] for error in self.errors]


class GraphQLClient:
    def __init__(self, http: httpx.AsyncClient) -> None:
        self.http = http

    async def __call__(
        self,
        query: str,
        variables: dict[str, Any] | None = None,
        *,
        token: str | None = None,
        tenant: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> GraphQLResult:
        all_headers = dict(headers or {})
        if token:
            all_headers["Authorization"] = f"Bearer {token}"
        if tenant:
            all_headers["X-Tenant"] = tenant
        response = await self.http.post(
            "/graphql", json={"query": query, "variables": variables or {}}, headers=all_headers
        )
        return GraphQLResult(response)


@dataclass(frozen=True)
class Person:
    user: User
    token: str
    email: str


class World:
    """Creates tenants and signed-in people straight through the domain services."""

    def __init__(self, runtime: Runtime) -> None:
        self.runtime = runtime
        self._count = 0

    async def tenant(self, slug: str, *, domain: str | None = None, time_zone: str = "UTC") -> Tenant:
        async with self.runtime.database.transaction(write=True) as db:
            return await create_tenant(
                db, name=slug.title(), slug=slug, domain=domain, time_zone=time_zone
            )

    async def person(
        self,
        tenant: Tenant | None,
        role: Role | None,
        *,
        email: str | None = None,
        superadmin: bool = False,
    ) -> Person:
        self._count += 1
        email = email or f"person{self._count}-{(role.value if role else 'none')}@example.com"
        async with self.runtime.database.transaction(tenant.id if tenant else None, write=True) as db:
            user = await register_user(db, email=email, password=PASSWORD, full_name=email)
            user.is_superadmin = superadmin
            if tenant is not None and role is not None:
                await add_membership(db, tenant_id=tenant.id, user_id=user.id, role=role)
            issued = await start_session(
                db,
                user,
                tenant_id=tenant.id if tenant else None,
                device=DeviceInfo(ip_address="127.0.0.1", user_agent="pytest"),
                ttl=timedelta(hours=1),
            )
        return Person(user=user, token=issued.token, email=email)
