"""Residents who have opted in to check-ins, written straight into the database, for the
end-to-end tests and the check-in benchmark (the bot's own schedule is tested elsewhere)."""

from __future__ import annotations

import datetime as dt
from typing import Any
from zoneinfo import ZoneInfo

# Together these cover every hour of the day with one zone between 09:00 and 20:00.
DAYTIME_ZONES = ("Europe/London", "America/New_York", "America/Los_Angeles", "Pacific/Auckland",
                 "Asia/Tokyo", "Asia/Kolkata", "Europe/Warsaw")  # fmt: skip


def daytime_zone() -> str:
    """A zone where it is daytime now, so quiet hours (rightly) hold nothing back."""
    now = dt.datetime.now(dt.UTC)
    for name in DAYTIME_ZONES:
        if 9 <= now.astimezone(ZoneInfo(name)).hour < 20:
            return name
    raise RuntimeError("no candidate zone is in daytime now")  # the list covers every hour


def due_check_in(resident: int, *, due: dt.datetime, zone: str, language: str) -> dict[str, Any]:
    """A `check_in` row: daily at the local time of `due`, next due at `due`."""
    local = due.astimezone(ZoneInfo(zone))
    return {
        "resident_id": resident, "frequency": "daily", "time_of_day": "exact",
        "at": f"{local:%H:%M}", "timezone": zone, "language": language, "anchor": local.date(),
        "next_due": due, "unanswered": 0, "slowed": False, "answered": True, "created": due,
    }  # fmt: skip
