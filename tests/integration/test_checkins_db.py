"""Check-ins in the database, on SQLite and (when configured) PostgreSQL: each slot claimed
once however many processes look, catching up after downtime, quiet hours, and the gentle
slowing down after three unanswered nudges."""

from __future__ import annotations

import asyncio
import datetime as dt
from collections import Counter
from collections.abc import AsyncIterator, Callable

import pytest
from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker
from sqlmodel import col

from bot.db import checkins as db
from bot.db import migrate
from bot.db.cases import utc
from bot.db.engine import make_engine, make_session_factory
from bot.db.tables import CheckIn

# Wednesday 25 November 2026, 09:00 in London (GMT, so also 09:00 UTC).
NOW = dt.datetime(2026, 11, 25, 9, 0, tzinfo=dt.UTC)


@pytest.fixture
async def engines(database_url: str) -> AsyncIterator[Callable[[], AsyncEngine]]:
    """Engines on one migrated database (each its own pool, as in separate processes),
    disposed after the test."""
    made: list[AsyncEngine] = []

    def make() -> AsyncEngine:
        made.append(make_engine(database_url))
        return made[-1]

    await migrate.upgrade(make())
    yield make
    for engine in made:
        await engine.dispose()


@pytest.fixture
def sessions(engines: Callable[[], AsyncEngine]) -> async_sessionmaker[AsyncSession]:
    return make_session_factory(engines())


async def _opt_in(
    sessions: async_sessionmaker[AsyncSession], residents: range, *, at: dt.time = dt.time(10, 0),
    frequency: str = "daily", opted_in: dt.datetime = NOW,
) -> None:  # fmt: skip
    async with sessions() as session:
        for resident in residents:
            await db.save_checkin(
                session, resident_id=resident, frequency=frequency, time_of_day="exact", at=at,
                timezone="Europe/London", language="en", now=opted_in,
            )  # fmt: skip
        await session.commit()


async def _claim(sessions: async_sessionmaker[AsyncSession], now: dt.datetime) -> list[db.Due]:
    async with sessions() as session:
        claimed = await db.claim_due(session, now=now)
        await session.commit()
    return claimed


async def _row(sessions: async_sessionmaker[AsyncSession], resident: int) -> CheckIn:
    async with sessions() as session:
        row = await db.get_checkin(session, resident)
    assert row is not None
    return row


async def test_two_processes_claim_each_check_in_exactly_once(
    engines: Callable[[], AsyncEngine],
) -> None:
    first, second = make_session_factory(engines()), make_session_factory(engines())
    await _opt_in(first, range(1, 301))
    at_ten = NOW + dt.timedelta(hours=1, seconds=5)

    async def replica(sessions: async_sessionmaker[AsyncSession]) -> list[int]:
        mine: list[int] = []
        while True:
            async with sessions() as session:
                claimed = await db.claim_due(session, now=at_ten, limit=20)
                await session.commit()
            if not claimed:
                return mine
            mine += [due.resident_id for due in claimed]
            await asyncio.sleep(0)

    a, b = await asyncio.gather(replica(first), replica(second))
    counts = Counter(a + b)
    assert sorted(counts) == list(range(1, 301))  # none lost
    assert set(counts.values()) == {1}  # none twice
    assert await _claim(first, at_ten + dt.timedelta(minutes=30)) == []  # tomorrow's is next
    row = await _row(first, 1)
    assert utc(row.next_due) == dt.datetime(2026, 11, 26, 10, 0, tzinfo=dt.UTC)


async def test_after_downtime_a_nudge_under_an_hour_late_is_sent_a_later_one_skipped(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    await _opt_in(sessions, range(1, 2), at=dt.time(10, 0))
    await _opt_in(sessions, range(2, 3), at=dt.time(11, 30))
    back = dt.datetime(2026, 11, 25, 12, 10, tzinfo=dt.UTC)  # down from 09:55 to 12:10
    claimed = await _claim(sessions, back)
    assert [due.resident_id for due in claimed] == [2]  # 40 minutes late: sent
    for resident in (1, 2):  # both now wait for tomorrow
        assert utc((await _row(sessions, resident)).next_due).date() == dt.date(2026, 11, 26)


async def test_no_nudge_in_quiet_hours_even_when_catching_up(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    await _opt_in(sessions, range(1, 2), at=dt.time(21, 45))
    assert await _claim(sessions, dt.datetime(2026, 11, 25, 22, 5, tzinfo=dt.UTC)) == []
    row = await _row(sessions, 1)
    assert utc(row.next_due) == dt.datetime(2026, 11, 26, 21, 45, tzinfo=dt.UTC)


async def test_three_unanswered_then_one_gentle_message_then_half_as_often(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    await _opt_in(sessions, range(1, 2))
    kinds, moment = [], NOW
    for _ in range(6):
        moment = utc((await _row(sessions, 1)).next_due) + dt.timedelta(seconds=1)
        kinds += [(moment.day, due.kind) for due in await _claim(sessions, moment)]
    assert kinds == [
        (25, "nudge"), (26, "nudge"), (27, "nudge"), (28, "gentle"), (30, "nudge"), (2, "nudge"),
    ]  # fmt: skip
    async with sessions() as session:  # they answer: their own rhythm is back
        assert await db.mark_answered(session, resident_id=1)
        await session.commit()
    row = await _row(sessions, 1)
    assert (row.unanswered, row.slowed) == (0, False)
    due = await _claim(sessions, utc(row.next_due) + dt.timedelta(seconds=1))
    assert [d.kind for d in due] == ["nudge"]
    after = utc((await _row(sessions, 1)).next_due) - utc(row.next_due)
    assert after == dt.timedelta(days=1)


async def test_a_nudge_telegram_did_not_take_comes_due_again_soon(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    await _opt_in(sessions, range(1, 2))
    ten = NOW + dt.timedelta(hours=1)
    [due] = await _claim(sessions, ten)
    async with sessions() as session:
        assert await db.give_back(session, due=due, now=ten + dt.timedelta(seconds=20))
        await session.commit()
    assert await _claim(sessions, ten + dt.timedelta(minutes=1)) == []
    [again] = await _claim(sessions, ten + dt.timedelta(minutes=3))
    assert again.kind == "nudge" and again.slot == due.slot
    row = await _row(sessions, 1)
    assert row.unanswered == 0  # the one that never arrived does not count as unanswered


async def test_paused_check_ins_wait_and_stopped_ones_are_gone(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    await _opt_in(sessions, range(1, 3))
    async with sessions() as session:
        await db.pause_checkin(session, resident_id=1, until=NOW + dt.timedelta(days=7), now=NOW)
        assert await db.stop_checkin(session, resident_id=2)
        assert not await db.stop_checkin(session, resident_id=2)
        await session.commit()
    assert await _claim(sessions, NOW + dt.timedelta(days=3)) == []
    row = await _row(sessions, 1)
    assert utc(row.next_due) == dt.datetime(2026, 12, 2, 10, 0, tzinfo=dt.UTC)  # a week on
    async with sessions() as session:  # a row forced due while paused is still not sent
        await session.execute(
            update(CheckIn).where(col(CheckIn.resident_id) == 1).values(next_due=NOW)
        )
        await session.commit()
    assert await _claim(sessions, NOW + dt.timedelta(minutes=5)) == []
