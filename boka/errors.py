"""Errors the domain raises, with the codes clients see.

Two kinds, following DESIGN.md:
- ``UserInputError``: an expected failure of a mutation (bad input, wrong password, slot taken).
  Resolvers turn it into ``errors: [UserError!]!`` on the payload; nothing is written.
- ``BokaError`` subclasses: access and lookup failures, which travel as GraphQL errors whose
  ``extensions.code`` is the ``ErrorCode`` value.
"""

from __future__ import annotations

import enum


class ErrorCode(str, enum.Enum):
    """``extensions.code`` of a GraphQL error."""

    UNAUTHENTICATED = "UNAUTHENTICATED"
    FORBIDDEN = "FORBIDDEN"
    NOT_FOUND = "NOT_FOUND"
    RATE_LIMITED = "RATE_LIMITED"
    VALIDATION_ERROR = "VALIDATION_ERROR"
    SLOW_CONSUMER = "SLOW_CONSUMER"
    INTERNAL = "INTERNAL"
    # Busy right now (no database connection free in time): nothing was done, retry later.
    SERVICE_UNAVAILABLE = "SERVICE_UNAVAILABLE"
    PERSISTED_QUERY_NOT_FOUND = "PERSISTED_QUERY_NOT_FOUND"
    PERSISTED_QUERY_NOT_ALLOWED = "PERSISTED_QUERY_NOT_ALLOWED"
    IDEMPOTENCY_KEY_REUSED = "IDEMPOTENCY_KEY_REUSED"
    IDEMPOTENCY_IN_PROGRESS = "IDEMPOTENCY_IN_PROGRESS"
    # The tenant was suspended by the platform's operators: nothing is served for it.
    TENANT_SUSPENDED = "TENANT_SUSPENDED"


class UserErrorCode(str, enum.Enum):
    """``code`` of a ``UserError`` in a mutation payload."""

    INVALID_INPUT = "INVALID_INPUT"
    INVALID_EMAIL = "INVALID_EMAIL"
    WEAK_PASSWORD = "WEAK_PASSWORD"
    EMAIL_TAKEN = "EMAIL_TAKEN"
    INVALID_CREDENTIALS = "INVALID_CREDENTIALS"
    ALREADY_MEMBER = "ALREADY_MEMBER"
    SLUG_TAKEN = "SLUG_TAKEN"
    SLOT_UNAVAILABLE = "SLOT_UNAVAILABLE"
    INVALID_TRANSITION = "INVALID_TRANSITION"
    DISCOUNT_INVALID = "DISCOUNT_INVALID"
    DISCOUNT_EXHAUSTED = "DISCOUNT_EXHAUSTED"
    DISCOUNT_ALREADY_USED = "DISCOUNT_ALREADY_USED"
    DUPLICATE = "DUPLICATE"
    MFA_REQUIRED = "MFA_REQUIRED"
    MFA_INVALID_CODE = "MFA_INVALID_CODE"
    MFA_BLOCKED = "MFA_BLOCKED"
    MFA_NOT_ENROLLED = "MFA_NOT_ENROLLED"
    MFA_ALREADY_ENABLED = "MFA_ALREADY_ENABLED"
    MFA_CHALLENGE_EXPIRED = "MFA_CHALLENGE_EXPIRED"
    PAYMENT_DECLINED = "PAYMENT_DECLINED"
    PAYMENT_UNAVAILABLE = "PAYMENT_UNAVAILABLE"
    # Booking policies (boka/booking/policies.py)
    RESCHEDULE_NOT_ALLOWED = "RESCHEDULE_NOT_ALLOWED"  # inside the window, the service refuses
    CUSTOMER_OVERLAP = "CUSTOMER_OVERLAP"  # the customer already has an appointment then
    NO_AVAILABILITY = "NO_AVAILABILITY"  # a quote for a time nobody can take
    # time off over class sessions the staff member teaches (boka/booking/schedules.py)
    CLASS_SESSIONS_SCHEDULED = "CLASS_SESSIONS_SCHEDULED"
    INVALID_TOKEN = "INVALID_TOKEN"  # a single-use link that is unknown, used, revoked or expired
    CURRENCY_IN_USE = "CURRENCY_IN_USE"
    LAST_OWNER = "LAST_OWNER"
    FUTURE_BOOKINGS = "FUTURE_BOOKINGS"  # removing staff who still have bookings: choose what becomes of them
    TEAM_MEMBER = "TEAM_MEMBER"  # deleting an account that still works for a business
    SERIES_TOO_LONG = "SERIES_TOO_LONG"  # a booking series beyond its cap of occurrences
    # Slot holds (boka/booking/holds.py)
    HOLD_EXPIRED = "HOLD_EXPIRED"  # booking a hold that ran out
    HOLD_LIMIT = "HOLD_LIMIT"  # the holder already has as many open holds as allowed


class BokaError(Exception):
    code: ErrorCode = ErrorCode.INTERNAL

    def __init__(self, message: str, **extensions: object) -> None:
        super().__init__(message)
        self.message = message
        self.extensions = extensions  # extra extensions the client gets, e.g. retry_after


class Unauthenticated(BokaError):
    code = ErrorCode.UNAUTHENTICATED


class Forbidden(BokaError):
    code = ErrorCode.FORBIDDEN


class NotFound(BokaError):
    code = ErrorCode.NOT_FOUND


class InvalidRequest(BokaError):
    code = ErrorCode.VALIDATION_ERROR


class TenantSuspended(BokaError):
    """The request's tenant is suspended (boka/business/platform.py)."""

    code = ErrorCode.TENANT_SUSPENDED


class RateLimited(BokaError):
    code = ErrorCode.RATE_LIMITED


class SlowConsumerDropped(BokaError):
    """A live subscriber fell too far behind and its subscription was ended."""

    code = ErrorCode.SLOW_CONSUMER


class UserInputError(Exception):
    """An expected failure, reported in the payload's ``errors`` list."""

    def __init__(
        self, code: UserErrorCode, message: str, field: str | None = None,
        reasons: tuple[str, ...] = (),
    ) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.field = field
        # SLOT_UNAVAILABLE: why the time is not bookable (boka.booking.refusals.RefusalReason)
        self.reasons = reasons


class UserInputErrors(UserInputError):
    """Several fields at fault at once (a form checked whole): each becomes its own UserError."""

    def __init__(self, errors: list[UserInputError]) -> None:
        first = errors[0]
        super().__init__(first.code, first.message, first.field)
        self.errors = errors


def raise_collected(errors: list[UserInputError]) -> None:
    """Raise what a whole-form check collected: nothing, one error, or all of them."""
    if len(errors) == 1:
        raise errors[0]
    if errors:
        raise UserInputErrors(errors)


class PersistedQueryNotFound(BokaError):
    """APQ: the hash is unknown here; the client sends the query text with it (Apollo's
    clients look for this exact message)."""

    code = ErrorCode.PERSISTED_QUERY_NOT_FOUND

    def __init__(self) -> None:
        super().__init__("PersistedQueryNotFound")


class PersistedQueryNotAllowed(BokaError):
    code = ErrorCode.PERSISTED_QUERY_NOT_ALLOWED


class IdempotencyKeyReused(BokaError):
    """An Idempotency-Key sent again with another operation or other variables."""

    code = ErrorCode.IDEMPOTENCY_KEY_REUSED


class IdempotencyInProgress(BokaError):
    """An Idempotency-Key whose first request is still running."""

    code = ErrorCode.IDEMPOTENCY_IN_PROGRESS
