"""Suspicious activity: a sign-in from a device the account never used, and a burst of failed
sign-ins against many accounts from one address. Both go to the audit trail flagged
``suspicious``, where owners (``securityAlerts``) and superadmins see them, and, when they
happened at a business, out as a ``security.alert`` event (webhooks, and the notification
layer once it has a message for owners)."""

from __future__ import annotations

import hashlib
import uuid
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from boka.events.outbox import record_event
from boka.events.types import SECURITY_ALERT, TENANT
from boka.identity.audit import AuthEvent, log_event
from boka.identity.devices import DeviceInfo
from boka.identity.sessions import device_seen_before
from boka.models.security import AuthenticationLog

BURST_WINDOW = timedelta(minutes=15)


def email_fingerprint(email: str) -> str:
    """What the trail keeps of an attempted email: enough to count distinct accounts, not
    the address itself (people type passwords into the email field)."""
    return hashlib.sha256(email.strip().lower().encode()).hexdigest()[:16]


async def note_new_device(
    db: AsyncSession, *, user_id: uuid.UUID, tenant_id: uuid.UUID | None, device: DeviceInfo
) -> bool:
    """Log a sign-in from a device the account has never signed in from (but other devices
    have): the owner of the account may want to know. True if it was new."""
    had_sessions, known = await device_seen_before(db, user_id, device.fingerprint)
    if not had_sessions or known:
        return False
    log_event(
        db, AuthEvent.NEW_DEVICE, origin=device, success=True, user_id=user_id, tenant_id=tenant_id,
        suspicious=True, details={"fingerprint": device.fingerprint[:16]},
    )
    await _announce(db, AuthEvent.NEW_DEVICE, tenant_id, device, user_id=user_id)
    return True


async def note_failure_burst(
    db: AsyncSession, *, device: DeviceInfo, tenant_id: uuid.UUID | None, now: datetime, threshold: int
) -> bool:
    """After a failed sign-in: when ``threshold`` distinct accounts have failed from this
    address within the window, log one FAILURE_BURST (not one per further failure)."""
    if not device.ip_address:
        return False
    await db.flush()
    since = now - BURST_WINDOW
    recent = sa.and_(AuthenticationLog.ip_address == device.ip_address, AuthenticationLog.created_at >= since)
    accounts = await db.execute(
        sa.select(sa.func.count(sa.distinct(AuthenticationLog.details["email"].as_string()))).where(
            recent, AuthenticationLog.event_type == AuthEvent.SIGN_IN_FAILED.value
        )
    )
    if accounts.scalar_one() < threshold:
        return False
    already = await db.execute(
        sa.select(AuthenticationLog.id).where(recent, AuthenticationLog.event_type == AuthEvent.FAILURE_BURST.value).limit(1)
    )
    if already.first() is not None:
        return False
    log_event(
        db, AuthEvent.FAILURE_BURST, origin=device, success=False, tenant_id=tenant_id, suspicious=True,
        reason=f"failed sign-ins for {threshold} or more accounts within {int(BURST_WINDOW.total_seconds() // 60)} minutes",
    )
    await _announce(db, AuthEvent.FAILURE_BURST, tenant_id, device)
    return True


async def _announce(
    db: AsyncSession, kind: AuthEvent, tenant_id: uuid.UUID | None, device: DeviceInfo,
    *, user_id: uuid.UUID | None = None,
) -> None:
    if tenant_id is None:
        return  # outside any business: the trail (for superadmins) is where it lives
    await record_event(
        db, tenant_id=tenant_id, aggregate_type=TENANT, aggregate_id=tenant_id, type=SECURITY_ALERT,
        payload={"kind": kind.value, "ip_address": device.ip_address,
                 "user_id": str(user_id) if user_id else None},
    )
