"""Account lockout: failed sign-ins in a row lock the account, each lock twice as long as the
last, until it runs out or an owner (or a superadmin) lifts it."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from boka.config import Settings
from boka.db import dialect_insert
from boka.errors import NotFound
from boka.identity.audit import AuthEvent, log_event
from boka.identity.devices import DeviceInfo
from boka.identity.principal import Principal
from boka.identity.rbac import Action, Scope
from boka.models.security import AccountLockout
from boka.models.tenancy import TenantUser


@dataclass(frozen=True)
class LockoutPolicy:
    threshold: int
    first_lock: timedelta
    longest_lock: timedelta

    @classmethod
    def from_settings(cls, settings: Settings) -> LockoutPolicy:
        return cls(
            threshold=settings.lockout_threshold,
            first_lock=timedelta(minutes=settings.lockout_base_minutes),
            longest_lock=timedelta(minutes=settings.lockout_max_minutes),
        )

    def lock_length(self, lockout_count: int) -> timedelta:
        return min(self.first_lock * 2 ** max(lockout_count - 1, 0), self.longest_lock)


def is_locked(lockout: AccountLockout | None, now: datetime) -> bool:
    return lockout is not None and lockout.locked_until is not None and lockout.locked_until > now


async def load_lockout(db: AsyncSession, user_id: uuid.UUID, *, for_update: bool = False) -> AccountLockout | None:
    statement = sa.select(AccountLockout).where(AccountLockout.user_id == user_id)
    if for_update and db.bind.dialect.name == "postgresql":
        statement = statement.with_for_update()
    return (await db.execute(statement)).scalar_one_or_none()


async def record_failed_sign_in(
    db: AsyncSession, user_id: uuid.UUID, policy: LockoutPolicy, now: datetime
) -> bool:
    """Count one failure; True if it locked the account."""
    lockout = await _row_for_update(db, user_id)
    if is_locked(lockout, now):
        return False  # tries against a locked account neither extend nor count toward a lock
    lockout.failed_attempts += 1
    lockout.last_failed_at = now
    if lockout.failed_attempts < policy.threshold:
        return False
    lockout.lockout_count += 1
    lockout.failed_attempts = 0
    lockout.locked_until = now + policy.lock_length(lockout.lockout_count)
    return True


async def _row_for_update(db: AsyncSession, user_id: uuid.UUID) -> AccountLockout:
    values = {"user_id": user_id, "failed_attempts": 0, "lockout_count": 0}
    await db.execute(dialect_insert(db)(AccountLockout).values(**values).on_conflict_do_nothing())
    lockout = await load_lockout(db, user_id, for_update=True)
    assert lockout is not None
    return lockout


async def clear_failures(db: AsyncSession, user_id: uuid.UUID) -> None:
    """A good sign-in forgives everything before it."""
    await db.execute(sa.delete(AccountLockout).where(AccountLockout.user_id == user_id))


async def unlock_account(
    db: AsyncSession, principal: Principal, user_id: uuid.UUID, *, origin: DeviceInfo
) -> bool:
    """Lift a lock: a tenant's owners for their members, superadmins for anyone. False if
    the account was not locked."""
    scope = principal.authorize(Action.USER_MANAGE, Scope.TENANT)
    if scope < Scope.SYSTEM:
        member = await db.execute(
            sa.select(TenantUser.id).where(
                TenantUser.tenant_id == principal.require_tenant().id, TenantUser.user_id == user_id
            )
        )
        if member.first() is None:
            raise NotFound("No such member.")
    removed = await db.execute(sa.delete(AccountLockout).where(AccountLockout.user_id == user_id))
    unlocked = bool(removed.rowcount)
    log_event(
        db, AuthEvent.ACCOUNT_UNLOCKED, origin=origin, success=unlocked, user_id=user_id,
        tenant_id=principal.tenant.id if principal.tenant else None,
        details={"by": str(principal.actor_user_id)},
    )
    return unlocked
