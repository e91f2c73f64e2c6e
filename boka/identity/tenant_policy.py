"""A tenant's security policy: MFA required for its team, and the networks its team may use."""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession

from boka.errors import UserErrorCode, UserInputError
from boka.identity.audit import AuthEvent, log_event
from boka.identity.devices import DeviceInfo
from boka.identity.principal import Principal, Restriction
from boka.identity.rbac import Action, Scope
from boka.models.security import SecuritySettings
from boka.models.tenancy import Role
from boka.models.types import utcnow

TEAM_ROLES = frozenset({Role.STAFF, Role.MANAGER, Role.OWNER})
MAX_ALLOWLIST = 50


def restriction_for(
    role: Role | None, settings: SecuritySettings | None, *, ip_address: str | None, mfa_verified: bool
) -> Restriction | None:
    """Whether the tenant's policy withholds this member's team rights in this request."""
    if role not in TEAM_ROLES or settings is None:
        return None
    if settings.staff_ip_allowlist and not ip_allowed(ip_address, settings.staff_ip_allowlist):
        return Restriction.IP_NOT_ALLOWED
    if settings.require_mfa_for_staff and not mfa_verified:
        return Restriction.MFA_REQUIRED
    return None


def ip_allowed(ip_address: str | None, allowlist: list[str]) -> bool:
    if not ip_address:
        return False
    try:
        address = ipaddress.ip_address(ip_address)
    except ValueError:
        return False
    return any(address in ipaddress.ip_network(block, strict=False) for block in allowlist)


@dataclass(frozen=True)
class PolicyChanges:
    require_mfa_for_staff: bool | None = None
    staff_ip_allowlist: list[str] | None = None


async def get_security_settings(db: AsyncSession, principal: Principal) -> SecuritySettings:
    """The tenant's policy (defaults if never set), for its owners."""
    principal.authorize(Action.USER_MANAGE, Scope.TENANT)
    tenant = principal.require_tenant()
    found = await db.get(SecuritySettings, tenant.id)
    return found or SecuritySettings(tenant_id=tenant.id)


async def update_security_settings(
    db: AsyncSession, principal: Principal, changes: PolicyChanges, *, origin: DeviceInfo
) -> SecuritySettings:
    """Owners set the policy. An allowlist that leaves out the owner's own address is refused,
    so nobody locks the team out by mistake."""
    principal.authorize(Action.USER_MANAGE, Scope.TENANT)
    tenant = principal.require_tenant()
    settings = await db.get(SecuritySettings, tenant.id)
    if settings is None:
        settings = SecuritySettings(tenant_id=tenant.id)
        db.add(settings)
    if changes.require_mfa_for_staff is not None:
        settings.require_mfa_for_staff = changes.require_mfa_for_staff
    if changes.staff_ip_allowlist is not None:
        blocks = _normalized_blocks(changes.staff_ip_allowlist)
        if blocks and not principal.is_superadmin and not ip_allowed(origin.ip_address, blocks):
            raise UserInputError(
                UserErrorCode.INVALID_INPUT,
                f"Your own address ({origin.ip_address}) is not in this list; add it first.",
                "staffIpAllowlist",
            )
        settings.staff_ip_allowlist = blocks
    settings.updated_at = utcnow()
    await db.flush()
    log_event(
        db, AuthEvent.SECURITY_SETTINGS_CHANGED, origin=origin, success=True,
        user_id=principal.actor_user_id, tenant_id=settings.tenant_id,
        details={"require_mfa_for_staff": settings.require_mfa_for_staff,
                 "staff_ip_allowlist": settings.staff_ip_allowlist},
    )
    return settings


def _normalized_blocks(blocks: list[str]) -> list[str]:
    if len(blocks) > MAX_ALLOWLIST:
        raise UserInputError(
            UserErrorCode.INVALID_INPUT, f"At most {MAX_ALLOWLIST} entries.", "staffIpAllowlist"
        )
    normalized = []
    for block in blocks:
        try:
            normalized.append(str(ipaddress.ip_network(block.strip(), strict=False)))
        except ValueError as exc:
            raise UserInputError(
                UserErrorCode.INVALID_INPUT, f"'{block}' is not an IP address or CIDR block.",
                "staffIpAllowlist",
            ) from exc
    return sorted(set(normalized))
