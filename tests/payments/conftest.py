"""Payment tests run the real ``stripe`` library against localstripe (a stateful fake Stripe
server from PyPI), started here on a free port. Its webhooks are real HTTP POSTs, signed with
the endpoint secret, to an app served by a real uvicorn process."""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import stripe

from boka.config import Settings
from tests.conftest import settings_for
from tests.servers import free_port

STRIPE_KEY = "sk_test_boka_payments"
WEBHOOK_SECRET = "whsec_boka_test_secret"


@pytest.fixture(scope="session")
def localstripe(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    port = free_port()
    log_path: Path = tmp_path_factory.mktemp("localstripe") / "localstripe.log"
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "localstripe", "--port", str(port), "--from-scratch"],
            stdout=log, stderr=subprocess.STDOUT,
        )
        base = f"http://127.0.0.1:{port}"
        try:
            deadline = time.monotonic() + 30
            while True:
                if process.poll() is not None:
                    raise AssertionError(f"localstripe exited: {log_path.read_text()[-2000:]}")
                try:
                    httpx.get(f"{base}/v1/charges", timeout=1)
                    break
                except httpx.TransportError:
                    if time.monotonic() > deadline:
                        raise AssertionError("localstripe did not start") from None
                    time.sleep(0.1)
            yield base
        finally:
            process.terminate()
            process.wait(timeout=10)


@pytest.fixture
def stripe_client(localstripe: str) -> stripe.StripeClient:
    """The customer's side (what Stripe.js would do) and the test's view of Stripe."""
    return stripe.StripeClient(
        STRIPE_KEY, base_addresses={"api": localstripe}, http_client=stripe.RequestsClient(timeout=10)
    )


def stripe_settings(localstripe: str, **overrides: str) -> dict[str, str]:
    return {
        "stripe_secret_key": STRIPE_KEY,
        "stripe_api_base": localstripe,
        "stripe_webhook_secret": WEBHOOK_SECRET,
        **overrides,
    }


@pytest.fixture
def settings(postgres_url: str, localstripe: str) -> Settings:
    return settings_for(postgres_url, **stripe_settings(localstripe))


def register_webhook(localstripe: str, url: str) -> None:
    """Have localstripe POST its events to ``url`` (replacing any earlier registration)."""
    response = httpx.post(
        f"{localstripe}/_config/webhooks/boka",
        data={"url": url, "secret": WEBHOOK_SECRET},
        headers={"Authorization": f"Bearer {STRIPE_KEY}"},
    )
    response.raise_for_status()


def pay_with_card(client: stripe.StripeClient, payment_intent_id: str, number: str = "4242424242424242") -> None:
    """What the customer's browser does with the client secret: attach a card and confirm."""
    method = client.v1.payment_methods.create(params={
        "type": "card", "card": {"number": number, "exp_month": 12, "exp_year": 2031, "cvc": "123"},
    })
    client.v1.payment_intents.update(payment_intent_id, params={"payment_method": method.id})
    client.v1.payment_intents.confirm(payment_intent_id)


def card(client: stripe.StripeClient, number: str) -> str:
    return client.v1.payment_methods.create(params={
        "type": "card", "card": {"number": number, "exp_month": 12, "exp_year": 2031, "cvc": "123"},
    }).id
