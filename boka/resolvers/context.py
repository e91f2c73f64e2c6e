"""What every resolver can reach: the request's principal, the process runtime, loaders."""

from __future__ import annotations

import time
import uuid
from collections.abc import Awaitable
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, TypeVar

from sqlalchemy.ext.asyncio import AsyncSession

from starlette.requests import Request
from starlette.responses import Response
from starlette.websockets import WebSocket
from strawberry.types import Info as StrawberryInfo

from boka.errors import BokaError, RateLimited, TenantSuspended
from boka.identity.authentication import resolve_principal
from boka.identity.devices import DeviceInfo
from boka.identity.principal import Principal
from boka.identity.rate_limits import Limit, charged_requests, rate_limit_headers
from boka.resolvers.loaders import Loaders
from boka.resolvers.shared_reads import SharedReads
from boka.runtime import Runtime

if TYPE_CHECKING:
    from typing import TypeAlias

T = TypeVar("T")


@dataclass(frozen=True)
class Credentials:
    token: str | None
    tenant: str | None
    host: str | None


@dataclass
class RequestContext:
    request: Request | WebSocket
    response: Response | WebSocket
    runtime: Runtime
    resolved_principal: Principal | None
    # Why the principal could not be resolved (say, the database is down). Raised again when a
    # resolver asks for it, so the failure reaches the client as a masked INTERNAL error with
    # the request id, through the same path as any other error.
    principal_failure: Exception | None = None
    # Set by Strawberry from a websocket's connection_init payload.
    connection_params: dict[str, object] | None = None
    # How a websocket authenticated, so live subscriptions can check again that the session
    # still lives (see refresh_principal).
    credentials: Credentials | None = None
    principal_checked_at: float = field(default_factory=time.monotonic)
    shared_reads: SharedReads | None = None
    # Whose API allowance this request uses (set once the request's one hit was counted), so
    # a costly operation can be charged the rest of its cost (charge_api_cost).
    api_caller: str | None = None
    _loaders: Loaders | None = field(default=None, init=False, repr=False)

    @property
    def loaders(self) -> Loaders:
        """The request's DataLoaders, built on first use (a websocket connection holds its
        context as long as it lives and may never need them)."""
        if self._loaders is None:
            self._loaders = Loaders(self.read_transaction, lambda: self.principal)
        return self._loaders

    def reset_loaders(self) -> None:
        """Fresh DataLoaders: a subscription calls this before each push, since its context
        outlives any one result and cached rows would go out stale."""
        self._loaders = None

    def read_transaction(self, tenant_id: uuid.UUID | None) -> AbstractAsyncContextManager[AsyncSession]:
        """A transaction for reading: the operation's shared one while it runs (see
        boka/resolvers/shared_reads.py), else one of its own."""
        if self.shared_reads is not None:
            return self.shared_reads.transaction(tenant_id)
        return self.runtime.database.transaction(tenant_id)

    async def run_with_shared_reads(self, operation: Awaitable[T]) -> T:
        """Run one query or mutation with its reads sharing a transaction, closed after."""
        self.shared_reads = SharedReads(self.runtime.database)
        try:
            return await operation
        finally:
            reads, self.shared_reads = self.shared_reads, None
            await reads.close()

    @property
    def principal(self) -> Principal:
        if self.resolved_principal is None:
            raise self.principal_failure or RuntimeError("principal was never resolved")
        return self.resolved_principal

    @principal.setter
    def principal(self, principal: Principal) -> None:
        self.resolved_principal = principal
        self.principal_failure = None

    async def resolve_from(self, credentials: Credentials) -> Principal:
        """The principal these credentials speak for, from this connection's address."""
        return await resolve_principal(
            self.runtime.database,
            self.runtime.identity,
            credential=credentials.token,
            tenant_header=credentials.tenant,
            host=credentials.host,
            ip_address=self.client_ip,
            cache=self.runtime.identity_cache,
        )

    async def refresh_principal(self) -> Principal:
        """Resolve the principal again from the websocket's credentials: a revoked or
        expired session (or API key) comes back unauthenticated."""
        if self.credentials is None:
            return self.principal
        try:
            principal = await self.resolve_from(self.credentials)
        except TenantSuspended as suspended:  # every operation from now on answers it
            self.resolved_principal = None
            self.principal_failure = suspended
            raise
        except BokaError:  # a key revoked or expired since the connection opened
            principal = Principal()
        self.principal = principal
        return principal

    @property
    def device(self) -> DeviceInfo:
        client = self.request.client
        headers = self.request.headers
        return DeviceInfo(
            ip_address=client.host if client else None,
            user_agent=headers.get("user-agent"),
            accept_language=headers.get("accept-language"),
            device_id=headers.get("x-device-id"),
        )

    @property
    def client_ip(self) -> str:
        client = self.request.client
        return client.host if client else "unknown"

    async def enforce(self, limit: Limit, key: str, cost: int = 1) -> None:
        """Count ``cost`` hits against ``limit`` for ``key``; RATE_LIMITED when over it. HTTP
        responses carry the RateLimit headers either way (and 429 with Retry-After)."""
        if not self.runtime.rate_limits.enabled:
            return
        decision = await self.runtime.rate_limiter.hit(limit, key, cost)
        if isinstance(self.response, Response):
            self.response.headers.update(rate_limit_headers(decision))
            if not decision.allowed:
                self.response.status_code = 429
        if not decision.allowed:
            raise RateLimited(
                f"Too many requests; try again in {decision.retry_after_seconds} s.",
                retry_after=decision.retry_after_seconds,
            )

    async def charge_api_cost(self, estimated_cost: int) -> None:
        """The request counted one API hit; an operation estimated to cost more than one
        request's worth (``RateLimits.api_cost_unit``) is charged the rest before it runs."""
        limits = self.runtime.rate_limits
        extra = charged_requests(estimated_cost, limits.api_cost_unit) - 1
        if extra > 0 and self.api_caller is not None:
            await self.enforce(limits.api, self.api_caller, cost=extra)

    def remember_session(self, token: str, expires_at: datetime) -> None:
        """Hand the new session to a browser as an HttpOnly cookie (HTTP only)."""
        if isinstance(self.response, Response):
            settings = self.runtime.settings
            self.response.set_cookie(
                settings.session_cookie_name,
                token,
                expires=expires_at,
                httponly=True,
                samesite="lax",
                secure=settings.secure_cookies,
                path="/",
            )

    def forget_session(self) -> None:
        if isinstance(self.response, Response):
            settings = self.runtime.settings
            self.response.delete_cookie(
                settings.session_cookie_name, path="/", httponly=True, samesite="lax",
                secure=settings.secure_cookies,
            )


if TYPE_CHECKING:
    Info: TypeAlias = StrawberryInfo[RequestContext, None]
else:
    Info = StrawberryInfo
