"""A suspended tenant is closed for everyone but superadmins (suspending and reactivating are
platform administration, boka/business/platform.py). Here so that resolving a request's principal
(boka/identity/authentication.py) can refuse one without importing the business package, which
builds on identity."""

from __future__ import annotations

from boka.errors import TenantSuspended
from boka.identity.principal import Principal
from boka.models.tenancy import Tenant

SUSPENDED_MESSAGE = "This business is suspended: the platform's operators have closed it for now."


def refuse_if_suspended(principal: Principal) -> Principal:
    """``principal`` unless its tenant is suspended and it is not a superadmin's."""
    tenant = principal.tenant
    if tenant is not None and tenant.suspended_at is not None and not principal.is_superadmin:
        raise TenantSuspended(SUSPENDED_MESSAGE)
    return principal


def check_open(tenant: Tenant) -> None:
    """For reads that name a tenant themselves (the public booking page by slug)."""
    if tenant.suspended_at is not None:
        raise TenantSuspended(SUSPENDED_MESSAGE)
