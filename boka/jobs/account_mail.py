"""Jobs for mails about an account, and the functions resolvers call after their commit to
enqueue them:
- ``mail_account``: a verification or invitation mail whose token the request issued; the
  token travels sealed (Fernet, the secret box), so nothing in the queue opens an account;
- ``ask_for_password_reset``: the whole of a reset request (lookup, token, mail) runs in the
  job, so that the request answers alike, in equal time, for any address."""

from __future__ import annotations

import secrets
import uuid

from datetime import timedelta

from boka.identity.devices import DeviceInfo
from boka.identity.recovery import request_password_reset
from boka.jobs.context import job_runtime
from boka.jobs.notifications import MESSAGE_RETRY, job_id
from boka.notifications.account_mail import AccountMail, send_account_mail
from boka.notifications.kinds import AccountMailKind
from boka.models.tenancy import Tenant
from boka.models.types import utcnow
from boka.runtime import Runtime

QUEUE = "high"  # someone is waiting for this mail with the page open


async def send_account_mail_job(
    kind: str, to: str, sealed_token: str, tenant_id: str, business_name: str, detail: str
) -> str:
    async with job_runtime() as runtime:
        mail = AccountMail(
            kind=AccountMailKind(kind), to=to, token=runtime.secret_box.open(sealed_token),
            tenant_id=uuid.UUID(tenant_id) if tenant_id else None, business_name=business_name, detail=detail,
        )
        outcome = await send_account_mail(runtime, mail)
    return outcome.value if outcome else "email is not configured"


async def password_reset_job(email: str, tenant_id: str, ip_address: str, user_agent: str) -> str:
    async with job_runtime() as runtime:
        tenant = None
        if tenant_id:
            async with runtime.database.transaction() as db:
                tenant = await db.get(Tenant, uuid.UUID(tenant_id))
        asked = await request_password_reset(
            runtime.database, email=email, tenant_id=tenant.id if tenant else None,
            device=DeviceInfo(ip_address=ip_address or None, user_agent=user_agent or None),
            ttl=timedelta(minutes=runtime.settings.password_reset_minutes), now=utcnow(),
        )
        if asked.token is None:
            return "no account uses this address"
        outcome = await send_account_mail(runtime, AccountMail(
            kind=AccountMailKind.PASSWORD_RESET, to=asked.email, token=asked.token,
            tenant_id=tenant.id if tenant else None, business_name=tenant.name if tenant else "Boka",
        ))
    return outcome.value if outcome else "email is not configured"


async def ask_for_password_reset(
    runtime: Runtime, *, email: str, tenant_id: uuid.UUID | None, device: DeviceInfo
) -> None:
    """Enqueue a reset request for ``email`` (already checked to be an address)."""
    await runtime.jobs.enqueue(
        password_reset_job, email, str(tenant_id) if tenant_id else "", device.ip_address or "",
        (device.user_agent or "")[:512], queue=QUEUE, retry=MESSAGE_RETRY,
        job_id=job_id("password-reset", secrets.token_hex(16)),
    )


async def mail_account(runtime: Runtime, mail: AccountMail) -> None:
    """Enqueue ``mail`` (once per token)."""
    await runtime.jobs.enqueue(
        send_account_mail_job, mail.kind.value, mail.to,
        runtime.secret_box.seal(mail.token),
        str(mail.tenant_id) if mail.tenant_id else "", mail.business_name, mail.detail,
        queue=QUEUE, retry=MESSAGE_RETRY, job_id=job_id("account-mail", mail.dedupe_key),
    )


async def mail_email_changed_notice(runtime: Runtime, old_email: str, new_email: str) -> None:
    """Tell the address an account just left (no link: the nonce only keeps the dedupe key apart)."""
    await mail_account(runtime, AccountMail(
        kind=AccountMailKind.EMAIL_CHANGED_NOTICE, to=old_email, token=secrets.token_urlsafe(24),
        detail=new_email,
    ))
