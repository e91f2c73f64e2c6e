"""Stripe through the official ``stripe`` library: PaymentIntents, refunds, webhook signatures.

Every money-moving call carries an idempotency key derived from our own ids, so a retried job
or request never charges or refunds twice. The library itself retries network failures
(``max_network_retries``, with backoff, reusing the key); what still fails transiently becomes
PaymentUnavailable, which jobs retry with their own backoff. Card declines become
PaymentDeclined, a user error."""

from __future__ import annotations

import asyncio
from typing import Any

import stripe

from boka.payments.providers import (
    ChargeRequest,
    IntentResult,
    PaymentDeclined,
    PaymentRefused,
    PaymentUnavailable,
    RefundResult,
)

INTENT_STATUS = {
    "succeeded": "succeeded",
    "canceled": "canceled",
}
TRANSIENT_ERRORS = (
    stripe.APIConnectionError,
    stripe.RateLimitError,
    stripe.APIError,  # 5xx from Stripe
)


class StripeProvider:
    name = "stripe"
    collects_online = True

    def __init__(
        self, api_key: str, *, api_base: str | None = None, timeout: float = 10.0,
        max_network_retries: int = 2,
    ) -> None:
        self._client = stripe.StripeClient(
            api_key,
            base_addresses={"api": api_base} if api_base else None,
            max_network_retries=max_network_retries,
            http_client=stripe.RequestsClient(timeout=timeout),
        )

    async def create_payment(self, request: ChargeRequest) -> IntentResult:
        params: dict[str, Any] = {
            "amount": request.amount_cents,
            "currency": request.currency.lower(),
            "metadata": request.metadata,
        }
        if request.payment_method:
            params.update(payment_method=request.payment_method, confirm=True)
            if request.off_session:
                params["off_session"] = True
        intent = await self._call(
            self._client.v1.payment_intents.create,
            params=params, options={"idempotency_key": request.idempotency_key},
        )
        return IntentResult(
            provider_payment_id=intent.id,
            client_secret=intent.client_secret,
            status=INTENT_STATUS.get(intent.status, "pending"),
        )

    async def cancel_payment(self, provider_payment_id: str) -> None:
        intent = await self._call(self._client.v1.payment_intents.retrieve, provider_payment_id)
        if intent.status in ("requires_payment_method", "requires_confirmation", "requires_action",
                             "requires_capture"):
            await self._call(self._client.v1.payment_intents.cancel, provider_payment_id)

    async def refund(
        self, provider_payment_id: str | None, *, amount_cents: int, idempotency_key: str,
        metadata: dict[str, str],
    ) -> RefundResult:
        if provider_payment_id is None:
            raise ValueError("a Stripe refund needs the PaymentIntent id")
        refund = await self._call(
            self._client.v1.refunds.create,
            params={"payment_intent": provider_payment_id, "amount": amount_cents, "metadata": metadata},
            options={"idempotency_key": idempotency_key},
        )
        status = {"succeeded": "succeeded", "failed": "failed", "canceled": "failed"}.get(
            refund.status or "", "pending"
        )
        return RefundResult(provider_refund_id=refund.id, status=status)

    async def retrieve_charge(self, charge_id: str) -> Any:
        return await self._call(self._client.v1.charges.retrieve, charge_id)

    async def _call(self, method: Any, *args: Any, **kwargs: Any) -> Any:
        try:
            return await asyncio.to_thread(method, *args, **kwargs)
        except stripe.CardError as error:
            raise PaymentDeclined(
                error.user_message or "The card was declined.", getattr(error, "code", None)
            ) from error
        except TRANSIENT_ERRORS as error:
            raise PaymentUnavailable(f"Stripe is unavailable: {error}") from error
        except stripe.InvalidRequestError as error:
            raise PaymentRefused(error.user_message or str(error)) from error


def verify_webhook(payload: bytes, signature: str, secret: str) -> stripe.Event:
    """The event, if the signature is Stripe's (or localstripe's) with our endpoint secret;
    raises stripe.SignatureVerificationError or ValueError otherwise."""
    return stripe.Webhook.construct_event(payload, signature, secret)
