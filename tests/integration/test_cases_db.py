"""The races the case tables must settle, on SQLite and (when configured) PostgreSQL: two
volunteers claiming one case at the same moment, two replicas raising a case for one resident,
two replicas firing one timer."""

from __future__ import annotations

import asyncio
import datetime as dt

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlmodel import col

from bot.db import cases as db
from bot.db import migrate
from bot.db.engine import make_engine, make_session_factory
from bot.db.tables import Case, CaseAlert, StaffMember

NOW = dt.datetime(2026, 11, 24, 3, 0, tzinfo=dt.UTC)


async def _sessions(database_url: str) -> async_sessionmaker[AsyncSession]:
    engine = make_engine(database_url)
    await migrate.upgrade(engine)
    sessions = make_session_factory(engine)
    async with sessions() as session:
        await db.seed_staff(session, admin_ids=[1], volunteer_ids=range(100, 110))
        await session.commit()
    return sessions


async def _raise(sessions: async_sessionmaker[AsyncSession], resident: int) -> tuple[int, bool]:
    async with sessions() as session:
        case, created = await db.raise_case(
            session, resident_id=resident, language="en", message_id=5, text="help",
            reason="crisis", now=NOW,
        )  # fmt: skip
        await session.commit()
        assert case.id is not None
        return case.id, created


async def test_ten_volunteers_pressing_at_once_one_wins(database_url: str) -> None:
    sessions = await _sessions(database_url)
    for round_ in range(5):
        case_id, _ = await _raise(sessions, resident=round_)

        async def claim(volunteer: int, case_id: int = case_id) -> bool:
            async with sessions() as session:
                won = await db.claim_case(session, case_id=case_id, volunteer_id=volunteer, now=NOW)
                await session.commit()
                return won

        results = await asyncio.gather(*(claim(v) for v in range(100, 110)))
        assert sum(results) == 1
        async with sessions() as session:
            case = await session.get(Case, case_id)
        assert case is not None and case.volunteer_id == 100 + results.index(True)


async def test_only_a_volunteer_can_claim(database_url: str) -> None:
    sessions = await _sessions(database_url)
    case_id, _ = await _raise(sessions, resident=7)
    async with sessions() as session:
        assert not await db.claim_case(session, case_id=case_id, volunteer_id=7, now=NOW)
        assert not await db.claim_case(session, case_id=case_id, volunteer_id=1, now=NOW)  # admin
        await db.set_volunteer(session, telegram_id=100, volunteer=False)
        assert not await db.claim_case(session, case_id=case_id, volunteer_id=100, now=NOW)
        assert await db.claim_case(session, case_id=case_id, volunteer_id=101, now=NOW)


async def test_a_resident_has_one_open_case_whoever_raises_it(database_url: str) -> None:
    sessions = await _sessions(database_url)
    results = await asyncio.gather(*(_raise(sessions, resident=9) for _ in range(6)))
    assert len({case_id for case_id, _ in results}) == 1
    assert sum(created for _, created in results) == 1
    async with sessions() as session:
        assert await db.close_case(session, case_id=results[0][0], outcome="safe", now=NOW)
        await session.commit()
    again, created = await _raise(sessions, resident=9)  # after closing, a new case
    assert created and again != results[0][0]


async def test_a_timer_fires_once_however_many_look(database_url: str) -> None:
    sessions = await _sessions(database_url)
    case_id, _ = await _raise(sessions, resident=3)

    async def fire() -> bool:
        async with sessions() as session:
            done = await db.mark_once(
                session, case_id=case_id, field="realerted", now=NOW, status=db.OPEN
            )
            await session.commit()
            return done

    assert sum(await asyncio.gather(*(fire() for _ in range(8)))) == 1


async def test_invites_work_once_and_expire(database_url: str) -> None:
    sessions = await _sessions(database_url)
    async with sessions() as session:
        token = await db.create_invite(session, created_by=1, now=NOW)
        stale = await db.create_invite(session, created_by=1, now=NOW - dt.timedelta(days=8))
        await session.commit()
        assert not await db.use_invite(session, token=stale, telegram_id=51, now=NOW)
        assert await db.use_invite(session, token=token, telegram_id=50, now=NOW)
        assert not await db.use_invite(session, token=token, telegram_id=52, now=NOW)
        await session.commit()
        volunteers = await session.scalar(
            select(func.count()).select_from(StaffMember).where(StaffMember.is_volunteer)  # type: ignore[arg-type]
        )
    assert volunteers == 11


async def test_two_alert_pumps_never_take_the_same_alert(database_url: str) -> None:
    sessions = await _sessions(database_url)
    for resident in range(20):
        case_id, _ = await _raise(sessions, resident=resident)
        async with sessions() as session:
            await db.queue_alerts(session, case_id=case_id, chat_ids=range(100, 105), round=0,
                                  now=NOW)  # fmt: skip
            await session.commit()

    async def pump() -> list[int]:
        """Lease until nothing is due (a pass may find its candidates taken by the other)."""
        taken: list[int] = []
        while True:
            async with sessions() as session:
                leased = await db.lease_due_alerts(
                    session, now=NOW, lease=dt.timedelta(minutes=1), limit=7
                )
                taken += [a.id for a in leased if a.id is not None]
                await session.commit()
                due = await session.scalar(
                    select(func.count())
                    .select_from(CaseAlert)
                    .where(col(CaseAlert.next_attempt) <= NOW)
                )
            if not leased and not due:
                return taken
            await asyncio.sleep(0)

    first, second = await asyncio.gather(pump(), pump())
    assert not set(first) & set(second)
    assert sorted(first + second) == list(range(1, 101))


async def test_residents_are_written_behind_in_one_go(database_url: str) -> None:
    from bot.db.residents import mark_blocked, stored_languages, touch_residents

    sessions = await _sessions(database_url)
    later = NOW + dt.timedelta(minutes=5)
    async with sessions() as session:
        await touch_residents(session, {1: NOW, 2: NOW})
        await session.commit()
        await mark_blocked(session, telegram_id=2)
        await session.commit()
    # mark_blocked keeps the real time: the resident writes again a minute after that.
    after_block = dt.datetime.now(dt.UTC) + dt.timedelta(minutes=1)
    async with sessions() as session:  # again, with new and known residents mixed
        await touch_residents(session, {2: after_block, 3: later})
        await touch_residents(session, {3: later})  # a second write of the same new resident
        await session.commit()
        assert await stored_languages(session, [1, 2, 3, 4]) == {1: None, 2: None, 3: None}
        from bot.db.tables import Resident

        two = await session.get(Resident, 2)
        assert two is not None and two.blocked_at is None  # they wrote after the block
