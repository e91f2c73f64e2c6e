"""An account holder deleting their account (GDPR art. 17).

Needs the password again, and a code (authenticator or backup) when two-factor is on: a stolen
session alone cannot delete anybody. Refused, with nothing changed, while the account works for
a business (any membership other than customer: hand over or leave first), for a superadmin, or
while any of its customer records has an upcoming booking (cancel those first).

Then, in one transaction across every tenant: each customer record linked to the account is
erased as ``privacy.erasure`` erases one (the books are kept); the account row stays (history
rows point at it) but loses its email (``deleted-<id>@erased.invalid``), name and password and
is deactivated; every session ends; its second factor, single-use links and customer
memberships are deleted, and invitations sent to it no longer name its address; its
authentication trail keeps the events but loses addresses and user agents. The deletion itself
is audited (without the request's address).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from boka.db import Database
from boka.errors import UserErrorCode, UserInputError
from boka.events.catalog import announce_customer_change
from boka.identity.audit import AuthEvent, log_event
from boka.identity.devices import DeviceInfo
from boka.identity.mfa import CodeCheck, MfaPolicy, confirm_second_factor, remove_factor
from boka.identity.passwords import verify_password
from boka.identity.principal import Principal
from boka.identity.sessions import revoke_other_sessions
from boka.models.bookings import ACTIVE_STATUSES, Booking, Customer
from boka.models.identity import User
from boka.models.onboarding import AccountToken, Invitation
from boka.models.security import AuthenticationLog
from boka.models.tenancy import Role, TenantUser
from boka.privacy.erasure import ERASED_DOMAIN, anonymise_customer, erased_at, scrub_customer_rows

NOWHERE = DeviceInfo()  # the deletion's own audit entry keeps no address


@dataclass(frozen=True)
class DeletedAccount:
    user_id: uuid.UUID
    customers_erased: int
    sessions_ended: int


async def delete_my_account(
    database: Database, policy: MfaPolicy, principal: Principal, *, password: str,
    mfa_code: str | None, device: DeviceInfo, now: datetime,
) -> DeletedAccount:
    user_id = principal.require_user().id
    failed: CodeCheck | None = None
    async with database.transaction(write=True, all_tenants=True) as db:
        user = await db.get(User, user_id, with_for_update=db.bind.dialect.name == "postgresql")
        if user is None or not user.is_active or not await verify_password(user.password_hash, password):
            raise UserInputError(UserErrorCode.INVALID_CREDENTIALS, "The password is incorrect.", "password")
        failed = await confirm_second_factor(
            db, user.id, mfa_code, policy, now, device=device,
            failed_event=AuthEvent.MFA_FAILED, failure_reason="account deletion: ",
        )
        if failed is None:
            return await _delete(db, user, now)
    error = failed.error(policy)
    raise UserInputError(error.code, error.message, "mfaCode")  # after the commit: it counts


async def _delete(db: AsyncSession, user: User, now: datetime) -> DeletedAccount:
    team_roles = (await db.execute(
        sa.select(TenantUser.id).where(TenantUser.user_id == user.id, TenantUser.role != Role.CUSTOMER)
    )).first()
    if team_roles is not None or user.is_superadmin:
        raise UserInputError(
            UserErrorCode.TEAM_MEMBER,
            "This account works for a business: an owner must remove it from the team (or hand "
            "the business over) before it can be deleted.",
        )
    customers = list((await db.execute(
        sa.select(Customer).where(Customer.user_id == user.id).with_for_update()
    )).scalars())
    ids = [customer.id for customer in customers]
    if ids:
        upcoming = (await db.execute(sa.select(sa.func.count()).select_from(Booking).where(
            Booking.customer_id.in_(ids), Booking.status.in_(ACTIVE_STATUSES), Booking.start_time > now,
        ))).scalar_one()
        if upcoming:
            raise UserInputError(
                UserErrorCode.FUTURE_BOOKINGS,
                f"You have {upcoming} upcoming booking(s): cancel them before deleting your account.",
            )
    for customer in customers:
        if erased_at(customer) is not None:
            continue
        addresses = [a for a in (customer.email, customer.phone) if a]
        await anonymise_customer(db, customer, now=now)
        counts = await scrub_customer_rows(db, customer, addresses)
        await announce_customer_change(db, customer, "erased")
        log_event(db, AuthEvent.CUSTOMER_ERASED, origin=NOWHERE, success=True, user_id=user.id,
                  tenant_id=customer.tenant_id,
                  details={"customer_id": str(customer.id), "by": "account_deletion", **counts})
    ended = await revoke_other_sessions(db, user.id, keep=None)
    await remove_factor(db, user.id)
    await db.execute(sa.delete(AccountToken).where(AccountToken.user_id == user.id))
    await db.execute(sa.delete(TenantUser).where(TenantUser.user_id == user.id))
    await db.execute(
        sa.update(AuthenticationLog).where(AuthenticationLog.user_id == user.id)
        .values(ip_address=None, user_agent=None)
    )
    deleted_email = f"deleted-{user.id.hex}@{ERASED_DOMAIN}"
    await db.execute(  # invitations they were sent (accepted or not) no longer name them
        sa.update(Invitation)
        .where(sa.or_(Invitation.accepted_user_id == user.id, Invitation.email == user.email))
        .values(email=deleted_email)
    )
    user.email = deleted_email
    user.full_name = ""
    user.password_hash = None
    user.is_active = False
    user.email_verified_at = None
    log_event(db, AuthEvent.ACCOUNT_DELETED, origin=NOWHERE, success=True, user_id=user.id,
              details={"customers_erased": len(customers), "sessions_ended": ended})
    await db.flush()
    return DeletedAccount(user.id, len(customers), ended)
