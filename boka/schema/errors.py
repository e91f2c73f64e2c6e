"""The error shapes clients see: ``UserError`` in payloads, and GraphQL errors' extensions."""

from __future__ import annotations

from datetime import UTC, datetime

import strawberry
import structlog
from graphql import GraphQLError
from strawberry.relay.types import GlobalIDValueError, InvalidGlobalIDError

from boka.errors import BokaError, ErrorCode, UserErrorCode, UserInputError
from boka.observability.logging import get_logger

log = get_logger("boka.graphql")

UserErrorCodeEnum = strawberry.enum(UserErrorCode, name="UserErrorCode")
INTERNAL_MESSAGE = "Something went wrong on our side. Quote the request id if you contact support."


@strawberry.type(description="An expected failure of a mutation; nothing was written.")
class UserError:
    field: str | None = strawberry.field(description="The input field at fault, if one is.")
    code: UserErrorCodeEnum  # type: ignore[valid-type]
    message: str

    @classmethod
    def from_exception(cls, error: UserInputError) -> UserError:
        return cls(field=error.field, code=error.code, message=error.message)


# A client's malformed id (not base64, not "Type:id", padding stripped, a raw UUID) fails in
# Strawberry's argument conversion, inside the resolver: the client's mistake, not ours.
_CLIENT_INPUT_ERRORS = (InvalidGlobalIDError, GlobalIDValueError)


def error_code(error: GraphQLError) -> ErrorCode:
    """The code a client sees for ``error``."""
    original = error.original_error
    if isinstance(original, BokaError):
        return original.code
    if isinstance(original, _CLIENT_INPUT_ERRORS):
        return ErrorCode.VALIDATION_ERROR
    if original is None or error.path is None:
        # Parse, validation and variable-coercion errors: the document or its variables are
        # wrong, and nothing was executed.
        return ErrorCode.VALIDATION_ERROR
    return ErrorCode.INTERNAL


def shape_error(error: GraphQLError) -> None:
    """Give ``error`` the client-facing shape, in place.

    Every error leaves with ``extensions.code``, ``request_id`` and ``timestamp``. Internal
    errors are logged here with their traceback and their message replaced by one that reveals
    nothing (no exception text, no SQL); the request id ties the two together.
    """
    code = error_code(error)
    if code is ErrorCode.INTERNAL:
        log.error("internal error", path=error.path, exc_info=error.original_error)
        error.message = INTERNAL_MESSAGE
    original = error.original_error
    error.extensions = {
        **(original.extensions if isinstance(original, BokaError) else {}),
        "code": code.value,
        "request_id": structlog.contextvars.get_contextvars().get("request_id"),
        "timestamp": datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z"),
    }
