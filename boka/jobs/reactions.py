"""Jobs that react to committed events: the customer's messages about their bookings and
their money, and the team's alerts (a webhook switched off, suspicious sign-ins). Registered with the relay (``CONSUMER_MODULES``); each handler only enqueues,
with a job id derived from the event id, so an event delivered twice sends nothing twice."""

from __future__ import annotations

import uuid

from boka.events.consumers import ALL_EVENTS, DeliveredEvent, on
from boka.jobs.analytics import ROLLUP_EVENT_PREFIXES, enqueue_rollup_refresh
from boka.jobs.context import job_runtime
from boka.jobs.notifications import alert_team, job_id, notify_booking_changed, notify_payment
from boka.models.bookings import BookingStatus
from boka.models.tenancy import Role
from boka.notifications.kinds import MessageKind
from boka.notifications.team_alerts import TeamAlert

BOOKING_MESSAGES: dict[str, MessageKind] = {
    "booking.created": MessageKind.BOOKING_CONFIRMED,  # only when it was confirmed at once
    "booking.confirmed": MessageKind.BOOKING_CONFIRMED,
    "booking.paid": MessageKind.BOOKING_CONFIRMED,  # the payment confirmed the hold
    "booking.rescheduled": MessageKind.BOOKING_RESCHEDULED,
    "booking.cancelled": MessageKind.BOOKING_CANCELLED,
    "booking.expired": MessageKind.BOOKING_CANCELLED,  # an unpaid hold ran out
}
MONEY_MESSAGES: dict[str, tuple[MessageKind, str]] = {
    "payment.succeeded": (MessageKind.PAYMENT_RECEIPT, "payment_id"),
    "refund.succeeded": (MessageKind.PAYMENT_REFUND, "refund_id"),
}


async def tell_customer_about_booking(event: DeliveredEvent) -> None:
    kind = BOOKING_MESSAGES[event.type]
    if event.type == "booking.created" and event.payload.get("status") != BookingStatus.CONFIRMED.value:
        return  # pending: the customer hears when it is confirmed (or paid)
    async with job_runtime() as runtime:
        await notify_booking_changed(
            runtime, event.tenant_id, uuid.UUID(event.payload["booking_id"]), kind, event_id=str(event.id)
        )


async def tell_customer_about_money(event: DeliveredEvent) -> None:
    kind, reference_field = MONEY_MESSAGES[event.type]
    payload = event.payload
    async with job_runtime() as runtime:
        await notify_payment(
            runtime, event.tenant_id, uuid.UUID(payload["booking_id"]), kind,
            reference=payload[reference_field], amount_cents=int(payload["amount_cents"]),
            currency=payload["currency"],
        )


SECURITY_ALERT_TITLES = {
    "new_device": "A team member signed in from a new device",
    "failure_burst": "Many failed sign-ins came from one address",
}


async def tell_team_webhook_disabled(event: DeliveredEvent) -> None:
    payload = event.payload
    alert = TeamAlert(
        key=str(event.id), title="An outgoing webhook was switched off",
        details=f"{payload['url']}\n{payload['reason']}\nFix the receiver, then switch the "
                "endpoint on again and replay what it missed.",
        roles=frozenset({Role.OWNER, Role.MANAGER}),
    )
    async with job_runtime() as runtime:
        await alert_team(runtime, event.tenant_id, alert)


async def tell_owners_security_alert(event: DeliveredEvent) -> None:
    payload = event.payload
    alert = TeamAlert(
        key=str(event.id),
        title=SECURITY_ALERT_TITLES.get(payload["kind"], "Suspicious sign-in activity"),
        details=f"From address {payload.get('ip_address') or 'unknown'}. "
                "The details are in securityAlerts.",
        roles=frozenset({Role.OWNER}),
    )
    async with job_runtime() as runtime:
        await alert_team(runtime, event.tenant_id, alert)


async def refresh_analytics_rollup(event: DeliveredEvent) -> None:
    """A booking or its money changed: fold the days it marked into the analytics rollup."""
    if not event.type.startswith(ROLLUP_EVENT_PREFIXES):
        return
    async with job_runtime() as runtime:
        if runtime.database.is_sqlite:
            return  # no rollup: SQLite answers from the bookings
        await enqueue_rollup_refresh(runtime, event.tenant_id, job_id("rollup", str(event.id)))


on(ALL_EVENTS)(refresh_analytics_rollup)
on("webhook.endpoint_disabled")(tell_team_webhook_disabled)
on("security.alert")(tell_owners_security_alert)
for _event_type in BOOKING_MESSAGES:
    on(_event_type)(tell_customer_about_booking)
for _event_type in MONEY_MESSAGES:
    on(_event_type)(tell_customer_about_money)
