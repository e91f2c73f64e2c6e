"""What a message is about and how it travels."""

from __future__ import annotations

import enum


class MessageKind(str, enum.Enum):
    BOOKING_CONFIRMED = "booking_confirmed"
    BOOKING_RESCHEDULED = "booking_rescheduled"
    BOOKING_CANCELLED = "booking_cancelled"
    BOOKING_REMINDER = "booking_reminder"
    PAYMENT_RECEIPT = "payment_receipt"
    PAYMENT_REFUND = "payment_refund"
    STAFF_DAILY_AGENDA = "staff_daily_agenda"
    TEAM_ALERT = "team_alert"  # to owners (and managers): something needs their attention
    WAITLIST_OFFER = "waitlist_offer"  # time held for a customer on the waitlist: claim it


class AccountMailKind(str, enum.Enum):
    """Mails about a person's account or place in a team: always email, Boka's own wording."""

    VERIFY_EMAIL = "verify_email"
    PASSWORD_RESET = "password_reset"
    TEAM_INVITATION = "team_invitation"
    EMAIL_CHANGE = "email_change"  # to the new address: the link that completes the change
    EMAIL_CHANGED_NOTICE = "email_changed_notice"  # to the old address, no link
    EMAIL_IN_USE_NOTICE = "email_in_use_notice"  # to an address another account asked for, no link


class Channel(str, enum.Enum):
    EMAIL = "email"
    SMS = "sms"


# Messages about one booking, sent to its customer.
BOOKING_KINDS = frozenset({
    MessageKind.BOOKING_CONFIRMED, MessageKind.BOOKING_RESCHEDULED,
    MessageKind.BOOKING_CANCELLED, MessageKind.BOOKING_REMINDER,
    MessageKind.PAYMENT_RECEIPT, MessageKind.PAYMENT_REFUND, MessageKind.WAITLIST_OFFER,
})
