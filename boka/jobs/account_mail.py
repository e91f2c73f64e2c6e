"""The job that sends a mail about an account (verify, reset, invitation), and the function
resolvers call after their commit to enqueue it. The link's token travels sealed (Fernet, the
secret box), so nothing in the queue opens an account."""

from __future__ import annotations

import secrets
import uuid

from boka.jobs.context import job_runtime
from boka.jobs.notifications import MESSAGE_RETRY, job_id
from boka.notifications.account_mail import AccountMail, send_account_mail
from boka.notifications.kinds import AccountMailKind
from boka.runtime import Runtime

QUEUE = "high"  # someone is waiting for this mail with the page open


async def send_account_mail_job(
    kind: str, to: str, sealed_token: str, tenant_id: str, business_name: str, detail: str
) -> str:
    if not to:
        return "nothing to send"  # a reset asked for an address without an account
    async with job_runtime() as runtime:
        mail = AccountMail(
            kind=AccountMailKind(kind), to=to, token=runtime.secret_box.open(sealed_token) if sealed_token else "",
            tenant_id=uuid.UUID(tenant_id) if tenant_id else None, business_name=business_name, detail=detail,
        )
        outcome = await send_account_mail(runtime, mail)
    return outcome.value if outcome else "email is not configured"


async def mail_account(runtime: Runtime, mail: AccountMail | None) -> None:
    """Enqueue ``mail``; None enqueues a job that sends nothing, so that asking about an unknown
    address costs what asking about a known one does."""
    if mail is None:
        await runtime.jobs.enqueue(
            send_account_mail_job, AccountMailKind.PASSWORD_RESET.value, "",
            runtime.secret_box.seal(""), "", "", "", queue=QUEUE, retry=MESSAGE_RETRY,
            job_id=job_id("account-mail", secrets.token_hex(16)),
        )
        return
    await runtime.jobs.enqueue(
        send_account_mail_job, mail.kind.value, mail.to,
        runtime.secret_box.seal(mail.token) if mail.token else "",
        str(mail.tenant_id) if mail.tenant_id else "", mail.business_name, mail.detail,
        queue=QUEUE, retry=MESSAGE_RETRY, job_id=job_id("account-mail", mail.dedupe_key),
    )
