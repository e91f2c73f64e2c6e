"""Payments: what a service asks up front, the provider that collects it (Stripe, or on site),
the payment lifecycle of a booking, refunds, and the provider's webhooks."""
