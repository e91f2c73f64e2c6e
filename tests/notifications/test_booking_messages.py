"""Booking messages through a real SMTP server and Twilio's API boundary: what the customer
receives, the calendar invite in it, preferences, and at-most-once delivery."""

from __future__ import annotations

from datetime import UTC

import pytest

from boka.notifications.booking_messages import (
    PaymentInfo,
    send_booking_message,
    send_payment_message,
)
from boka.notifications.delivery import Outcome
from boka.notifications.kinds import Channel, MessageKind
from tests.notifications.conftest import SMS_FROM
from tests.notifications.servers import FakeTwilio, SmtpServer
from tests.notifications.support import (
    book,
    cancel,
    future_day,
    local,
    log_rows,
    parse_event,
    reschedule,
    set_phone_and_channels,
)
from tests.support import GraphQLClient, World


async def test_confirmation_email_carries_an_invite_the_calendar_understands(
    gql: GraphQLClient, world: World, smtp: SmtpServer
) -> None:
    booked = await book(gql, world)

    outcome = await send_booking_message(world.runtime, booked.tenant.id, booked.booking_id,
                                         MessageKind.BOOKING_CONFIRMED)

    assert outcome == {Channel.EMAIL: Outcome.SENT}
    [mail] = smtp.sink.received
    assert mail.recipients == ["carl@example.com"]
    assert mail.sender == "bookings@salon.example"
    assert mail.subject.startswith("Booking confirmed: Haircut on ")
    day = future_day(3)
    assert f"{day.day} " in mail.subject
    assert "Haircut with Staff 0" in mail.text
    assert "10:00-11:00 (Europe/Berlin)" in mail.text
    assert "https://book.salon.example/manage/bkp_" in mail.text  # the proof link: only the email gets it
    assert mail.message["List-Unsubscribe"].startswith("<https://book.salon.example/notifications/unsubscribe/bku_")
    inline, attached = mail.calendar_parts()
    assert inline == attached
    calendar, event = parse_event(inline)
    assert calendar["METHOD"] == "REQUEST"
    assert str(event["UID"]) == f"booking-{booked.booking_id}@book.salon.example"
    assert event["SEQUENCE"] == 0
    assert event["DTSTART"].dt == booked.start.astimezone(UTC)
    assert event["DTEND"].dt == local(day, 11).astimezone(UTC)
    assert str(event["ATTENDEE"]) == "mailto:carl@example.com"
    assert str(event["ORGANIZER"]) == "mailto:bookings@salon.example"
    assert str(event["STATUS"]) == "CONFIRMED"
    [row] = await log_rows(world)
    assert (row.status, row.kind, row.channel, row.recipient) == ("sent", "booking_confirmed", "email", "carl@example.com")
    assert row.provider_message_id == mail.message["Message-ID"]
    assert row.sent_at is not None


async def test_reschedule_and_cancel_update_the_same_calendar_event(
    gql: GraphQLClient, world: World, smtp: SmtpServer
) -> None:
    booked = await book(gql, world)
    await send_booking_message(world.runtime, booked.tenant.id, booked.booking_id, MessageKind.BOOKING_CONFIRMED)
    new_start = local(future_day(3), 14)
    await reschedule(gql, booked, new_start)
    await send_booking_message(world.runtime, booked.tenant.id, booked.booking_id, MessageKind.BOOKING_RESCHEDULED)
    await cancel(gql, booked)
    await send_booking_message(world.runtime, booked.tenant.id, booked.booking_id, MessageKind.BOOKING_CANCELLED)

    confirmed, moved, cancelled = smtp.sink.received
    events = [parse_event(mail.calendar_parts()[0]) for mail in (confirmed, moved, cancelled)]
    assert len({str(event["UID"]) for _, event in events}) == 1
    assert [event["SEQUENCE"] for _, event in events] == [0, 1, 2]
    assert [str(calendar["METHOD"]) for calendar, _ in events] == ["REQUEST", "REQUEST", "CANCEL"]
    assert events[1][1]["DTSTART"].dt == new_start.astimezone(UTC)
    assert str(events[2][1]["STATUS"]) == "CANCELLED"
    assert moved.subject.startswith("Booking moved")
    assert "14:00-15:00" in moved.text
    assert cancelled.subject.startswith("Booking cancelled")
    assert "Ill" in cancelled.text


async def test_a_message_that_is_no_longer_true_is_not_sent(
    gql: GraphQLClient, world: World, smtp: SmtpServer
) -> None:
    booked = await book(gql, world)
    await cancel(gql, booked)

    # A confirmation job that only runs now (queued before the cancellation) sends nothing.
    outcome = await send_booking_message(world.runtime, booked.tenant.id, booked.booking_id,
                                         MessageKind.BOOKING_CONFIRMED)

    assert outcome == {}
    assert smtp.sink.received == []


async def test_a_retried_job_does_not_send_twice(
    gql: GraphQLClient, world: World, smtp: SmtpServer, twilio: FakeTwilio
) -> None:
    booked = await book(gql, world)
    await set_phone_and_channels(world, booked, "+4915112345678", ["email", "sms"])

    first = await send_booking_message(world.runtime, booked.tenant.id, booked.booking_id, MessageKind.BOOKING_CONFIRMED)
    again = await send_booking_message(world.runtime, booked.tenant.id, booked.booking_id, MessageKind.BOOKING_CONFIRMED)

    assert first == {Channel.EMAIL: Outcome.SENT, Channel.SMS: Outcome.SENT}
    assert again == {Channel.EMAIL: Outcome.ALREADY_HANDLED, Channel.SMS: Outcome.ALREADY_HANDLED}
    assert len(smtp.sink.received) == 1
    assert len(twilio.messages) == 1


