"""Per-field rate limits, declared on the fields they guard."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any, Literal

from strawberry.extensions import FieldExtension

from boka.identity.principal import Principal
from boka.identity.rate_limits import Limit, RateLimits
from boka.models.types import utcnow


class RateLimitedField(FieldExtension):
    """Counts each call of the field against a limit, keyed by the client's IP (sign-in, where
    there is no user yet) or by the signed-in user (admin operations)."""

    def __init__(
        self, pick: Callable[[RateLimits, Principal], Limit], per: Literal["client", "user"]
    ) -> None:
        self.pick = pick
        self.per = per

    def resolve(self, next_: Callable[..., Any], source: Any, info: Any, **kwargs: Any) -> Any:
        raise TypeError("rate-limited fields must be async")

    async def resolve_async(
        self, next_: Callable[..., Awaitable[Any]], source: Any, info: Any, **kwargs: Any
    ) -> Any:
        context = info.context
        principal = context.principal
        key = context.client_ip if self.per == "client" or principal.user is None else str(principal.user.id)
        await context.enforce(self.pick(context.runtime.rate_limits, principal), key)
        return await next_(source, info, **kwargs)


def auth_limited() -> list[FieldExtension]:
    return [RateLimitedField(lambda limits, _principal: limits.auth, per="client")]


def admin_limited() -> list[FieldExtension]:
    return [RateLimitedField(_admin_allowance, per="user")]


def _admin_allowance(limits: RateLimits, principal: Principal) -> Limit:
    """The setup allowance in a business's first hours, the usual one after."""
    tenant = principal.tenant
    return limits.admin_for(tenant.created_at if tenant is not None else None, utcnow())
