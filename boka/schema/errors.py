"""The error shapes clients see: ``UserError`` in payloads, and GraphQL errors' extensions."""

from __future__ import annotations

from datetime import UTC, datetime

import strawberry
import structlog
from graphql import GraphQLError
from strawberry.extensions import MaskErrors

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


def error_code(error: GraphQLError) -> ErrorCode:
    """The code a client sees for ``error``."""
    original = error.original_error
    if isinstance(original, BokaError):
        return original.code
    if original is None or error.path is None:
        # Parse, validation and variable-coercion errors: the document or its variables are
        # wrong, and nothing was executed.
        return ErrorCode.VALIDATION_ERROR
    return ErrorCode.INTERNAL


class ErrorShape(MaskErrors):
    """Every error leaves with ``extensions.code``, ``request_id`` and ``timestamp``.

    Internal errors are logged with their traceback and replaced by a message that reveals
    nothing (no exception text, no SQL); the request id ties the two together.
    """

    def __init__(self) -> None:
        super().__init__(should_mask_error=lambda error: True)

    def anonymise_error(self, error: GraphQLError) -> GraphQLError:
        code = error_code(error)
        if code is ErrorCode.INTERNAL:
            log.error("internal error", path=error.path, exc_info=error.original_error)
            message = INTERNAL_MESSAGE
        else:
            message = error.message
        request_id = structlog.contextvars.get_contextvars().get("request_id")
        return GraphQLError(
            message=message,
            nodes=error.nodes,
            source=error.source,
            positions=error.positions,
            path=error.path,
            original_error=None,
            extensions={
                "code": code.value,
                "request_id": request_id,
                "timestamp": datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z"),
            },
        )
