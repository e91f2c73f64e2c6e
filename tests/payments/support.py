"""GraphQL documents and helpers shared by the payment tests."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from boka.db import Database
from boka.models.bookings import Booking, BookingHistory
from boka.models.payments import Payment, Refund

SET_POLICY = """
mutation Policy($input: SetServicePaymentPolicyInput!) {
  setServicePaymentPolicy(input: $input) {
    policy { mode depositAmount depositPercent noShowFeePercent }
    errors { field code message }
  }
}"""
CREATE = """
mutation Book($input: CreateBookingInput!) {
  createBooking(input: $input) {
    booking { id status price { amount currency } }
    payment { id databaseId kind status provider clientSecret expiresAt amount { amount currency } }
    manageToken
    errors { field code message }
  }
}"""
CANCEL = """
mutation Cancel($input: CancelBookingInput!) {
  cancelBooking(input: $input) {
    booking { id status } refund { amount currency } refundPercent
    errors { field code message }
  }
}"""
NO_SHOW = """
mutation NoShow($input: BookingActionInput!) {
  markNoShow(input: $input) { booking { id status } errors { field code message } }
}"""


def payment_intent_id(client_secret: str) -> str:
    return client_secret.split("_secret_")[0]


async def ledger(database: Database) -> dict[str, Any]:
    """Everything the payment tests look at, straight from the database."""
    async with database.transaction(all_tenants=True) as db:
        bookings = (await db.execute(sa.select(Booking))).scalars().all()
        payments = (await db.execute(sa.select(Payment).order_by(Payment.created_at))).scalars().all()
        refunds = (await db.execute(sa.select(Refund).order_by(Refund.created_at))).scalars().all()
        history = (
            await db.execute(sa.select(BookingHistory.action).order_by(BookingHistory.created_at))
        ).scalars().all()
    return {"bookings": bookings, "payments": payments, "refunds": refunds, "history": list(history)}
