"""Property tests of a series' starts (boka/booking/recurrence.py): in zones with daylight-saving
changes both ways (and a half-hour one), every occurrence keeps the first one's local wall time
(unless that time does not exist on its date: then it moves forward by the gap, never more than
an hour), the dates follow the rule, and more than 52 occurrences is SERIES_TOO_LONG."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from boka.booking.recurrence import MAX_OCCURRENCES, Recurrence, occurrence_starts, week_of_month_of
from boka.errors import UserErrorCode, UserInputError
from boka.models.series import SeriesFrequency

ZONES = (
    "Europe/Berlin", "America/New_York", "Australia/Sydney", "Europe/London",
    "America/Santiago", "Australia/Lord_Howe", "Asia/Kolkata",
)


def exists(wall: datetime, zone: ZoneInfo) -> bool:
    """Whether the naive wall time happens in the zone (not inside a spring-forward gap)."""
    return wall.replace(tzinfo=zone).astimezone(UTC).astimezone(zone).replace(tzinfo=None) == wall


rules = st.builds(
    Recurrence,
    frequency=st.sampled_from(list(SeriesFrequency)),
    interval=st.integers(1, 4),
    count=st.integers(1, MAX_OCCURRENCES),
)


@settings(max_examples=300, deadline=None)
@given(
    zone_name=st.sampled_from(ZONES),
    day=st.dates(date(2026, 1, 1), date(2032, 12, 31)),
    clock=st.builds(time, st.integers(0, 23), st.sampled_from([0, 15, 30, 45])),
    rule=rules,
)
def test_occurrences_keep_their_local_wall_time(
    zone_name: str, day: date, clock: time, rule: Recurrence,
) -> None:
    zone = ZoneInfo(zone_name)
    wall = datetime.combine(day, clock)
    if not exists(wall, zone):  # the first start is an instant the client sent: a real one
        wall += timedelta(hours=1)
    first = wall.replace(tzinfo=zone)
    starts = occurrence_starts(first, zone, rule)

    assert len(starts) == rule.count
    assert all(start.tzinfo is UTC for start in starts)
    assert starts == sorted(starts) and len(set(starts)) == len(starts)
    for start in starts:
        local = start.astimezone(zone).replace(tzinfo=None)
        intended = datetime.combine(local.date(), wall.time())
        if exists(intended, zone):
            assert local == intended, (zone_name, start)
        else:  # inside the spring-forward gap: later by the gap, on the same date
            assert timedelta(0) < local - intended <= timedelta(hours=1), (zone_name, start)
    dates = [start.astimezone(zone).date() for start in starts]
    if rule.frequency is SeriesFrequency.DAILY:
        assert all((b - a).days == rule.interval for a, b in zip(dates, dates[1:]))
    elif rule.frequency is SeriesFrequency.WEEKLY:
        assert all((b - a).days == 7 * rule.interval for a, b in zip(dates, dates[1:]))
    else:
        week = week_of_month_of(wall.date())
        for each in dates:
            assert each.weekday() == wall.weekday()
            if week == -1:
                assert (each + timedelta(days=7)).month != each.month
            else:
                assert week_of_month_of(each) == week
        months = [d.year * 12 + d.month for d in dates]
        assert all(b - a == rule.interval for a, b in zip(months, months[1:]))
    assert dates[0] == wall.date() or rule.frequency is SeriesFrequency.MONTHLY_BY_WEEKDAY


@pytest.mark.parametrize(("zone_name", "first", "expected_utc_hours"), [
    # 09:00 weekly across spring forward (Berlin, last Sunday of March 2027 is the 28th)
    ("Europe/Berlin", datetime(2027, 3, 22, 9), [8, 7, 7]),
    # ... and across fall back in New York (first Sunday of November 2027 is the 7th)
    ("America/New_York", datetime(2027, 11, 1, 9), [13, 14, 14]),
    # Sydney changes the other way round: summer time ends on the first Sunday of April
    ("Australia/Sydney", datetime(2027, 3, 29, 9), [22, 23, 23]),
])
def test_nine_oclock_stays_nine(zone_name: str, first: datetime, expected_utc_hours: list[int]) -> None:
    zone = ZoneInfo(zone_name)
    starts = occurrence_starts(first.replace(tzinfo=zone), zone, Recurrence(SeriesFrequency.WEEKLY, count=3))
    assert [s.astimezone(zone).time() for s in starts] == [time(9)] * 3
    assert [s.hour for s in starts] == expected_utc_hours


def test_the_second_tuesday_and_the_last_friday() -> None:
    zone = ZoneInfo("Europe/Berlin")
    tuesday = datetime(2027, 1, 12, 18, tzinfo=zone)  # the second Tuesday of January 2027
    starts = occurrence_starts(tuesday, zone, Recurrence(SeriesFrequency.MONTHLY_BY_WEEKDAY, count=4))
    assert [s.astimezone(zone).date() for s in starts] == [
        date(2027, 1, 12), date(2027, 2, 9), date(2027, 3, 9), date(2027, 4, 13)]
    friday = datetime(2027, 1, 29, 18, tzinfo=zone)  # the last (fifth) Friday of January 2027
    starts = occurrence_starts(friday, zone, Recurrence(SeriesFrequency.MONTHLY_BY_WEEKDAY, count=3))
    assert [s.astimezone(zone).date() for s in starts] == [
        date(2027, 1, 29), date(2027, 2, 26), date(2027, 3, 26)]


def test_an_end_date_and_the_cap() -> None:
    zone = ZoneInfo("Europe/Berlin")
    first = datetime(2027, 1, 4, 9, tzinfo=zone)
    until = occurrence_starts(first, zone, Recurrence(SeriesFrequency.WEEKLY, until=date(2027, 1, 25)))
    assert [s.astimezone(zone).date() for s in until] == [
        date(2027, 1, 4), date(2027, 1, 11), date(2027, 1, 18), date(2027, 1, 25)]
    a_year = Recurrence(SeriesFrequency.WEEKLY, until=date(2027, 12, 27))  # the 52nd Monday
    assert len(occurrence_starts(first, zone, a_year)) == 52
    for too_long, field in (
        (Recurrence(SeriesFrequency.WEEKLY, until=date(2028, 1, 3)), "recurrence.until"),
        (Recurrence(SeriesFrequency.DAILY, count=53), "recurrence.count"),
    ):
        with pytest.raises(UserInputError) as refused:
            occurrence_starts(first, zone, too_long)
        assert (refused.value.code, refused.value.field) == (UserErrorCode.SERIES_TOO_LONG, field)
    with pytest.raises(UserInputError) as malformed:
        occurrence_starts(first, zone, Recurrence(SeriesFrequency.WEEKLY, count=2, until=date(2027, 2, 1)))
    assert malformed.value.code == UserErrorCode.INVALID_INPUT


def test_a_series_ends_before_2200() -> None:
    zone = ZoneInfo("Europe/Berlin")
    late = datetime(2195, 1, 4, 9, tzinfo=zone)
    with pytest.raises(UserInputError) as refused:
        occurrence_starts(late, zone, Recurrence(SeriesFrequency.MONTHLY_BY_WEEKDAY, interval=12, count=10))
    assert (refused.value.code, refused.value.field) == (UserErrorCode.INVALID_INPUT, "recurrence.interval")
