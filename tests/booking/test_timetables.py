"""Weekly timetables as instants: the local time holds across DST, both ways."""

from __future__ import annotations

from datetime import UTC, date, datetime, time
from zoneinfo import ZoneInfo

from boka.booking.timetables import WeeklyTimetable, timetable_starts

BERLIN = ZoneInfo("Europe/Berlin")


def _utc(timetable: WeeklyTimetable) -> list[str]:
    return [start.astimezone(UTC).strftime("%Y-%m-%d %H:%M") for start in timetable_starts(timetable, BERLIN)]


def test_sunday_classes_around_both_changes_keep_their_wall_clock() -> None:
    spring = WeeklyTimetable(frozenset({6}), time(9), date(2027, 3, 21), date(2027, 4, 4))
    autumn = WeeklyTimetable(frozenset({6}), time(9), date(2027, 10, 24), date(2027, 11, 7))
    assert _utc(spring) == ["2027-03-21 08:00", "2027-03-28 07:00", "2027-04-04 07:00"]
    assert _utc(autumn) == ["2027-10-24 07:00", "2027-10-31 08:00", "2027-11-07 08:00"]


def test_a_skipped_time_moves_forward_by_the_gap_and_a_repeated_one_is_the_first() -> None:
    skipped = WeeklyTimetable(frozenset({6}), time(2, 30), date(2027, 3, 28), date(2027, 3, 28))
    repeated = WeeklyTimetable(frozenset({6}), time(2, 30), date(2027, 10, 31), date(2027, 10, 31))
    [start] = timetable_starts(skipped, BERLIN)
    assert start.astimezone(BERLIN).replace(tzinfo=None) == datetime(2027, 3, 28, 3, 30)
    assert _utc(repeated) == ["2027-10-31 00:30"]  # 02:30 CEST, before the clock goes back
