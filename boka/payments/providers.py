"""The payment provider interface. Stripe is the real one (stripe_provider.py); the offline
one (OnSiteProvider) records what is to be collected or paid back at the counter."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from boka.errors import UserErrorCode, UserInputError


@dataclass(frozen=True)
class IntentResult:
    provider_payment_id: str | None
    client_secret: str | None  # what the customer's browser needs to pay; None offline
    status: str  # a boka.models.payments.PaymentStatus value


@dataclass(frozen=True)
class RefundResult:
    provider_refund_id: str | None
    status: str  # a boka.models.payments.RefundStatus value


@dataclass(frozen=True)
class ChargeRequest:
    amount_cents: int
    currency: str
    idempotency_key: str
    metadata: dict[str, str]
    payment_method: str | None = None  # confirm at once with this (server-side confirmation)
    off_session: bool = False  # charging a saved method without the customer present


class PaymentDeclined(UserInputError):
    """The card (or other method) was refused: a user error the customer can act on."""

    def __init__(self, message: str, decline_code: str | None = None) -> None:
        super().__init__(UserErrorCode.PAYMENT_DECLINED, message, "paymentMethodId")
        self.decline_code = decline_code


class PaymentRefused(Exception):
    """The provider refused the request for good (e.g. refunding more than was paid); retrying
    cannot help. Recorded on the ledger row, not retried."""


class PaymentUnavailable(Exception):
    """The provider could not be reached or answered with a transient error; worth retrying
    (jobs retry it with backoff)."""


class PaymentProvider(Protocol):
    name: str
    collects_online: bool  # False: nothing is charged before the appointment

    async def create_payment(self, request: ChargeRequest) -> IntentResult: ...

    async def cancel_payment(self, provider_payment_id: str) -> None: ...

    async def refund(
        self, provider_payment_id: str | None, *, amount_cents: int, idempotency_key: str,
        metadata: dict[str, str],
    ) -> RefundResult: ...


class OnSiteProvider:
    """Pay on site: no money moves online. A payment is due at the counter; a refund is paid
    back by hand. Bookings are not held waiting for payment."""

    name = "on_site"
    collects_online = False

    async def create_payment(self, request: ChargeRequest) -> IntentResult:
        return IntentResult(provider_payment_id=None, client_secret=None, status="due_on_site")

    async def cancel_payment(self, provider_payment_id: str) -> None:
        return None

    async def refund(
        self, provider_payment_id: str | None, *, amount_cents: int, idempotency_key: str,
        metadata: dict[str, str],
    ) -> RefundResult:
        return RefundResult(provider_refund_id=None, status="manual")
