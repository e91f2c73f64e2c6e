"""GraphQL types of payments: a service's payment policy and a booking's payment."""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from datetime import datetime
from typing import Any

import strawberry
from strawberry import relay

from boka.models.payments import Payment, PaymentMode, Refund, ServicePaymentPolicy
from boka.payments.ledger import refunds_of_payments, visible_payments, visible_refunds
from boka.schema.catalog import MoneyType
from boka.schema.errors import UserError
from boka.schema.transactions import resolve_visible_nodes

DATABASE_ID = (
    "The row's own id (a UUID), as webhook payloads and exports carry it. `id` is the Relay "
    "global id that node(id:) takes."
)

PaymentModeEnum = strawberry.enum(PaymentMode, name="PaymentMode")


@strawberry.type(name="Payment", description="Money asked of the customer for a booking.")
class PaymentType(relay.Node):
    id: relay.NodeID[str]
    database_id: str = strawberry.field(description=DATABASE_ID)
    kind: str = strawberry.field(description="booking (deposit or full price), top_up (the difference a move to a "
        "dearer time asks of a booking paid up front) or no_show_fee.")
    amount: MoneyType
    status: str = strawberry.field(
        description="pending, succeeded, failed (may be retried until expiresAt), canceled, "
        "or due_on_site."
    )
    provider: str
    client_secret: str | None = strawberry.field(
        default=None,
        description="Pass to Stripe.js (confirmCardPayment) to pay. Only returned by createBooking "
        "(its payment) and rescheduleBooking (its topUp).",
    )
    expires_at: datetime | None = strawberry.field(
        default=None,
        description="An unpaid booking payment: the booking is cancelled and its slot freed at "
        "this time. An unpaid top-up: it can no longer be paid online (the appointment's start); "
        "the difference is then paid on site and the booking stays.",
    )

    provider_payment_id: str | None = strawberry.field(
        default=None, description="The provider's id (a Stripe PaymentIntent id)."
    )
    created_at: datetime | None = None

    @classmethod
    def from_model(cls, payment: Payment, client_secret: str | None = None) -> PaymentType:
        return cls(
            id=str(payment.id), database_id=str(payment.id), kind=payment.kind,
            amount=MoneyType(amount=payment.amount_cents, currency=payment.currency),
            status=payment.status, provider=payment.provider, client_secret=client_secret,
            expires_at=payment.expires_at, provider_payment_id=payment.provider_payment_id,
            created_at=payment.created_at,
        )

    @strawberry.field(description="Money sent back to the customer from this payment.")
    async def refunds(self, info: strawberry.Info) -> list[RefundType]:
        rows = await info.context.loaders.related(refunds_of_payments).load(uuid.UUID(self.id))
        return [RefundType.from_model(refund) for refund in rows]

    @classmethod
    async def resolve_nodes(  # type: ignore[override]
        cls, *, info: Any, node_ids: Iterable[str], required: bool = False
    ) -> list[PaymentType | None]:
        return await resolve_visible_nodes(info, node_ids, visible_payments, cls.from_model)


@strawberry.type(name="Refund", description="Money sent back to the customer from a payment.")
class RefundType(relay.Node):
    id: relay.NodeID[str]
    database_id: str = strawberry.field(description=DATABASE_ID)
    amount: MoneyType
    status: str = strawberry.field(description="pending, succeeded, failed, or manual (on site).")
    reason: str
    provider_refund_id: str | None
    created_at: datetime

    @classmethod
    def from_model(cls, refund: Refund) -> RefundType:
        return cls(
            id=str(refund.id), database_id=str(refund.id),
            amount=MoneyType(amount=refund.amount_cents, currency=refund.currency),
            status=refund.status, reason=refund.reason,
            provider_refund_id=refund.provider_refund_id, created_at=refund.created_at,
        )

    @classmethod
    async def resolve_nodes(  # type: ignore[override]
        cls, *, info: Any, node_ids: Iterable[str], required: bool = False
    ) -> list[RefundType | None]:
        return await resolve_visible_nodes(info, node_ids, visible_refunds, cls.from_model)


@strawberry.type(name="ServicePaymentPolicy")
class ServicePaymentPolicyType:
    mode: PaymentModeEnum  # type: ignore[valid-type]
    deposit_amount: int | None = strawberry.field(description="Minor units, when a fixed deposit.")
    deposit_percent: int | None
    no_show_fee_percent: int

    @classmethod
    def from_model(cls, policy: ServicePaymentPolicy) -> ServicePaymentPolicyType:
        return cls(
            mode=PaymentMode(policy.mode), deposit_amount=policy.deposit_cents,
            deposit_percent=policy.deposit_percent, no_show_fee_percent=policy.no_show_fee_percent,
        )


@strawberry.input
class SetServicePaymentPolicyInput:
    service_id: relay.GlobalID
    mode: PaymentModeEnum  # type: ignore[valid-type]
    deposit_amount: int | None = strawberry.field(default=None, description="Minor units.")
    deposit_percent: int | None = None
    no_show_fee_percent: int = 0


@strawberry.type
class SetServicePaymentPolicyPayload:
    policy: ServicePaymentPolicyType | None = None
    errors: list[UserError] = strawberry.field(default_factory=list)
