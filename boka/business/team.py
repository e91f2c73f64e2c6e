"""Changing the team: a member's role, or removing them. The matrix decides who may touch whom
(managers handle customers and staff; owners anyone), and a business always keeps an owner.

Removing a staff member who still has bookings to come needs a decision: the answer lists those
bookings until the caller says whether they move to another staff member (same time) or are
cancelled (the service's policy and refunds apply, as for any cancellation by the business).
"""

from __future__ import annotations

import enum
import uuid
from dataclasses import dataclass, field
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from boka.booking.changes import BookingRef, cancel_booking, reschedule_booking
from boka.errors import NotFound, UserErrorCode, UserInputError
from boka.identity.audit import AuthEvent, log_event
from boka.identity.devices import DeviceInfo
from boka.identity.invitations import may_manage
from boka.identity.principal import Principal
from boka.models.bookings import ACTIVE_STATUSES, Booking
from boka.models.catalog import StaffMember
from boka.models.tenancy import Role, TenantUser
from boka.payments.refunds import CancellationMoney, settle_cancellation

REMOVAL_REASON = "The staff member is no longer available."


class FutureBookingsChoice(str, enum.Enum):
    REASSIGN = "reassign"
    CANCEL = "cancel"


async def _membership(db: AsyncSession, principal: Principal, membership_id: uuid.UUID) -> TenantUser:
    membership = (await db.execute(sa.select(TenantUser).where(
        TenantUser.id == membership_id, TenantUser.tenant_id == principal.require_tenant().id,
    ))).scalar_one_or_none()
    if membership is None:
        raise NotFound("No such member.")
    may_manage(principal, membership.role)
    return membership


async def _keep_an_owner(db: AsyncSession, membership: TenantUser) -> None:
    """Refuse to take away the business's last owner (the owners' rows are locked, so two
    owners demoting each other at once cannot both succeed)."""
    if membership.role != Role.OWNER:
        return
    statement = sa.select(TenantUser.id).where(
        TenantUser.tenant_id == membership.tenant_id, TenantUser.role == Role.OWNER
    )
    if db.bind.dialect.name == "postgresql":
        statement = statement.with_for_update()
    if len((await db.execute(statement)).all()) <= 1:
        raise UserInputError(
            UserErrorCode.LAST_OWNER, "A business needs an owner: make someone else owner first.", "id"
        )


async def change_member_role(
    db: AsyncSession, principal: Principal, membership_id: uuid.UUID, role: Role, *, origin: DeviceInfo
) -> TenantUser:
    membership = await _membership(db, principal, membership_id)
    may_manage(principal, role)
    if membership.role == role:
        return membership
    if role != Role.OWNER:
        await _keep_an_owner(db, membership)
    previous = membership.role
    membership.role = role
    await db.flush()
    log_event(db, AuthEvent.MEMBER_ROLE_CHANGED, origin=origin, success=True, user_id=principal.actor_user_id,
              tenant_id=membership.tenant_id,
              details={"member_user_id": str(membership.user_id), "from": previous.value, "to": role.value})
    return membership


@dataclass
class Removal:
    removed: bool
    affected: list[Booking] = field(default_factory=list)  # future bookings, when a choice is needed
    money: list[CancellationMoney] = field(default_factory=list)  # refunds to start after commit


async def remove_member(
    db: AsyncSession, principal: Principal, membership_id: uuid.UUID, *,
    choice: FutureBookingsChoice | None, reassign_to: uuid.UUID | None, now: datetime, origin: DeviceInfo,
) -> Removal:
    membership = await _membership(db, principal, membership_id)
    await _keep_an_owner(db, membership)
    staff = (await db.execute(sa.select(StaffMember).where(
        StaffMember.tenant_id == membership.tenant_id, StaffMember.user_id == membership.user_id,
    ))).scalar_one_or_none()
    affected = await future_bookings(db, staff.id, now) if staff is not None else []
    removal = Removal(removed=True)
    if affected:
        if choice is None:
            return Removal(removed=False, affected=affected)
        if choice is FutureBookingsChoice.REASSIGN:
            await _reassign(db, principal, affected, staff, reassign_to, now)
        else:
            for booking in affected:
                cancelled, terms = await cancel_booking(
                    db, principal, BookingRef(booking.id), reason=REMOVAL_REASON, now=now
                )
                removal.money.append(await settle_cancellation(db, cancelled, terms, now=now))
    if staff is not None:
        staff.active = False  # kept: past bookings still name who performed them
    await db.delete(membership)
    await db.flush()
    log_event(db, AuthEvent.MEMBER_REMOVED, origin=origin, success=True, user_id=principal.actor_user_id,
              tenant_id=membership.tenant_id,
              details={"member_user_id": str(membership.user_id), "role": membership.role.value,
                       "future_bookings": len(affected), "choice": choice.value if choice and affected else None})
    removal.affected = affected
    return removal


async def future_bookings(db: AsyncSession, staff_id: uuid.UUID, now: datetime) -> list[Booking]:
    return list((await db.execute(
        sa.select(Booking)
        .where(Booking.staff_id == staff_id, Booking.status.in_(ACTIVE_STATUSES), Booking.start_time > now)
        .order_by(Booking.start_time, Booking.id)
    )).scalars())


async def _reassign(
    db: AsyncSession, principal: Principal, bookings: list[Booking], leaving: StaffMember | None,
    reassign_to: uuid.UUID | None, now: datetime,
) -> None:
    target = None
    if reassign_to is not None:
        target = (await db.execute(sa.select(StaffMember).where(
            StaffMember.id == reassign_to, StaffMember.tenant_id == principal.require_tenant().id,
            StaffMember.active.is_(True),
        ))).scalar_one_or_none()
    if target is None or leaving is None or target.id == leaving.id:
        raise UserInputError(UserErrorCode.INVALID_INPUT,
                             "Name another active staff member to take the bookings over.", "reassignTo")
    for booking in bookings:
        try:
            await reschedule_booking(db, principal, BookingRef(booking.id), start=booking.start_time,
                                     staff_id=target.id, now=now)
        except UserInputError as error:
            raise UserInputError(
                error.code,
                f"{target.display_name} cannot take the booking at {booking.start_time.isoformat()}: "
                f"{error.message} Reassign it first, or cancel the bookings.", "reassignTo",
            ) from error
