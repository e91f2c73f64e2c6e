"""The error shapes clients see: ``UserError`` in payloads, and GraphQL errors' extensions."""

from __future__ import annotations

from datetime import UTC, datetime

import asyncpg
import strawberry
import structlog
from graphql import GraphQLError
from sqlalchemy.exc import DBAPIError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from strawberry.relay.types import GlobalIDValueError, InvalidGlobalIDError

from boka.booking.refusals import RefusalReason
from boka.errors import BokaError, ErrorCode, UserErrorCode, UserInputError
from boka.observability.logging import get_logger

log = get_logger("boka.graphql")

UserErrorCodeEnum = strawberry.enum(UserErrorCode, name="UserErrorCode")
SlotRefusalReasonEnum = strawberry.enum(
    RefusalReason, name="SlotRefusalReason",
    description="Why a time is not bookable with a staff member (see `explainSlot`). "
    "LIMIT_REACHED and EXTERNAL_BUSY are reserved: Boka has no booking limits or external "
    "calendars yet, so they are never given.",
)
INTERNAL_MESSAGE = "Something went wrong on our side. Quote the request id if you contact support."


@strawberry.type(description="An expected failure of a mutation; nothing was written.")
class UserError:
    field: str | None = strawberry.field(description="The input field at fault, if one is.")
    code: UserErrorCodeEnum  # type: ignore[valid-type]
    message: str
    reasons: list[SlotRefusalReasonEnum] = strawberry.field(  # type: ignore[valid-type]
        default_factory=list,
        description="For SLOT_UNAVAILABLE: every reason the time is not bookable (with the staff "
        "member asked for, or with any who performs the service); `explainSlot` gives them per "
        "staff member. Empty for other codes.",
    )

    @classmethod
    def from_exception(cls, error: UserInputError) -> UserError:
        return cls(
            field=error.field, code=error.code, message=error.message,
            reasons=[RefusalReason(reason) for reason in getattr(error, "reasons", ())],
        )

    @classmethod
    def all_from(cls, error: UserInputError) -> list[UserError]:
        """One UserError per field at fault (several when the domain checked a whole form)."""
        return [cls.from_exception(each) for each in getattr(error, "errors", None) or [error]]


# A client's malformed id (not base64, not "Type:id", padding stripped, a raw UUID) fails in
# Strawberry's argument conversion, inside the resolver: the client's mistake, not ours. So is
# a UserInputError that no payload took in (a query's argument, such as an id of the wrong
# type): it names the argument at fault in ``extensions.field``.
_CLIENT_INPUT_ERRORS = (InvalidGlobalIDError, GlobalIDValueError, UserInputError)


# The pool had no connection free in time: the work was not started (or, for a read after a
# committed write, only that read failed). A typed, retryable answer, never INTERNAL.
_BUSY_ERRORS = (PoolTimeout,)
BUSY_RETRY_AFTER_SECONDS = 1
# The database could not be reached, or dropped the connection (a restart, a failover): the
# transaction did not commit (or, if the connection went during COMMIT, nobody can say: the
# Idempotency-Key header makes the retry safe). Typed and retryable too.
_UNREACHABLE = (
    asyncpg.PostgresConnectionError, asyncpg.CannotConnectNowError, asyncpg.AdminShutdownError,
    asyncpg.ConnectionDoesNotExistError, ConnectionError,
)


def _database_unreachable(error: BaseException | None) -> bool:
    if isinstance(error, DBAPIError) and error.connection_invalidated:
        return True
    while error is not None:  # the driver's error, under SQLAlchemy's wrapping
        if isinstance(error, _UNREACHABLE):
            return True
        error = error.__cause__
    return False


def error_code(error: GraphQLError) -> ErrorCode:
    """The code a client sees for ``error``."""
    original = error.original_error
    if isinstance(original, BokaError):
        return original.code
    if isinstance(original, (*_CLIENT_INPUT_ERRORS, UserInputError)):
        # UserInputError: a check of the input that a query resolver did not turn into an
        # InvalidRequest itself (mutations report them in their payload).
        return ErrorCode.VALIDATION_ERROR
    if isinstance(original, _BUSY_ERRORS) or _database_unreachable(original):
        return ErrorCode.SERVICE_UNAVAILABLE
    if original is None or error.path is None:
        # Parse, validation and variable-coercion errors: the document or its variables are
        # wrong, and nothing was executed.
        return ErrorCode.VALIDATION_ERROR
    return ErrorCode.INTERNAL


def _field_of(error: GraphQLError) -> dict[str, object]:
    """``{"field": …}``: the input at fault, when one is known."""
    original = error.original_error
    if isinstance(original, UserInputError) and original.field:
        return {"field": original.field}
    field = (error.extensions or {}).get("field")
    return {"field": field} if field else {}


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
    if code is ErrorCode.SERVICE_UNAVAILABLE:
        log.warning("database busy or unreachable", path=error.path, error=repr(error.original_error))
        error.message = "Too busy to answer right now. Try again shortly."
    error.extensions = {
        **_field_of(error),
        **(original.extensions if isinstance(original, BokaError) else {}),
        **({"field": original.field} if isinstance(original, UserInputError) and original.field else {}),
        **({"retry_after": BUSY_RETRY_AFTER_SECONDS} if code is ErrorCode.SERVICE_UNAVAILABLE else {}),
        "code": code.value,
        "request_id": structlog.contextvars.get_contextvars().get("request_id"),
        "timestamp": datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z"),
    }
