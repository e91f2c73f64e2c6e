"""Input checks, one per kind of value, used by every domain service that takes input (issue 12
item 7): text, whole numbers, money, instants, wall-clock times, time zones, currencies, phone
numbers. Each failure is an ``INVALID_INPUT`` user error naming the input field, raised before
anything is written, so a bad value gets the same answer on PostgreSQL and SQLite.

Text that contains NUL or a lone surrogate never gets here: the GraphQL layer refuses it for
every string argument (boka/schema/input_guard.py), since neither dialect can store it faithfully.
"""

from __future__ import annotations

import functools
import zoneinfo
from datetime import UTC, date, datetime, time

import phonenumbers
import pycountry

from boka.errors import UserErrorCode, UserInputError

# Money travels as GraphQL Int (32-bit) and is stored in INTEGER columns: every amount Boka
# computes, a booking's seats times its seat price included, stays within this.
MAX_AMOUNT = 2_147_483_647
# A seat price leaves room for the largest class (500 seats) within MAX_AMOUNT.
MAX_PRICE = 4_000_000
# Instants a booking system has any business with; outside, date arithmetic would overflow.
MIN_YEAR, MAX_YEAR = 1970, 2200
MAX_TIME_ZONE_LENGTH = 64  # the longest IANA name is 32 characters
MAX_PHONE_LENGTH = 32  # the column's width; E.164 needs at most 16


def invalid(message: str, field: str | None) -> UserInputError:
    return UserInputError(UserErrorCode.INVALID_INPUT, message, field)


def has_unstorable_characters(text: str) -> bool:
    """NUL (PostgreSQL refuses it in text) or a lone surrogate (not UTF-8 at all)."""
    if "\x00" in text:
        return True
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return True
    return False


def clean_text(value: str, field: str, *, max_length: int, min_length: int = 1) -> str:
    """``value`` stripped, checked for characters no database stores and for its length
    (``max_length`` is the column's width)."""
    if has_unstorable_characters(value):
        raise invalid("Remove the NUL or invalid Unicode characters.", field)
    text = value.strip()
    if len(text) < min_length:
        raise invalid("This field cannot be empty.", field)
    if len(text) > max_length:
        raise invalid(f"Use at most {max_length} characters.", field)
    return text


def check_range(value: int, field: str, low: int, high: int | None) -> int:
    if value < low or (high is not None and value > high):
        wanted = f"from {low} to {high}" if high is not None else f"of at least {low}"
        raise invalid(f"Use a whole number {wanted}.", field)
    return value


def check_price(value: int, field: str) -> int:
    """A price in minor units: not negative, and small enough that any booking's total fits."""
    return check_range(value, field, 0, MAX_PRICE)


def check_amount(value: int, field: str) -> int:
    """A computed amount (a total, a refund) that must fit the API's and the columns' integers."""
    if not 0 <= value <= MAX_AMOUNT:
        raise invalid("The amount is too large.", field)
    return value


def check_currency(value: str, field: str) -> str:
    """An ISO 4217 currency code that exists (EUR, SEK, JPY; not ZZZ)."""
    well_formed = len(value) == 3 and value.isascii() and value.isupper()
    if not well_formed or pycountry.currencies.get(alpha_3=value) is None:
        raise invalid("Use an ISO 4217 currency code, such as EUR.", field)
    return value


@functools.cache
def _known_time_zones() -> frozenset[str]:
    return frozenset(zoneinfo.available_timezones())


def check_time_zone(value: str, field: str) -> str:
    """An IANA time zone name this machine knows (never a path, never 10,000 characters)."""
    if len(value) > MAX_TIME_ZONE_LENGTH or value not in _known_time_zones():
        raise invalid("Use an IANA time zone name, such as Europe/Stockholm.", field)
    return value


PHONE_FORM = "Give the number in international form, such as +46701234567."


def check_phone(value: str, field: str) -> str:
    """A phone number in E.164 (+46701234567), returned in that form."""
    if len(value) > MAX_PHONE_LENGTH or has_unstorable_characters(value):
        raise invalid(PHONE_FORM, field)
    try:
        number = phonenumbers.parse(value, None)
    except phonenumbers.NumberParseException as exc:
        raise invalid(PHONE_FORM, field) from exc
    if not phonenumbers.is_valid_number(number):
        raise invalid("This is not a valid phone number.", field)
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def check_wall_clock(value: time, field: str) -> time:
    """Schedules and pricing windows are local wall-clock times, without an offset."""
    if value.tzinfo is not None:
        raise invalid("Give a local time without a UTC offset.", field)
    return value


def check_instant(value: datetime, field: str) -> datetime:
    """An absolute moment, which must carry its UTC offset and lie in years 1970-2200;
    returned in UTC, as stored."""
    if value.tzinfo is None or value.utcoffset() is None:
        raise invalid("Include a UTC offset, such as 2030-01-31T09:00:00+01:00.", field)
    # The local year first: converting year 9999 at -12:00 to UTC would itself overflow.
    years = range(MIN_YEAR, MAX_YEAR + 1)
    if value.year not in years or value.astimezone(UTC).year not in years:
        raise invalid(f"Give a time between the years {MIN_YEAR} and {MAX_YEAR}.", field)
    return value.astimezone(UTC)


def check_day(value: date, field: str) -> date:
    """A calendar date in years 1970-2200 (a day after 9999-12-31 does not exist)."""
    if not MIN_YEAR <= value.year <= MAX_YEAR:
        raise invalid(f"Give a date between the years {MIN_YEAR} and {MAX_YEAR}.", field)
    return value
