"""GraphQL types of customers' own data (GDPR): erasure and account deletion."""

from __future__ import annotations

import strawberry
from strawberry import relay

from boka.schema.customers import CustomerType
from boka.schema.errors import UserError


@strawberry.input(description="Which customer to erase, and what becomes of their upcoming bookings.")
class EraseCustomerInput:
    id: relay.GlobalID = strawberry.field(description="The Customer's id.")
    cancel_future_bookings: bool = strawberry.field(
        default=False,
        description="Cancel their upcoming bookings (under each service's cancellation policy, "
        "refunds included) as part of the erasure. Without it, a customer with upcoming "
        "bookings is refused with FUTURE_BOOKINGS and nothing changes.",
    )


@strawberry.type(description="The erased customer record, its personal data gone.")
class EraseCustomerPayload:
    customer: CustomerType | None = strawberry.field(
        default=None, description="The record as it now reads (anonymised).")
    already_erased: bool = strawberry.field(
        default=False, description="True when it had been erased before: nothing changed.")
    cancelled_bookings: int = strawberry.field(
        default=0, description="How many upcoming bookings the erasure cancelled.")
    errors: list[UserError] = strawberry.field(
        default_factory=list, description="Why nothing was erased, if so.")


@strawberry.input(description="Proof that the account holder is asking.")
class DeleteMyAccountInput:
    password: str = strawberry.field(description="The account's current password.")
    mfa_code: str | None = strawberry.field(
        default=None,
        description="With two-factor authentication on: a code from the authenticator app or a "
        "backup code.",
    )


@strawberry.type(description="The outcome of deleting your account.")
class DeleteMyAccountPayload:
    deleted: bool = strawberry.field(default=False, description="True once the account is gone.")
    customer_records_erased: int = strawberry.field(
        default=0, description="Customer records (one per business) that were erased with it.")
    sessions_ended: int = strawberry.field(default=0, description="Sign-ins that were ended.")
    errors: list[UserError] = strawberry.field(
        default_factory=list, description="Why nothing was deleted, if so.")
