"""What a customer's browser needs to pay by card: whether this deployment takes card payments
online, Stripe's publishable key and the address of Stripe.js. All of it is public by design
(a publishable key only identifies the Stripe account to Stripe.js); the secret key never leaves
the server. Both keys are needed: the secret one creates the payment, the publishable one lets
the browser's Payment Element take the card."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol


@dataclass(frozen=True)
class CardCheckout:
    online: bool  # False: paid services are paid on site (or the page cannot take the card)
    publishable_key: str | None  # None unless online
    js_url: str | None  # None unless online


OFFLINE = CardCheckout(online=False, publishable_key=None, js_url=None)


def card_checkout(*, secret_key: str | None, publishable_key: str | None, js_url: str) -> CardCheckout:
    """Online only with both of Stripe's keys configured; nothing else is revealed otherwise."""
    if not (secret_key and publishable_key):
        return OFFLINE
    return CardCheckout(online=True, publishable_key=publishable_key, js_url=js_url)


class _StripeSettings(Protocol):
    stripe_secret_key: str | None
    stripe_publishable_key: str | None
    stripe_js_url: str


def card_checkout_for(settings: _StripeSettings | None) -> CardCheckout:
    """The deployment's card checkout, from its settings (BOKA_STRIPE_*)."""
    if settings is None:
        return OFFLINE
    return card_checkout(secret_key=settings.stripe_secret_key,
                         publishable_key=settings.stripe_publishable_key, js_url=settings.stripe_js_url)
