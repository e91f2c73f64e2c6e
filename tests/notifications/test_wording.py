"""Dates and amounts in messages, in the reader's language, through Babel (CLDR data)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from boka.notifications.wording import local_date, local_time, money

# 23:30 UTC on Sunday 4 January is Monday 5 January in Berlin.
LATE_SUNDAY_UTC = datetime(2026, 1, 4, 23, 30, tzinfo=UTC)


def test_dates_in_english_and_german_on_the_readers_local_day() -> None:
    assert local_date(LATE_SUNDAY_UTC, "Europe/Berlin", "en") == "Mon 5 Jan 2026"
    assert local_date(LATE_SUNDAY_UTC, "Europe/Berlin", "de") == "Mo. 5.1.2026"
    assert local_date(LATE_SUNDAY_UTC, "America/New_York", "en") == "Sun 4 Jan 2026"
    assert local_time(LATE_SUNDAY_UTC, "Europe/Berlin") == "00:30"


@pytest.mark.parametrize(("month", "en", "de"), [
    (3, "Tue 3 Mar 2026", "Di. 3.3.2026"),
    (5, "Sun 3 May 2026", "So. 3.5.2026"),
    (12, "Thu 3 Dec 2026", "Do. 3.12.2026"),
])
def test_every_month_and_weekday_name_comes_from_the_locale(month: int, en: str, de: str) -> None:
    moment = datetime(2026, month, 3, 12, tzinfo=UTC)
    assert local_date(moment, "UTC", "en") == en
    assert local_date(moment, "UTC", "de") == de


def test_a_language_without_a_locale_reads_as_english() -> None:
    assert local_date(LATE_SUNDAY_UTC, "Europe/Berlin", "not-a-language") == "Mon 5 Jan 2026"
    assert money(5000, "EUR", "not-a-language") == "50.00 EUR"


def test_amounts_in_english_and_german() -> None:
    assert money(5000, "EUR", "en") == "50.00 EUR"
    assert money(2499, "eur", "de") == "24,99 EUR"
    assert money(123456, "EUR", "en") == "1,234.56 EUR"
    assert money(123456, "EUR", "de") == "1.234,56 EUR"


def test_three_decimal_currencies_print_three_decimals() -> None:
    # Minor units: 1 KWD is 1,000 fils, 1 BHD 1,000 fils.
    assert money(1500, "KWD", "en") == "1.500 KWD"
    assert money(1500, "KWD", "de") == "1,500 KWD"
    assert money(12345, "BHD", "en") == "12.345 BHD"
    assert money(1234567, "BHD", "de") == "1.234,567 BHD"


def test_zero_decimal_currencies_print_none() -> None:
    assert money(1500, "JPY", "en") == "1,500 JPY"
    assert money(1500, "JPY", "de") == "1.500 JPY"


def test_no_no_break_spaces_reach_an_sms() -> None:
    # CLDR separates the amount from the code with U+00A0; SMS (GSM 7-bit) has no such character.
    assert "\u00a0" not in money(123456, "EUR", "de")
    assert "\u202f" not in local_date(LATE_SUNDAY_UTC, "Europe/Paris", "fr")
