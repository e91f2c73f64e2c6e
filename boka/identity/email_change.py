"""A signed-in account changing its email address.

Asking needs the password and, with two-factor on, a code (a stolen session alone cannot move
the account to an attacker's mailbox). The change happens only when the single-use link mailed
to the NEW address is used (``BOKA_EMAIL_VERIFICATION_HOURS``): then the account takes the
address (verified), every session except the one that asked ends, the old address gets a notice
(no link), and older single-use links of the account stop working (a reset link mailed to the
old address included). Each step is in the authentication trail.

No enumeration: asking for an address another account uses answers exactly as for a free one;
no link is issued, and that address's holder gets a notice instead (someone tried to use your
address). If the address is taken between the ask and the click, the link answers INVALID_TOKEN.

Customer records follow the account: every customer record linked to it (``user_id``, in any
tenant) takes the new address, since the holder has proven it and bookings are found by the
linked record. Where the tenant already has another customer with the new address, the linked
record keeps its old one (two records of one tenant cannot share an address; merging them is the
business's call) and the trail notes it. Unlinked records with the old address are the business's
own data and stay as they are (the rule of ``updateCustomer``: only a manager moves a record).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from boka.db import Database
from boka.errors import UserErrorCode, UserInputError
from boka.events.catalog import announce_customer_change
from boka.identity.account_tokens import invalid_link, issue_account_token, live_account_token
from boka.identity.accounts import find_user_by_email, normalize_email
from boka.identity.audit import AuthEvent, log_event
from boka.identity.devices import DeviceInfo
from boka.identity.mfa import CodeCheck, MfaPolicy, confirm_second_factor
from boka.identity.passwords import verify_password
from boka.identity.principal import Principal
from boka.identity.sessions import revoke_other_sessions
from boka.identity.suspicious import email_fingerprint
from boka.models.bookings import Customer
from boka.models.identity import User
from boka.models.onboarding import AccountToken, TokenPurpose


@dataclass(frozen=True)
class EmailChangeAsked:
    new_email: str
    token: str | None  # the link for the new address; None when another account uses it
    taken: bool  # the address's holder is to be told (never the asker)


@dataclass(frozen=True)
class EmailChanged:
    user: User
    old_email: str
    sessions_ended: int
    kept_session_id: uuid.UUID | None
    customers_moved: int
    customers_kept: int


async def request_email_change(
    database: Database, policy: MfaPolicy, principal: Principal, *, new_email: str, password: str,
    mfa_code: str | None, device: DeviceInfo, ttl: timedelta, now: datetime,
) -> EmailChangeAsked:
    user_id = principal.require_user().id
    try:
        new_email = normalize_email(new_email)
    except UserInputError as error:
        raise UserInputError(error.code, error.message, "newEmail") from error
    failed: CodeCheck | None = None
    tenant_id = principal.tenant.id if principal.tenant else None
    async with database.transaction(tenant_id, write=True) as db:
        user = await db.get(User, user_id, with_for_update=db.bind.dialect.name == "postgresql")
        if user is None or not user.is_active or not await verify_password(user.password_hash, password):
            log_event(db, AuthEvent.EMAIL_CHANGE_FAILED, origin=device, success=False, user_id=user_id,
                      tenant_id=tenant_id,
                      reason="password")
            failed_password = True
        else:
            failed_password = False
            failed = await confirm_second_factor(
                db, user.id, mfa_code, policy, now, device=device,
                failed_event=AuthEvent.EMAIL_CHANGE_FAILED, failure_reason="mfa ", tenant_id=tenant_id,
            )
        if not failed_password and failed is None:
            assert user is not None
            if new_email == user.email:
                raise UserInputError(UserErrorCode.INVALID_INPUT, "This already is your address.", "newEmail")
            holder = await find_user_by_email(db, new_email)
            token = None
            if holder is None:
                token = await issue_account_token(db, user, TokenPurpose.EMAIL_CHANGE, ttl=ttl, now=now,
                                                  email=new_email, session_id=principal.session_id)
            log_event(db, AuthEvent.EMAIL_CHANGE_REQUESTED, origin=device, success=True, user_id=user.id,
                      tenant_id=tenant_id,
                      details={"new_email": email_fingerprint(new_email), "address_taken": holder is not None})
            return EmailChangeAsked(new_email=new_email, token=token, taken=holder is not None)
    if failed_password:  # after the commit: the failure stays in the trail
        raise UserInputError(UserErrorCode.INVALID_CREDENTIALS, "The password is incorrect.", "password")
    assert failed is not None
    error = failed.error(policy)
    raise UserInputError(error.code, error.message, "mfaCode")  # after the commit: it counts


async def confirm_email_change(
    database: Database, *, token: str, device: DeviceInfo, now: datetime
) -> EmailChanged:
    """The link mailed to the new address was opened: the account takes that address."""
    async with database.transaction(write=True, all_tenants=True) as db:
        link = await live_account_token(db, token, TokenPurpose.EMAIL_CHANGE, now)
        user = await db.get(User, link.user_id, with_for_update=db.bind.dialect.name == "postgresql")
        if user is None or not user.is_active:
            raise invalid_link()
        if await find_user_by_email(db, link.email) is not None:
            link.used_at = now
            log_event(db, AuthEvent.EMAIL_CHANGE_FAILED, origin=device, success=False, user_id=user.id,
                      reason="address taken meanwhile")
            failed = True
        else:
            failed = False
            old_email = user.email
            user.email = link.email
            user.email_verified_at = now
            # Every other unused link of the account (reset, verification) was for the old address.
            await db.execute(
                sa.update(AccountToken)
                .where(AccountToken.user_id == user.id, AccountToken.used_at.is_(None))
                .values(used_at=now)
            )
            moved, kept = await _move_customer_records(db, user.id, old_email, link.email)
            ended = await revoke_other_sessions(db, user.id, keep=link.session_id)
            await db.flush()
            log_event(db, AuthEvent.EMAIL_CHANGED, origin=device, success=True, user_id=user.id,
                      details={"old_email": email_fingerprint(old_email),
                               "new_email": email_fingerprint(link.email), "sessions_ended": ended,
                               "customers_moved": moved, "customers_kept": kept})
            return EmailChanged(user=user, old_email=old_email, sessions_ended=ended,
                                kept_session_id=link.session_id, customers_moved=moved,
                                customers_kept=kept)
    assert failed
    raise invalid_link("Another account uses this address now; ask for the change again.")


async def _move_customer_records(
    db: AsyncSession, user_id: uuid.UUID, old_email: str, new_email: str
) -> tuple[int, int]:
    linked = list((await db.execute(
        sa.select(Customer).where(Customer.user_id == user_id).with_for_update()
    )).scalars())
    moved = kept = 0
    for customer in linked:
        clash = (await db.execute(sa.select(Customer.id).where(
            Customer.tenant_id == customer.tenant_id, Customer.email == new_email, Customer.id != customer.id,
        ))).first()
        if clash is not None or customer.email != old_email:
            kept += 1
            continue
        customer.email = new_email
        moved += 1
        await db.flush()
        await announce_customer_change(db, customer, "updated")
    return moved, kept
