"""Check-in settings, the nudges that fall due, and the moods residents answer with.

The `check_in` row holds the truth: the next due instant of each resident who opted in. A
nudge is claimed by moving that instant on to the following slot in the same transaction that
finds it due (rows another replica is claiming are skipped on PostgreSQL; on SQLite the write
lock and the conditional UPDATE decide), so each slot is sent by one process only.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from dataclasses import dataclass

from sqlalchemy import delete, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from bot.checkins.schedule import (
    CATCH_UP,
    UNANSWERED_BEFORE_SLOWING,
    Plan,
    is_quiet,
    parse_stored_time,
    time_label,
)
from bot.db.cases import changed, utc
from bot.db.tables import CheckIn, Mood, Resident

RETRY_AFTER = dt.timedelta(minutes=2)  # a nudge Telegram did not take: tried again this soon


def plan_of(row: CheckIn, *, slowed: bool | None = None) -> Plan:
    return Plan(
        frequency=row.frequency, at=parse_stored_time(row.at), timezone=row.timezone,
        anchor=row.anchor, slowed=row.slowed if slowed is None else slowed,
    )  # fmt: skip


async def get_checkin(session: AsyncSession, resident_id: int) -> CheckIn | None:
    return await session.get(CheckIn, resident_id)


async def save_checkin(
    session: AsyncSession,
    *,
    resident_id: int,
    frequency: str,
    time_of_day: str,
    at: dt.time,
    timezone: str,
    language: str,
    now: dt.datetime,
) -> CheckIn:
    """Opt in, or change the settings: the rhythm starts again from today."""
    row = await session.get(CheckIn, resident_id)
    if row is None:
        row = CheckIn(resident_id=resident_id, frequency=frequency, time_of_day=time_of_day,
                      at="", anchor=now.date(), next_due=now)  # fmt: skip
        session.add(row)
    row.frequency, row.time_of_day, row.timezone = frequency, time_of_day, timezone
    row.language = language
    row.at = time_label(at)
    row.anchor = now.astimezone(plan_of(row).zone).date()
    row.paused_until, row.unanswered, row.slowed, row.answered = None, 0, False, True
    row.next_due = plan_of(row).next_after(now)
    return row


async def pause_checkin(
    session: AsyncSession, *, resident_id: int, until: dt.datetime | None, now: dt.datetime
) -> CheckIn | None:
    """Pause until `until`, or (None) resume now. None if they have no check-ins."""
    row = await session.get(CheckIn, resident_id)
    if row is not None:
        row.paused_until = until
        row.next_due = plan_of(row).next_after(until or now)
    return row


async def stop_checkin(session: AsyncSession, *, resident_id: int) -> bool:
    """Opt out: the settings are deleted, so nothing more can be sent. False if already off."""
    result = await session.execute(delete(CheckIn).where(col(CheckIn.resident_id) == resident_id))
    return changed(result) > 0


async def mark_answered(
    session: AsyncSession,
    *,
    resident_id: int,
    message_id: int | None = None,
    unanswered_only: bool = False,
) -> bool:
    """They answered a nudge (a mood, "talk", or a reply to it): the count of unanswered ones
    starts again and their own rhythm is back. With `message_id`, only if it is their last
    nudge; with `unanswered_only`, only if it had no answer yet."""
    query = update(CheckIn).where(col(CheckIn.resident_id) == resident_id)
    if message_id is not None:
        query = query.where(col(CheckIn.nudge_message_id) == message_id)
    if unanswered_only:
        query = query.where(col(CheckIn.answered).is_(False))
    result = await session.execute(query.values(answered=True, unanswered=0, slowed=False))
    return changed(result) > 0


async def record_nudge_message(session: AsyncSession, *, resident_id: int, message_id: int) -> None:
    await session.execute(
        update(CheckIn).where(col(CheckIn.resident_id) == resident_id)
        .values(nudge_message_id=message_id)
    )  # fmt: skip


# --- what falls due ------------------------------------------------------------------------


@dataclass(frozen=True)
class Due:
    """A claimed check-in: what to send (`nudge`, or the `gentle` note after three unanswered)
    and the row as it was, to give the slot back if Telegram did not take it."""

    resident_id: int
    kind: str  # nudge | gentle
    language: str  # when they opted in (a language they chose since comes first)
    slot: dt.datetime
    next_due: dt.datetime  # where the claim moved it
    before: dict[str, object]


async def claim_due(session: AsyncSession, *, now: dt.datetime, limit: int = 100) -> list[Due]:
    """Claim the check-ins due at `now` (the caller commits before sending). A slot missed by
    more than an hour, or one that would arrive in quiet hours, is skipped to the next."""
    rows = list(
        await session.scalars(
            select(CheckIn)
            .where(col(CheckIn.next_due) <= now)
            .order_by(col(CheckIn.next_due))
            .limit(limit)
            .with_for_update(skip_locked=True)
        )
    )
    claimed = []
    for row in rows:
        slot = utc(row.retry_of or row.next_due)  # a retry is as late as its slot
        before: dict[str, object] = {"unanswered": row.unanswered, "slowed": row.slowed,
                  "last_nudge": row.last_nudge, "answered": row.answered}  # fmt: skip
        values: dict[str, object]
        kind: str | None
        paused = row.paused_until is not None and now < utc(row.paused_until)
        if now - slot > CATCH_UP or paused or is_quiet(now.astimezone(plan_of(row).zone).time()):
            kind, values = None, {}
        else:
            unanswered = row.unanswered + (0 if row.answered else 1)
            if unanswered >= UNANSWERED_BEFORE_SLOWING and not row.slowed:
                kind = "gentle"
                values = {"unanswered": 0, "slowed": True, "answered": True, "last_nudge": None}
            else:
                kind = "nudge"
                values = {"unanswered": unanswered, "answered": False, "last_nudge": now}
        plan = plan_of(row, slowed=bool(values.get("slowed", row.slowed)))
        if kind == "gentle" and row.frequency != "twice":
            # Every other day (or week) counted from this one, so the next is a full gap away.
            anchor = values["anchor"] = now.astimezone(plan.zone).date()
            plan = dataclasses.replace(plan, anchor=anchor)
        next_due = values["next_due"] = plan.next_after(now)
        values["retry_of"] = None
        result = await session.execute(
            update(CheckIn)
            .where(col(CheckIn.resident_id) == row.resident_id, col(CheckIn.next_due) <= now)
            .values(values)
            .execution_options(synchronize_session=False)
        )
        if changed(result) and kind is not None:
            claimed.append(Due(row.resident_id, kind, row.language, slot, next_due, before))
    return claimed


async def give_back(session: AsyncSession, *, due: Due, now: dt.datetime) -> bool:
    """Telegram did not take the nudge: its slot comes due again shortly, unless that would
    be more than an hour late. Only if nobody has changed the settings since."""
    if now + RETRY_AFTER - due.slot > CATCH_UP:
        return False
    result = await session.execute(
        update(CheckIn)
        .where(col(CheckIn.resident_id) == due.resident_id, col(CheckIn.next_due) == due.next_due)
        .values({**due.before, "next_due": now + RETRY_AFTER, "retry_of": due.slot})
    )
    return changed(result) > 0


async def languages_of(
    session: AsyncSession, resident_ids: list[int]
) -> dict[int, tuple[str | None, bool]]:
    """Each resident's stored language and whether they blocked the bot."""
    rows = await session.execute(
        select(col(Resident.telegram_id), col(Resident.language), col(Resident.blocked_at))
        .where(col(Resident.telegram_id).in_(resident_ids))
    )  # fmt: skip
    return {rid: (language, blocked is not None) for rid, language, blocked in rows}


# --- moods -----------------------------------------------------------------------------------


async def record_mood(
    session: AsyncSession, *, resident_id: int, score: int, now: dt.datetime
) -> None:
    session.add(Mood(resident_id=resident_id, score=score, created=now))


async def moods_since(session: AsyncSession, *, resident_id: int, since: dt.datetime) -> list[Mood]:
    rows = await session.scalars(
        select(Mood)
        .where(col(Mood.resident_id) == resident_id, col(Mood.created) >= since)
        .order_by(col(Mood.created))
    )
    return list(rows)


async def delete_moods(session: AsyncSession, *, resident_id: int) -> int:
    result = await session.execute(delete(Mood).where(col(Mood.resident_id) == resident_id))
    return changed(result)
