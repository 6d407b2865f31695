"""When check-ins fall due: local wall-clock times in the resident's time zone, turned into
UTC instants. Knows nothing of Telegram or the database, so it can be tested on any clock.

A resident chooses how often (daily, twice a week, weekly) and when (a part of the day, or an
exact time). Days are counted from the day they opted in (`anchor`), so "weekly" means the
same weekday as then, and "twice a week" that weekday and three days later. After three
unanswered nudges the rhythm is halved (`slowed`) until they answer again.
"""

from __future__ import annotations

import datetime as dt
import zlib
from dataclasses import dataclass
from typing import Final
from zoneinfo import ZoneInfo

FREQUENCIES: Final = ("daily", "twice", "weekly")
PARTS_OF_DAY: Final = ("morning", "afternoon", "evening")
# Each part of the day is a two-hour window; a resident's time in it is fixed when they opt in,
# spread by their id, so a town's check-ins do not all leave in the same minute.
WINDOW_STARTS: Final = {"morning": dt.time(9, 30), "afternoon": dt.time(13, 30),
                        "evening": dt.time(18, 0)}  # fmt: skip
WINDOW_MINUTES: Final = 120
# No nudge between 22:00 and 08:00 local time, whatever was chosen.
QUIET_FROM: Final = dt.time(22, 0)
QUIET_UNTIL: Final = dt.time(8, 0)
CATCH_UP: Final = dt.timedelta(hours=1)  # later than this after downtime: skip to the next one
UNANSWERED_BEFORE_SLOWING: Final = 3
DEFAULT_TIMEZONE: Final = "Europe/London"
# The zones offered: the town's own first, then where its residents' families often are.
ZONES: Final = (
    DEFAULT_TIMEZONE, "Europe/Lisbon", "Europe/Madrid", "Europe/Warsaw", "Europe/Bucharest",
    "Europe/Kyiv", "Asia/Riyadh", "Asia/Karachi", "Asia/Kolkata", "Asia/Dhaka",
)  # fmt: skip

# (period in days, the days within it) for each rhythm, and the same halved.
_RHYTHMS: Final = {
    "daily": ((1, (0,)), (2, (0,))),
    "twice": ((7, (0, 3)), (7, (0,))),
    "weekly": ((7, (0,)), (14, (0,))),
}


def is_quiet(moment: dt.time) -> bool:
    return moment >= QUIET_FROM or moment < QUIET_UNTIL


def time_in_window(part_of_day: str, resident_id: int) -> dt.time:
    """The resident's own minute within a part of the day."""
    start = WINDOW_STARTS[part_of_day]
    offset = zlib.crc32(str(resident_id).encode()) % WINDOW_MINUTES
    minutes = start.hour * 60 + start.minute + offset
    return dt.time(minutes // 60, minutes % 60)


def parse_time(text: str) -> dt.time | None:
    """'9:30', '09.30', '21:05' or '18' as a time of day; None if it is not one."""
    cleaned = text.strip().replace(".", ":").replace("h", ":").replace(" ", "")
    hours, _, minutes = cleaned.partition(":")
    if not hours.isdecimal() or len(hours) > 2 or (minutes and (not minutes.isdecimal()
                                                              or len(minutes) != 2)):  # fmt: skip
        return None
    hour, minute = int(hours), int(minutes or 0)
    if hour > 23 or minute > 59:
        return None
    return dt.time(hour, minute)


@dataclass(frozen=True)
class Plan:
    """A resident's choice of rhythm, time and zone."""

    frequency: str
    at: dt.time
    timezone: str
    anchor: dt.date
    slowed: bool = False

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    def next_after(self, after: dt.datetime) -> dt.datetime:
        """The first check-in strictly after `after` (aware), as a UTC instant."""
        tz = self.zone
        period, days = _RHYTHMS[self.frequency][self.slowed]
        day = after.astimezone(tz).date()
        for _ in range(2 * period + 1):
            if (day - self.anchor).days % period in days:
                moment = local_instant(day, self.at, tz)
                if moment > after:
                    return moment.astimezone(dt.UTC)
            day += dt.timedelta(days=1)
        raise AssertionError("every rhythm has a day in two periods")  # pragma: no cover


def local_instant(day: dt.date, at: dt.time, tz: ZoneInfo) -> dt.datetime:
    """`at` o'clock on `day` in `tz`. A wall time that happens twice (clocks going back) is
    its first occurrence; one that never happens (clocks going forward) is read with the offset
    from before the change, so it lands as long after midnight as intended."""
    return dt.datetime.combine(day, at, tzinfo=tz)


def time_label(at: dt.time) -> str:
    return f"{at.hour:02d}:{at.minute:02d}"


def parse_stored_time(text: str) -> dt.time:
    hours, minutes = text.split(":")
    return dt.time(int(hours), int(minutes))
