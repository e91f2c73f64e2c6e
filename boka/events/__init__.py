"""Domain events: the outbox, its relay, in-process consumers and the live subscriptions' hub."""
