"""GraphQL types, inputs, errors and the assembled schema (see root.py)."""
