"""What the conversation stores: residents, feedback, unanswered questions and suggestions."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import delete, select
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from bot.db.tables import (
    CheckIn,
    Feedback,
    Mood,
    Resident,
    Suggestion,
    UnmatchedQuestion,
    utcnow,
)

MAX_STORED_QUESTION = 500


async def touch_resident(
    session: AsyncSession, *, telegram_id: int, seen: dt.datetime | None = None
) -> Resident:
    """The resident, created on first contact; they wrote at `seen` (default now), which
    lifts a block marked before then (a write may reach the database after the block)."""
    seen = seen or utcnow()
    return _touch(session, telegram_id, await session.get(Resident, telegram_id), seen)


async def touch_residents(session: AsyncSession, seen: dict[int, dt.datetime]) -> None:
    """`touch_resident` for many residents: read in one query, and the new ones inserted in
    one statement (a thousand ORM objects held the event loop for a third of a second)."""
    known = await _residents(session, sorted(seen))
    new = [
        {"telegram_id": telegram_id, "first_seen": moment, "last_seen": moment}
        for telegram_id, moment in sorted(seen.items())
        if telegram_id not in known
    ]
    for telegram_id, resident in known.items():
        _touch(session, telegram_id, resident, seen[telegram_id])
    if new:
        dialect = session.get_bind().dialect.name
        insert = postgresql_insert if dialect == "postgresql" else sqlite_insert
        # Another replica may have met the same resident a moment ago: theirs stands.
        await session.execute(insert(Resident).values(new).on_conflict_do_nothing())


def _touch(
    session: AsyncSession, telegram_id: int, resident: Resident | None, seen: dt.datetime
) -> Resident:
    if resident is None:
        resident = Resident(telegram_id=telegram_id, first_seen=seen, last_seen=seen)
        session.add(resident)
        return resident
    resident.last_seen = max(_utc(resident.last_seen), seen)
    if resident.blocked_at is not None and _utc(resident.blocked_at) <= seen:
        resident.blocked_at = None  # they wrote to us, so they have unblocked the bot
    return resident


async def stored_languages(session: AsyncSession, telegram_ids: list[int]) -> dict[int, str | None]:
    """The residents among `telegram_ids` who have written before, with their language."""
    return {k: r.language for k, r in (await _residents(session, telegram_ids)).items()}


async def _residents(session: AsyncSession, telegram_ids: list[int]) -> dict[int, Resident]:
    found: dict[int, Resident] = {}
    for start in range(0, len(telegram_ids), 500):
        chunk = telegram_ids[start : start + 500]
        rows = await session.scalars(select(Resident).where(col(Resident.telegram_id).in_(chunk)))
        found.update((r.telegram_id, r) for r in rows)
    return found


def _utc(moment: dt.datetime) -> dt.datetime:
    """SQLite hands back naive datetimes; everything stored is UTC."""
    return moment if moment.tzinfo else moment.replace(tzinfo=dt.UTC)


async def set_language(session: AsyncSession, *, telegram_id: int, language: str) -> None:
    resident = await touch_resident(session, telegram_id=telegram_id)
    resident.language = language


async def mark_blocked(session: AsyncSession, *, telegram_id: int) -> None:
    """Telegram said they blocked the bot: nothing more is sent until they write again."""
    resident = await session.get(Resident, telegram_id)
    if resident is None:  # they wrote moments ago; their record is still on its way
        session.add(Resident(telegram_id=telegram_id, blocked_at=utcnow()))
    else:
        resident.blocked_at = utcnow()


async def is_blocked(session: AsyncSession, *, telegram_id: int) -> bool:
    resident = await session.get(Resident, telegram_id)
    return resident is not None and resident.blocked_at is not None


async def forget_resident(session: AsyncSession, *, telegram_id: int) -> None:
    """Delete everything held about this person. Anonymous feedback has no link to them."""
    await session.execute(delete(Resident).where(col(Resident.telegram_id) == telegram_id))
    await session.execute(delete(CheckIn).where(col(CheckIn.resident_id) == telegram_id))
    await session.execute(delete(Mood).where(col(Mood.resident_id) == telegram_id))


async def record_feedback(
    session: AsyncSession, *, question: str, language: str, helpful: bool
) -> None:
    session.add(
        Feedback(question=question[:MAX_STORED_QUESTION], language=language, helpful=helpful)
    )


async def record_unmatched(session: AsyncSession, *, question: str, language: str) -> None:
    session.add(UnmatchedQuestion(question=question[:MAX_STORED_QUESTION], language=language))


async def record_suggestion(session: AsyncSession, *, text: str, language: str) -> None:
    session.add(Suggestion(text=text[:1000], language=language))
