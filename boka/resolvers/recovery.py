"""Resolvers for account recovery (password reset) and email verification."""

from __future__ import annotations

from datetime import timedelta

import strawberry

from boka.errors import UserInputError
from boka.identity.account_tokens import new_link_token
from boka.identity.accounts import normalize_email
from boka.identity.email_change import confirm_email_change, request_email_change
from boka.identity.recovery import resend_verification, reset_password, verify_email
from boka.jobs.account_mail import ask_for_password_reset, mail_account, mail_email_changed_notice
from boka.models.types import utcnow
from boka.notifications.account_mail import AccountMail
from boka.notifications.kinds import AccountMailKind
from boka.resolvers.context import Info
from boka.schema.errors import UserError
from boka.schema.rate_limits import auth_limited
from boka.schema.recovery import (
    ChangeMyEmailInput,
    ChangeMyEmailPayload,
    ConfirmEmailChangeInput,
    ConfirmEmailChangePayload,
    RequestPasswordResetInput,
    RequestPasswordResetPayload,
    ResendVerificationPayload,
    ResetPasswordInput,
    ResetPasswordPayload,
    VerifyEmailInput,
    VerifyEmailPayload,
)
from boka.schema.transactions import attempt, write

EMAIL_CHANGE_ANSWER = (
    "We sent a link to the new address: the change happens when you open it. Your address stays "
    "as it is until then."
)
RESET_ANSWER = "If an account uses this address, a link to reset its password is on its way."


async def ask_for_reset(info: Info, input: RequestPasswordResetInput) -> RequestPasswordResetPayload:
    """The same answer, in the same time, whether or not the address has an account: the
    lookup, the token and the mail happen in a job."""
    context = info.context
    tenant = context.principal.tenant
    try:
        email = normalize_email(input.email)  # a malformed address tells nothing about any account
    except UserInputError as error:
        return RequestPasswordResetPayload(errors=UserError.all_from(error))
    await ask_for_password_reset(
        context.runtime, email=email, tenant_id=tenant.id if tenant else None, device=context.device
    )
    return RequestPasswordResetPayload(message=RESET_ANSWER)


async def reset(info: Info, input: ResetPasswordInput) -> ResetPasswordPayload:
    context = info.context
    runtime = context.runtime
    principal = context.principal  # resolved first: a credential sent to the wrong tenant is refused
    user, errors = await attempt(reset_password(
        runtime.database, runtime.identity.mfa, token=input.token, new_password=input.new_password,
        mfa_code=input.mfa_code, device=context.device, now=utcnow(),
    ))
    if user is not None and principal.actor_user_id == user.id:
        context.forget_session()  # this browser's session ended with the others
    return ResetPasswordPayload(password_reset=user is not None, errors=errors)


async def verify(info: Info, input: VerifyEmailInput) -> VerifyEmailPayload:
    _ = info.context.principal  # resolved first: a credential sent to the wrong tenant is refused
    async def work() -> bool:
        async with info.context.runtime.database.transaction(write=True) as db:
            await verify_email(db, token=input.token, now=utcnow(), device=info.context.device)
            return True

    verified, errors = await attempt(work())
    return VerifyEmailPayload(verified=bool(verified), errors=errors)


async def resend(info: Info) -> ResendVerificationPayload:
    """A new verification link to the signed-in account's address."""
    context = info.context
    runtime = context.runtime
    result, errors = await write(info, lambda db, principal: resend_verification(
        db, principal, ttl=timedelta(hours=runtime.settings.email_verification_hours), now=utcnow(),
        device=context.device,
    ))
    if result is None:
        return ResendVerificationPayload(errors=errors)
    user, token = result
    if token is None:
        return ResendVerificationPayload(sent=False)
    tenant = context.principal.tenant
    await mail_account(runtime, AccountMail(
        kind=AccountMailKind.VERIFY_EMAIL, to=user.email, token=token,
        tenant_id=tenant.id if tenant else None, business_name=tenant.name if tenant else "Boka",
    ))
    return ResendVerificationPayload(sent=True)


async def change_my_email(info: Info, input: ChangeMyEmailInput) -> ChangeMyEmailPayload:
    """Asks to move the signed-in account to another address (password, and a code with
    two-factor on). The same answer whether or not another account uses that address."""
    context = info.context
    runtime = context.runtime
    asked, errors = await attempt(request_email_change(
        runtime.database, runtime.identity.mfa, context.principal, new_email=input.new_email,
        password=input.password, mfa_code=input.mfa_code, device=context.device,
        ttl=timedelta(hours=runtime.settings.email_verification_hours), now=utcnow(),
    ))
    if asked is None:
        return ChangeMyEmailPayload(errors=errors)
    tenant = context.principal.tenant
    await mail_account(runtime, AccountMail(
        kind=AccountMailKind.EMAIL_CHANGE if asked.token else AccountMailKind.EMAIL_IN_USE_NOTICE,
        to=asked.new_email, token=asked.token or new_link_token(),
        tenant_id=tenant.id if tenant else None, business_name=tenant.name if tenant else "Boka",
    ))
    return ChangeMyEmailPayload(message=EMAIL_CHANGE_ANSWER)


async def confirm_change(info: Info, input: ConfirmEmailChangeInput) -> ConfirmEmailChangePayload:
    """The link mailed to the new address: the account takes it, its other sessions end and
    the old address is told."""
    context = info.context
    runtime = context.runtime
    principal = context.principal  # resolved first: a credential sent to the wrong tenant is refused
    changed, errors = await attempt(confirm_email_change(
        runtime.database, token=input.token, device=context.device, now=utcnow()
    ))
    if changed is None:
        return ConfirmEmailChangePayload(errors=errors)
    if principal.actor_user_id == changed.user.id and principal.session_id != changed.kept_session_id:
        context.forget_session()  # this browser's session ended with the others
    await mail_email_changed_notice(runtime, changed.old_email, changed.user.email)
    return ConfirmEmailChangePayload(changed=True, email=changed.user.email)


@strawberry.type
class RecoveryMutation:
    request_password_reset: RequestPasswordResetPayload = strawberry.field(
        resolver=ask_for_reset, extensions=auth_limited(),
        description="Mail a single-use link to reset the password (the same answer for any address).",
    )
    reset_password: ResetPasswordPayload = strawberry.field(
        resolver=reset, extensions=auth_limited(),
        description="Set a new password with the link's token; every session of the account ends.",
    )
    verify_email: VerifyEmailPayload = strawberry.field(resolver=verify, extensions=auth_limited())
    resend_verification_email: ResendVerificationPayload = strawberry.field(
        resolver=resend, extensions=auth_limited()
    )
    change_my_email: ChangeMyEmailPayload = strawberry.field(resolver=change_my_email, extensions=auth_limited())
    confirm_email_change: ConfirmEmailChangePayload = strawberry.field(
        resolver=confirm_change, extensions=auth_limited()
    )
