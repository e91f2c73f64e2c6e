"""``POST /webhooks/stripe``: Stripe's (or localstripe's) events, signature-checked, stored once
and handed to a job. Answers 2xx only once the event is safely stored and its job enqueued, so
Stripe redelivers anything we did not take."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from boka.jobs.payments import enqueue_event
from boka.models.types import utcnow
from boka.observability.logging import get_logger
from boka.payments.webhooks import InvalidWebhook, receive_stripe_event
from boka.runtime import Runtime

MAX_WEBHOOK_BYTES = 1_000_000
log = get_logger("boka.webhooks")


async def stripe_webhook(request: Request) -> Response:
    runtime: Runtime = request.app.state.runtime
    secret = runtime.settings.stripe_webhook_secret
    if not secret:
        return JSONResponse({"error": "Stripe webhooks are not configured."}, status_code=404)
    payload = await request.body()
    if len(payload) > MAX_WEBHOOK_BYTES:
        return JSONResponse({"error": "too large"}, status_code=413)
    try:
        stored = await receive_stripe_event(
            runtime.database, payload, request.headers.get("stripe-signature", ""), secret, now=utcnow()
        )
    except InvalidWebhook:
        log.warning("stripe webhook refused: bad signature")
        return JSONResponse({"error": "invalid signature"}, status_code=400)
    if stored.needs_processing:
        await enqueue_event(runtime, stored.id, stored.event_id)
    return JSONResponse({"received": True})
