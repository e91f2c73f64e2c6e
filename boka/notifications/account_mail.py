"""Mails about an account: verify your email, reset your password, join a team. Each carries a
single-use link under ``BOKA_PUBLIC_URL``.

They go out from a job, like every other message: the job's arguments hold the link sealed
with the secret box (Fernet), so the queue never holds a usable token. When the mail concerns a
tenant, the notification log makes it go out at most once, as for booking messages; a mail
about an account outside any tenant (a password reset asked for without one) relies on the
job id alone.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from boka.identity.tokens import token_digest
from boka.notifications.delivery import Message, Outcome, deliver
from boka.notifications.email import OutgoingEmail
from boka.notifications.kinds import AccountMailKind, Channel
from boka.runtime import Runtime

PATHS = {
    AccountMailKind.VERIFY_EMAIL: "/verify-email",
    AccountMailKind.PASSWORD_RESET: "/reset-password",
    AccountMailKind.TEAM_INVITATION: "/accept-invitation",
    AccountMailKind.EMAIL_CHANGE: "/confirm-email-change",
}
# Notices about an account carry no link; their "token" is a random nonce that only keeps each
# notice's dedupe key its own.
NOTICES = (AccountMailKind.EMAIL_CHANGED_NOTICE, AccountMailKind.EMAIL_IN_USE_NOTICE)


@dataclass(frozen=True)
class AccountMail:
    kind: AccountMailKind
    to: str
    token: str  # the single-use token the link carries
    tenant_id: uuid.UUID | None = None
    business_name: str = "Boka"
    detail: str = ""  # the role of an invitation

    @property
    def dedupe_key(self) -> str:
        return f"account:{self.kind.value}:{token_digest(self.token)}"


def link_for(public_url: str, kind: AccountMailKind, token: str) -> str:
    return f"{public_url.rstrip('/')}{PATHS[kind]}?token={token}"


def compose(mail: AccountMail, public_url: str, minutes_valid: int) -> OutgoingEmail:
    name = mail.business_name
    if mail.kind is AccountMailKind.EMAIL_CHANGED_NOTICE:
        return OutgoingEmail(to=mail.to, subject="Your Boka account's email address was changed", body=(
            f"Hello,\n\nthe email address of your Boka account was changed from this address to "
            f"{mail.detail}. Mail about the account now goes there, and other devices were signed out.\n\n"
            "If you did not do this, reset your password from the sign-in page with the new address "
            "if you can, or contact the business you book with right away.\n"))
    if mail.kind is AccountMailKind.EMAIL_IN_USE_NOTICE:
        return OutgoingEmail(to=mail.to, subject="Someone tried to use your address on Boka", body=(
            "Hello,\n\nsomeone signed in to another Boka account asked to change that account's "
            "email address to this one. This address already belongs to your account, so nothing "
            "was changed.\n\nIf it was you, you already have an account with this address: sign in "
            "with it (or reset its password). Otherwise you can ignore this mail.\n"))
    link = link_for(public_url, mail.kind, mail.token)
    valid = _duration(minutes_valid)
    if mail.kind is AccountMailKind.EMAIL_CHANGE:
        subject, body = (
            "Confirm your new email address for Boka",
            f"Hello,\n\nyou asked to use this address for your Boka account. Open this link within "
            f"{valid} to confirm; it works once, and the change happens only then:\n\n{link}\n\n"
            "If you did not ask, ignore this mail: nothing changes.\n",
        )
    elif mail.kind is AccountMailKind.VERIFY_EMAIL:
        subject, body = (
            f"{name}: confirm your email address",
            f"Hello,\n\nplease confirm that this is your email address by opening this link "
            f"within {valid}:\n\n{link}\n\nIf you did not sign up, ignore this mail.\n",
        )
    elif mail.kind is AccountMailKind.PASSWORD_RESET:
        subject, body = (
            "Reset your Boka password",
            f"Hello,\n\nsomeone (we hope you) asked to reset your password. Open this link within "
            f"{valid} to choose a new one; it works once:\n\n{link}\n\n"
            "If you did not ask, ignore this mail: your password stays as it is.\n",
        )
    else:
        subject, body = (
            f"You are invited to join {name} on Boka",
            f"Hello,\n\n{name} invites you to join its team as {mail.detail}. Open this link "
            f"within {valid} to accept; it works once:\n\n{link}\n",
        )
    return OutgoingEmail(to=mail.to, subject=subject, body=body)


def _duration(minutes: int) -> str:
    if minutes % (24 * 60) == 0:
        days = minutes // (24 * 60)
        return f"{days} day{'s' if days != 1 else ''}"
    if minutes % 60 == 0:
        hours = minutes // 60
        return f"{hours} hour{'s' if hours != 1 else ''}"
    return f"{minutes} minutes"


def minutes_valid(runtime: Runtime, kind: AccountMailKind) -> int:
    s = runtime.settings
    return {
        AccountMailKind.VERIFY_EMAIL: s.email_verification_hours * 60,
        AccountMailKind.EMAIL_CHANGE: s.email_verification_hours * 60,
        AccountMailKind.EMAIL_CHANGED_NOTICE: 0,
        AccountMailKind.EMAIL_IN_USE_NOTICE: 0,
        AccountMailKind.PASSWORD_RESET: s.password_reset_minutes,
        AccountMailKind.TEAM_INVITATION: s.invitation_days * 24 * 60,
    }[kind]


async def send_account_mail(runtime: Runtime, mail: AccountMail) -> Outcome | None:
    """Send ``mail`` now; None when email is not configured (nothing to send it with)."""
    senders = runtime.senders
    if not senders.configured(Channel.EMAIL):
        return None
    email = compose(mail, runtime.settings.public_url, minutes_valid(runtime, mail.kind))
    if mail.tenant_id is None:
        await senders.send(Message(
            tenant_id=uuid.UUID(int=0), dedupe_key=mail.dedupe_key, kind=mail.kind,
            channel=Channel.EMAIL, recipient=mail.to, email=email,
        ))
        return Outcome.SENT
    return await deliver(runtime.database, senders, Message(
        tenant_id=mail.tenant_id, dedupe_key=mail.dedupe_key, kind=mail.kind,
        channel=Channel.EMAIL, recipient=mail.to, email=email,
    ))
