"""Sending one message at most once, with a row in ``notification_log`` for each.

Before talking to the provider we *claim* the message's dedupe key (insert the row as
``sending``, or take a ``failed`` row back); only the claimer sends. Afterwards the row becomes
``sent`` (with the provider's message id) or ``failed`` (with the error, and the exception goes
on to the job, whose retry may claim it again). A second job with the same key, a retry after
success, or two workers racing find the key taken and send nothing.

A worker killed between the provider accepting a message and the row becoming ``sent`` leaves
it ``sending``; it is not sent again (SMTP and Twilio have no idempotency keys, and a duplicate
reminder is worse than a missing one). Such rows are visible in the log for an operator.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import asyncio
import enum
import smtplib
import sys
import uuid
from dataclasses import dataclass

import sqlalchemy as sa
import structlog

from boka.config import Settings
from boka.db import Database, dialect_insert
from boka.models.bookings import ERASED_EMAIL_DOMAIN, Booking, Customer
from boka.models.notifications import NotificationLog
from boka.models.types import new_id, utcnow
from boka.notifications.dev_mailbox import DevMailbox
from boka.notifications.email import OutgoingEmail, SmtpEmailSender, build_message
from boka.notifications.kinds import AccountMailKind, Channel, MessageKind
from boka.observability.metrics import MESSAGES

if TYPE_CHECKING:
    from boka.notifications.sms import TwilioSmsSender

log = structlog.get_logger(__name__)
MAX_ERROR = 2000


class Outcome(str, enum.Enum):
    SENT = "sent"
    REFUSED = "refused"  # the provider refused it for good (bad address or number): not retried
    ALREADY_HANDLED = "already_handled"  # sent before, or being sent by someone else


@dataclass(frozen=True)
class Message:
    tenant_id: uuid.UUID
    dedupe_key: str
    kind: MessageKind | AccountMailKind
    channel: Channel
    recipient: str  # email address or E.164 phone number
    booking_id: uuid.UUID | None = None
    email: OutgoingEmail | None = None
    sms_body: str | None = None


class Senders:
    """The providers the settings configure; a channel without one is not used. One per
    process (``Runtime.senders``): the email sender keeps its connections open."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._email: SmtpEmailSender | None = None
        self._sms: TwilioSmsSender | None = None

    def configured(self, channel: Channel) -> bool:
        """Whether messages of ``channel`` go anywhere: to their provider or the dev mailbox."""
        return self._provider_configured(channel) or self.captures(channel)

    def _provider_configured(self, channel: Channel) -> bool:
        s = self.settings
        if channel is Channel.EMAIL:
            return bool(s.smtp_host)
        return bool(s.twilio_account_sid and s.twilio_auth_token and s.twilio_from_number)

    def captures(self, channel: Channel) -> bool:
        return self.settings.captures(self._provider_configured(channel))

    def _capture(self, message: Message) -> str:
        mailbox = DevMailbox(self.settings.dev_mailbox_dir, self.settings.public_url)
        if message.channel is Channel.EMAIL:
            assert message.email is not None
            return mailbox.save_email(build_message(message.email, self.settings.email_from))
        assert message.sms_body is not None
        return mailbox.save_sms(message.recipient, message.sms_body)

    async def send(self, message: Message) -> str:
        if self.captures(message.channel):
            return "dev-mailbox:" + await asyncio.to_thread(self._capture, message)
        if message.channel is Channel.EMAIL:
            assert message.email is not None
            self._email = self._email or SmtpEmailSender(self.settings)
            return await self._email.send(message.email)
        assert message.sms_body is not None
        if self._sms is None:
            # Imported on first use: the Twilio client (and requests under it) costs the app
            # process ~10 MiB it never needs; only the worker sends messages.
            from boka.notifications.sms import TwilioSmsSender

            self._sms = TwilioSmsSender(self.settings)
        return await self._sms.send(message.recipient, message.sms_body)

    def close(self) -> None:
        if self._email is not None:
            self._email.close()


async def deliver(database: Database, senders: Senders, message: Message) -> Outcome:
    """Send ``message`` unless its dedupe key was claimed before. Provider errors are recorded
    on the log row and raised, so that the job retries."""
    if not await _claim(database, message):
        log.info("notification already handled", dedupe_key=message.dedupe_key)
        return Outcome.ALREADY_HANDLED
    try:
        provider_id = await senders.send(message)
    except Exception as error:
        await _finish(database, message, status="failed", error=describe_error(error))
        _count(message, "failed")
        log.warning("notification failed", dedupe_key=message.dedupe_key, error=str(error))
        if is_permanent(error):
            return Outcome.REFUSED
        raise
    await _finish(database, message, status="sent", provider_id=provider_id)
    _count(message, "sent")
    log.info("notification sent", dedupe_key=message.dedupe_key, channel=message.channel.value)
    return Outcome.SENT