async def test_a_failed_send_is_recorded_and_the_retry_sends_it_once(
    gql: GraphQLClient, world: World, smtp: SmtpServer, twilio: FakeTwilio
) -> None:
    booked = await book(gql, world)
    await set_phone_and_channels(world, booked, "+4915112345678", ["email", "sms"])
    smtp.sink.refuse_next = 1
    twilio.refuse_next = 1

    with pytest.raises(Exception) as failure:
        await send_booking_message(world.runtime, booked.tenant.id, booked.booking_id, MessageKind.BOOKING_CONFIRMED)
    failed = {row.channel: row for row in await log_rows(world)}
    retried = await send_booking_message(world.runtime, booked.tenant.id, booked.booking_id, MessageKind.BOOKING_CONFIRMED)

    assert "451" in str(failure.value)
    assert {channel: row.status for channel, row in failed.items()} == {"email": "failed", "sms": "failed"}
    assert "451" in (failed["email"].error or "")
    assert "Service unavailable" in (failed["sms"].error or "")
    assert retried == {Channel.EMAIL: Outcome.SENT, Channel.SMS: Outcome.SENT}
    assert len(smtp.sink.received) == 1 and len(twilio.messages) == 1
    rows = {row.channel: row for row in await log_rows(world)}
    assert [(rows[c].status, rows[c].attempts) for c in ("email", "sms")] == [("sent", 2), ("sent", 2)]


async def test_sms_goes_through_twilio_with_the_real_client(
    gql: GraphQLClient, world: World, smtp: SmtpServer, twilio: FakeTwilio
) -> None:
    booked = await book(gql, world)
    await set_phone_and_channels(world, booked, "+4915112345678", ["sms"])

    outcome = await send_booking_message(world.runtime, booked.tenant.id, booked.booking_id, MessageKind.BOOKING_CONFIRMED)

    assert outcome == {Channel.SMS: Outcome.SENT}
    assert smtp.sink.received == []  # the customer chose SMS only
    [sms] = twilio.messages
    assert (sms.to, sms.from_) == ("+4915112345678", SMS_FROM)
    assert sms.body.startswith("Salon: Haircut on ") and "at 10:00 is confirmed" in sms.body
    [row] = await log_rows(world)
    assert row.provider_message_id == sms.sid


async def test_twilio_refusing_a_number_is_recorded_and_not_retried(
    gql: GraphQLClient, world: World, twilio: FakeTwilio
) -> None:
    booked = await book(gql, world)
    await set_phone_and_channels(world, booked, "0151 no plus", ["sms"])

    outcome = await send_booking_message(world.runtime, booked.tenant.id, booked.booking_id, MessageKind.BOOKING_CONFIRMED)

    # A bad number stays bad: recorded, and not raised (so the job is not retried in vain).
    assert outcome == {Channel.SMS: Outcome.REFUSED}
    [row] = await log_rows(world)
    assert row.status == "failed"
    assert "21211" in (row.error or "") and "not a valid phone number" in (row.error or "")
    assert twilio.messages == []


async def test_an_unknown_mailbox_is_recorded_and_not_retried(
    gql: GraphQLClient, world: World, smtp: SmtpServer
) -> None:
    booked = await book(gql, world)
    smtp.sink.unknown_recipients.add("carl@example.com")

    outcome = await send_booking_message(world.runtime, booked.tenant.id, booked.booking_id, MessageKind.BOOKING_CONFIRMED)

    assert outcome == {Channel.EMAIL: Outcome.REFUSED}
    [row] = await log_rows(world)
    assert row.status == "failed" and "No such user" in (row.error or "")
    assert smtp.sink.received == []


async def test_an_opted_out_customer_gets_nothing(
    gql: GraphQLClient, world: World, smtp: SmtpServer, twilio: FakeTwilio
) -> None:
    booked = await book(gql, world)
    await set_phone_and_channels(world, booked, "+4915112345678", [])

    outcome = await send_booking_message(world.runtime, booked.tenant.id, booked.booking_id, MessageKind.BOOKING_CONFIRMED)

    assert outcome == {}
    assert smtp.sink.received == [] and twilio.messages == []
    assert await log_rows(world) == []


async def test_payment_receipt_and_refund_are_sent_once_per_ledger_entry(
    gql: GraphQLClient, world: World, smtp: SmtpServer
) -> None:
    booked = await book(gql, world)
    receipt = PaymentInfo(reference="pay_1", amount_cents=5000, currency="EUR")
    refund = PaymentInfo(reference="re_1", amount_cents=2499, currency="EUR")

    for _ in range(2):
        await send_payment_message(world.runtime, booked.tenant.id, booked.booking_id, MessageKind.PAYMENT_RECEIPT, receipt)
    await send_payment_message(world.runtime, booked.tenant.id, booked.booking_id, MessageKind.PAYMENT_REFUND, refund)

    paid, refunded = smtp.sink.received
    assert paid.subject == "Receipt: 50.00 EUR for Haircut"
    assert refunded.subject == "Refund: 24.99 EUR for Haircut"
    assert paid.calendar_parts() == []


