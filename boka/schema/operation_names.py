"""Operation names as metrics labels: bounded, since clients choose the names."""

from __future__ import annotations

import re

_OPERATION_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,63}$")
MAX_DISTINCT_OPERATIONS = 500
_seen_operations: set[str] = set()


def operation_label(name: str | None) -> str:
    """The metrics label for an operation name; bounded, since clients choose the names."""
    if not name or not _OPERATION_NAME.match(name):
        return "anonymous"
    if name in _seen_operations:
        return name
    if len(_seen_operations) >= MAX_DISTINCT_OPERATIONS:
        return "other"
    _seen_operations.add(name)
    return name
