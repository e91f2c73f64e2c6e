"""Turning Relay global IDs from clients back into row ids."""

from __future__ import annotations

import uuid
from collections.abc import Iterable

from strawberry import relay

from boka.errors import UserErrorCode, UserInputError


def row_id(global_id: relay.GlobalID, type_name: str, field: str) -> uuid.UUID:
    """The UUID inside ``global_id`` if it names a ``type_name``; a user error on ``field``
    otherwise (an id of the wrong type, or not one of ours)."""
    try:
        if global_id.type_name != type_name:
            raise ValueError(global_id.type_name)
        return uuid.UUID(global_id.node_id)
    except ValueError as exc:
        raise UserInputError(
            UserErrorCode.INVALID_INPUT, f"Expected the id of a {type_name}.", field
        ) from exc


def optional_row_id(global_id: relay.GlobalID | None, type_name: str, field: str) -> uuid.UUID | None:
    return None if global_id is None else row_id(global_id, type_name, field)


def parse_node_ids(node_ids: Iterable[str]) -> list[uuid.UUID | None]:
    """The UUIDs inside ``node()`` lookups, in order; None for one that is not a UUID."""
    parsed: list[uuid.UUID | None] = []
    for node_id in node_ids:
        try:
            parsed.append(uuid.UUID(node_id))
        except ValueError:
            parsed.append(None)
    return parsed
