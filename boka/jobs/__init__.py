"""RQ job functions. Each calls the same domain service a resolver would."""
