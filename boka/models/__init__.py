"""SQLModel tables, one module per domain. Importing this package registers every table."""

from sqlmodel import SQLModel

# Deterministic constraint names, so Alembic migrations match on both dialects.
SQLModel.metadata.naming_convention = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

from boka.models.bookings import (  # noqa: E402
    Booking,
    BookingHistory,
    BookingResource,
    BookingStatus,
    ClassSeats,
    Customer,
)
from boka.models.catalog import Resource, Service, ServiceResource, StaffMember, StaffService  # noqa: E402
from boka.models.events import Event, EventStream  # noqa: E402
from boka.models.external_calendars import ExternalBusyBlock, ExternalCalendarFeed  # noqa: E402
from boka.models.idempotency import IdempotencyKey  # noqa: E402
from boka.models.identity import User, UserSession  # noqa: E402
from boka.models.notifications import (  # noqa: E402
    NotificationLog,
    NotificationTemplate,
    StaffCalendarFeed,
)
from boka.models.holds import HoldPurpose, HoldStatus, SlotHold  # noqa: E402
from boka.models.onboarding import AccountToken, Invitation  # noqa: E402
from boka.models.payments import (  # noqa: E402
    Payment,
    PaymentEvent,
    Refund,
    ServicePaymentPolicy,
)
from boka.models.pricing import DiscountCode, DiscountRedemption, PricingRule  # noqa: E402
from boka.models.series import BookingSeries, SeriesFrequency  # noqa: E402
from boka.models.sessions import ClassSession, ClassSessionStatus  # noqa: E402
from boka.models.schedules import ScheduleOverride, TimeOff, WeeklyHours  # noqa: E402
from boka.models.security import (  # noqa: E402
    AccountLockout,
    ApiKey,
    ApiKeyUsage,
    AuthenticationLog,
    MfaBackupCode,
    MfaChallenge,
    MultiFactorAuth,
    SecuritySettings,
)
from boka.models.tenancy import ParkedJob, Role, Tenant, TenantUser  # noqa: E402
from boka.models.waitlist import OfferStatus, WaitlistEntry, WaitlistOffer, WaitlistStatus  # noqa: E402
from boka.models.webhooks import WebhookAttempt, WebhookDelivery, WebhookEndpoint  # noqa: E402

metadata = SQLModel.metadata

__all__ = [
    "ParkedJob",
    "AccountToken", "Invitation",
    "AccountLockout", "ApiKey", "ApiKeyUsage", "AuthenticationLog", "MfaBackupCode",
    "MfaChallenge", "MultiFactorAuth", "SecuritySettings",
    "Booking", "BookingHistory", "BookingSeries", "SeriesFrequency", "BookingResource", "BookingStatus", "ClassSeats", "ClassSession",
    "ClassSessionStatus", "Customer",
    "DiscountCode", "DiscountRedemption", "Event", "EventStream", "ExternalBusyBlock",
    "ExternalCalendarFeed", "IdempotencyKey", "NotificationLog",
    "NotificationTemplate", "Payment", "PaymentEvent", "PricingRule", "Refund", "Resource", "Role",
    "ScheduleOverride", "Service", "ServicePaymentPolicy", "ServiceResource", "StaffCalendarFeed",
    "StaffMember", "StaffService", "Tenant", "TenantUser", "TimeOff", "User", "UserSession",
    "HoldPurpose", "HoldStatus", "SlotHold",
    "OfferStatus", "WaitlistEntry", "WaitlistOffer", "WaitlistStatus",
    "WebhookAttempt", "WebhookDelivery", "WebhookEndpoint", "WeeklyHours", "metadata",
]