def _count(message: Message, outcome: str) -> None:
    MESSAGES.labels(channel=message.channel.value, kind=message.kind.value, outcome=outcome).inc()


def _twilio_refusal(error: Exception) -> Any | None:
    """``error`` if it is Twilio's TwilioRestException. Checked without importing Twilio: a
    process that never loaded it (never sent an SMS) cannot hold one."""
    exceptions = sys.modules.get("twilio.base.exceptions")
    if exceptions is not None and isinstance(error, exceptions.TwilioRestException):
        return error
    return None


def describe_error(error: Exception) -> str:
    if (refusal := _twilio_refusal(error)) is not None:
        return f"Twilio error {refusal.code} (HTTP {refusal.status}): {refusal.msg}"
    return f"{type(error).__name__}: {error}"


def is_permanent(error: Exception) -> bool:
    """A refusal that no retry will change: the recipient is invalid. Everything else (timeouts,
    4xx-try-later, rate limits, our own credentials) may pass, so the job retries it."""
    if (refusal := _twilio_refusal(error)) is not None:
        return bool(refusal.status == 400)  # invalid parameters, e.g. a number that is not one
    if isinstance(error, smtplib.SMTPRecipientsRefused):
        return all(code >= 500 for code, _ in error.recipients.values())
    return False


async def _claim(database: Database, message: Message) -> bool:
    """Take the message's dedupe key, in one statement: a new key is inserted as ``sending``;
    a key taken before may be taken again only after a failed attempt (and by one claimer:
    the row lock of the conflicting insert queues the others, who then see ``sending``)."""
    async with database.transaction(message.tenant_id, write=True) as db:
        if message.booking_id is not None and message.kind in TO_THE_CUSTOMER:
            if await _customer_erased(db, message.booking_id):
                return False  # erased while this message was on its way: it is not sent
        statement = dialect_insert(db)(NotificationLog).values(
            id=new_id(), tenant_id=message.tenant_id, dedupe_key=message.dedupe_key,
            kind=message.kind.value, channel=message.channel.value,
            recipient=message.recipient, booking_id=message.booking_id, status="sending",
            attempts=1, created_at=utcnow(),
        )
        statement = statement.on_conflict_do_update(
            index_elements=[NotificationLog.dedupe_key],
            set_={"status": "sending", "attempts": NotificationLog.attempts + 1,
                  "recipient": statement.excluded.recipient},
            where=NotificationLog.status == "failed",
        ).returning(NotificationLog.id)
        return (await db.execute(statement)).first() is not None


# The messages that go to the booking's customer (the others go to the team).
TO_THE_CUSTOMER = frozenset({
    MessageKind.BOOKING_CONFIRMED, MessageKind.BOOKING_RESCHEDULED, MessageKind.BOOKING_CANCELLED,
    MessageKind.BOOKING_REMINDER, MessageKind.PAYMENT_RECEIPT, MessageKind.PAYMENT_REFUND,
    MessageKind.WAITLIST_OFFER,
})


async def _customer_erased(db: Any, booking_id: uuid.UUID) -> bool:
    """Whether the booking's customer has been erased (boka/privacy/erasure.py), read under a
    share lock on the customer: an erasure that committed first stops the message; one that
    comes later waits for this claim's commit, then scrubs its log row with the rest."""
    query = (
        sa.select(Customer.email).join(Booking, Booking.customer_id == Customer.id)
        .where(Booking.id == booking_id)
    )
    if db.bind.dialect.name == "postgresql":
        query = query.with_for_update(read=True, of=Customer)
    email = (await db.execute(query)).scalar_one_or_none()
    return email is not None and email.endswith(f"@{ERASED_EMAIL_DOMAIN}")


async def _finish(
    database: Database, message: Message, *, status: str,
    provider_id: str | None = None, error: str | None = None,
) -> None:
    async with database.transaction(message.tenant_id, write=True) as db:
        await db.execute(
            sa.update(NotificationLog)
            .where(NotificationLog.dedupe_key == message.dedupe_key)
            .values(
                status=status, provider_message_id=provider_id,
                error=error[:MAX_ERROR] if error else None,
                sent_at=utcnow() if status == "sent" else None,
            )
        )
