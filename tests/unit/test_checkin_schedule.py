"""When check-ins fall due: local times, time zones, daylight saving, rhythms, quiet hours."""

from __future__ import annotations

import datetime as dt
import itertools
from zoneinfo import ZoneInfo

import pytest

from bot.checkins.schedule import (
    PARTS_OF_DAY,
    ZONES,
    Plan,
    is_quiet,
    parse_time,
    time_in_window,
)

LONDON = ZoneInfo("Europe/London")


def _london(year: int, month: int, day: int, hour: int, minute: int) -> dt.datetime:
    return dt.datetime(year, month, day, hour, minute, tzinfo=LONDON)


def _run(plan: Plan, start: dt.datetime, count: int) -> list[dt.datetime]:
    """The next `count` check-ins after `start`, in the plan's own zone."""
    moments, after = [], start
    for _ in range(count):
        after = plan.next_after(after)
        moments.append(after.astimezone(plan.zone))
    return moments


def test_daily_check_ins_keep_their_local_time_when_the_clocks_go_back() -> None:
    # Clocks went back at 02:00 BST on Sunday 25 October 2026: 10:00 is 09:00 UTC before,
    # 10:00 UTC after.
    plan = Plan("daily", dt.time(10, 0), "Europe/London", anchor=dt.date(2026, 10, 20))
    moments = _run(plan, _london(2026, 10, 23, 12, 0), 4)
    assert [m.strftime("%a %d %H:%M") for m in moments] == [
        "Sat 24 10:00", "Sun 25 10:00", "Mon 26 10:00", "Tue 27 10:00",
    ]  # fmt: skip
    utc_hours = [m.astimezone(dt.UTC).hour for m in moments]
    assert utc_hours == [9, 10, 10, 10]


def test_daily_check_ins_keep_their_local_time_when_the_clocks_go_forward() -> None:
    plan = Plan("daily", dt.time(8, 30), "Europe/London", anchor=dt.date(2027, 3, 1))
    moments = _run(plan, _london(2027, 3, 27, 9, 0), 2)  # BST from 01:00 GMT on 28 March
    assert [m.strftime("%d %H:%M") for m in moments] == ["28 08:30", "29 08:30"]
    assert [m.astimezone(dt.UTC).strftime("%H:%M") for m in moments] == ["07:30", "07:30"]


def test_a_time_that_happens_twice_is_sent_once() -> None:
    # 01:30 happens twice on the night the clocks go back (not a time residents can choose,
    # as it is in quiet hours, but the arithmetic must not send twice).
    plan = Plan("daily", dt.time(1, 30), "Europe/London", anchor=dt.date(2026, 10, 1))
    first = plan.next_after(_london(2026, 10, 25, 0, 0))
    second = plan.next_after(first)
    assert first.astimezone(LONDON).strftime("%d %H:%M") == "25 01:30"
    assert second - first == dt.timedelta(days=1, hours=1)


def test_other_time_zones_and_their_own_changes() -> None:
    # Warsaw moves its clocks on the same night as London, Karachi never does.
    warsaw = Plan("daily", dt.time(9, 0), "Europe/Warsaw", anchor=dt.date(2026, 10, 1))
    moments = _run(warsaw, dt.datetime(2026, 10, 23, 12, 0, tzinfo=dt.UTC), 2)
    assert [m.astimezone(dt.UTC).hour for m in moments] == [7, 8]
    karachi = Plan("daily", dt.time(9, 0), "Asia/Karachi", anchor=dt.date(2026, 10, 1))
    moments = _run(karachi, dt.datetime(2026, 10, 24, 12, 0, tzinfo=dt.UTC), 2)
    assert [m.astimezone(dt.UTC).hour for m in moments] == [4, 4]


def test_twice_a_week_and_weekly_count_from_the_day_they_opted_in() -> None:
    monday = dt.date(2026, 11, 23)
    start = _london(2026, 11, 23, 7, 0)
    twice = _run(Plan("twice", dt.time(18, 0), "Europe/London", monday), start, 4)
    assert [m.strftime("%a %d") for m in twice] == ["Mon 23", "Thu 26", "Mon 30", "Thu 03"]
    weekly = _run(Plan("weekly", dt.time(18, 0), "Europe/London", monday), start, 3)
    assert [m.strftime("%a %d") for m in weekly] == ["Mon 23", "Mon 30", "Mon 07"]


@pytest.mark.parametrize(
    ("frequency", "gaps"),
    [("daily", [2, 2, 2]), ("twice", [7, 7, 7]), ("weekly", [14, 14, 14])],
)
def test_slowed_check_ins_come_half_as_often(frequency: str, gaps: list[int]) -> None:
    plan = Plan(frequency, dt.time(10, 0), "Europe/London", dt.date(2026, 11, 2), slowed=True)
    moments = _run(plan, _london(2026, 11, 1, 12, 0), 4)
    assert [(b.date() - a.date()).days for a, b in itertools.pairwise(moments)] == gaps


def test_quiet_hours_are_from_ten_at_night_to_eight_in_the_morning() -> None:
    assert is_quiet(dt.time(22, 0)) and is_quiet(dt.time(3, 0)) and is_quiet(dt.time(7, 59))
    assert not is_quiet(dt.time(8, 0)) and not is_quiet(dt.time(21, 59))


@pytest.mark.parametrize("part", PARTS_OF_DAY)
def test_each_resident_gets_a_time_in_their_window_never_in_quiet_hours(part: str) -> None:
    times = {time_in_window(part, resident) for resident in range(1, 500)}
    assert len(times) > 60  # spread, not all at one minute
    assert all(not is_quiet(t) for t in times)
    assert max(times).hour - min(times).hour <= 2


@pytest.mark.parametrize(
    ("text", "expected"),
    [("9:30", dt.time(9, 30)), ("09.30", dt.time(9, 30)), ("18", dt.time(18, 0)),
     (" 21:05 ", dt.time(21, 5)), ("7h15", dt.time(7, 15)),
     ("٩:٣٠", dt.time(9, 30)), ("۱۸:۰۰", dt.time(18, 0)), ("১০:১৫", dt.time(10, 15))],
)  # fmt: skip
def test_times_as_residents_write_them(text: str, expected: dt.time) -> None:
    assert parse_time(text) == expected


@pytest.mark.parametrize("text", ["", "morning", "25:00", "9:7", "12:60", "²:30", "9:30pm", "🙂"])
def test_what_is_not_a_time(text: str) -> None:
    assert parse_time(text) is None


def test_every_offered_zone_exists() -> None:
    for name in ZONES:
        assert ZoneInfo(name).utcoffset(dt.datetime(2026, 1, 1)) is not None
