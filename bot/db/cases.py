"""Crisis cases, their alerts and transcripts, and the staff who answer them.

Every change that two people (or two replicas) could race on is one conditional UPDATE, so
the database decides who wins: two volunteers pressing "Take this case" at the same moment
cannot both get it, and a timer fires once however many processes look.
"""

from __future__ import annotations

import datetime as dt
import secrets
import statistics
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from sqlalchemy import CursorResult, delete, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from bot.db.tables import Case, CaseAlert, CaseMessage, Invite, StaffMember

OPEN, TAKEN, CLOSED = "open", "taken", "closed"
INVITE_DAYS = 7


def utc(moment: dt.datetime) -> dt.datetime:
    """SQLite hands back naive datetimes; everything stored is UTC."""
    return moment if moment.tzinfo else moment.replace(tzinfo=dt.UTC)


def changed(result: object) -> int:
    """Rows an UPDATE or DELETE changed."""
    assert isinstance(result, CursorResult)
    return result.rowcount


# --- staff -------------------------------------------------------------------------------


async def seed_staff(
    session: AsyncSession, *, admin_ids: Iterable[int], volunteer_ids: Iterable[int]
) -> None:
    """Give the ids from the settings their roles (roles given in the bot are kept)."""
    for telegram_id, admin in [(i, True) for i in admin_ids] + [(i, False) for i in volunteer_ids]:
        member = await session.get(StaffMember, telegram_id)
        if member is None:
            member = StaffMember(telegram_id=telegram_id)
            session.add(member)
        if admin:
            member.is_admin = True
        else:
            member.is_volunteer = True


async def get_staff(session: AsyncSession, telegram_id: int) -> StaffMember | None:
    member = await session.get(StaffMember, telegram_id)
    return member if member is not None and (member.is_admin or member.is_volunteer) else None


async def list_staff(session: AsyncSession) -> list[StaffMember]:
    rows = await session.scalars(
        select(StaffMember)
        .where(or_(col(StaffMember.is_admin), col(StaffMember.is_volunteer)))
        .order_by(col(StaffMember.added))
    )
    return list(rows)


async def update_staff(session: AsyncSession, *, telegram_id: int, **values: object) -> None:
    """Set columns of one staff member (duty, alias, language, blocked)."""
    await session.execute(
        update(StaffMember).where(col(StaffMember.telegram_id) == telegram_id).values(values)
    )


async def set_volunteer(session: AsyncSession, *, telegram_id: int, volunteer: bool) -> bool:
    """Add or remove the volunteer role. False if there was nothing to change."""
    member = await session.get(StaffMember, telegram_id)
    if member is None:
        if not volunteer:
            return False
        member = StaffMember(telegram_id=telegram_id)
        session.add(member)
    if member.is_volunteer == volunteer:
        return False
    member.is_volunteer = volunteer
    if not volunteer:
        member.on_duty = False
    return True


async def create_invite(session: AsyncSession, *, created_by: int, now: dt.datetime) -> str:
    token = secrets.token_urlsafe(12)
    expires = now + dt.timedelta(days=INVITE_DAYS)
    session.add(Invite(token=token, created_by=created_by, created=now, expires=expires))
    return token


async def use_invite(
    session: AsyncSession, *, token: str, telegram_id: int, now: dt.datetime
) -> bool:
    """Make `telegram_id` a volunteer if the invite is unused and fresh; True if it was."""
    result = await session.execute(
        update(Invite)
        .where(col(Invite.token) == token, col(Invite.used_by).is_(None), col(Invite.expires) > now)
        .values(used_by=telegram_id)
    )
    if not changed(result):
        return False
    await set_volunteer(session, telegram_id=telegram_id, volunteer=True)
    return True


# --- raising and taking a case -------------------------------------------------------------


async def open_case_of(session: AsyncSession, *, resident_id: int) -> Case | None:
    """The resident's case that is not closed, if any."""
    found = await session.scalars(
        select(Case)
        .where(col(Case.resident_id) == resident_id, col(Case.status) != CLOSED)
        .order_by(col(Case.id).desc())
        .limit(1)
    )
    return found.first()


async def raise_case(
    session: AsyncSession,
    *,
    resident_id: int,
    language: str,
    message_id: int,
    text: str,
    reason: str,
    now: dt.datetime,
) -> tuple[Case, bool]:
    """The resident's open case, else a new one; True if new. Raising again (an update
    Telegram sends again after a crash, or another replica at the same moment) finds the
    first: a resident has at most one case that is not closed."""
    existing = await open_case_of(session, resident_id=resident_id)
    if existing is not None:
        return existing, False
    case = Case(
        resident_id=resident_id, language=language, source_message_id=message_id,
        text=text[:4096], reason=reason, raised=now, queued=now,
    )  # fmt: skip
    try:
        async with session.begin_nested():
            session.add(case)
    except IntegrityError:
        again = await open_case_of(session, resident_id=resident_id)
        if again is None:
            raise
        return again, False
    return case, True


async def queue_alerts(
    session: AsyncSession, *, case_id: int, chat_ids: Iterable[int], round: int, now: dt.datetime
) -> int:
    """One outbox row per chat; the alert pump sends them."""
    rows = [
        CaseAlert(case_id=case_id, chat_id=chat_id, round=round, next_attempt=now)
        for chat_id in dict.fromkeys(chat_ids)
    ]
    session.add_all(rows)
    return len(rows)


async def alert_recipients(
    session: AsyncSession, *, everyone: bool, group: int | None
) -> list[int]:
    """On-duty volunteers; everyone (all volunteers, and admins) for a re-alert, or when
    nobody is on duty. The volunteers' group always."""
    volunteers = list(
        await session.scalars(
            select(StaffMember).where(
                col(StaffMember.is_volunteer), col(StaffMember.blocked_at).is_(None)
            )
        )
    )
    chosen = [v.telegram_id for v in volunteers if v.on_duty]
    if everyone or not chosen:
        chosen = [v.telegram_id for v in volunteers]
    if everyone:
        admins = await session.scalars(
            select(col(StaffMember.telegram_id)).where(
                col(StaffMember.is_admin), col(StaffMember.blocked_at).is_(None)
            )
        )
        chosen += list(admins)
    if group is not None:
        chosen.append(group)
    return list(dict.fromkeys(chosen))


async def claim_case(
    session: AsyncSession, *, case_id: int, volunteer_id: int, now: dt.datetime
) -> bool:
    """Atomically give an open case to a volunteer; False if someone else has it already or
    `volunteer_id` is not a volunteer."""
    is_volunteer = (
        select(col(StaffMember.telegram_id))
        .where(col(StaffMember.telegram_id) == volunteer_id, col(StaffMember.is_volunteer))
        .exists()
    )
    result = await session.execute(
        update(Case)
        .where(col(Case.id) == case_id, col(Case.status) == OPEN, is_volunteer)
        .values(
            status=TAKEN, volunteer_id=volunteer_id, taken=now, volunteer_active=now, reminded=None
        )
    )
    return bool(changed(result))


async def requeue_case(
    session: AsyncSession, *, case_id: int, volunteer_id: int, now: dt.datetime
) -> bool:
    """The volunteer hands the case back (or loses it to silence): open again for anyone."""
    result = await session.execute(
        update(Case)
        .where(
            col(Case.id) == case_id,
            col(Case.status) == TAKEN,
            col(Case.volunteer_id) == volunteer_id,
        )
        .values(
            status=OPEN,
            volunteer_id=None,
            queued=now,
            realerted=None,
            resident_told_wait=None,
            reminded=None,
        )
    )
    return bool(changed(result))


async def close_case(
    session: AsyncSession,
    *,
    case_id: int,
    outcome: str,
    now: dt.datetime,
    volunteer_id: int | None = None,
) -> bool:
    """Close an open or taken case (only by its volunteer, when `volunteer_id` is given)."""
    conditions = [col(Case.id) == case_id, col(Case.status) != CLOSED]
    if volunteer_id is not None:
        conditions.append(col(Case.volunteer_id) == volunteer_id)
    result = await session.execute(
        update(Case).where(*conditions).values(status=CLOSED, outcome=outcome, closed=now)
    )
    return bool(changed(result))


async def note_volunteer_answer(session: AsyncSession, *, case_id: int, now: dt.datetime) -> None:
    await session.execute(
        update(Case).where(col(Case.id) == case_id).values(volunteer_active=now, reminded=None)
    )
    await session.execute(
        update(Case)
        .where(col(Case.id) == case_id, col(Case.first_answer).is_(None))
        .values(first_answer=now)
    )


async def add_message(
    session: AsyncSession,
    *,
    case_id: int,
    sender: str,
    text: str,
    now: dt.datetime,
    relayed_id: int | None = None,
) -> None:
    session.add(
        CaseMessage(
            case_id=case_id, sender=sender, text=text[:4096], relayed_id=relayed_id, created=now
        )
    )


async def transcript(session: AsyncSession, *, case_id: int) -> list[CaseMessage]:
    rows = await session.scalars(
        select(CaseMessage).where(col(CaseMessage.case_id) == case_id).order_by(col(CaseMessage.id))
    )
    return list(rows)


async def case_of_relayed(
    session: AsyncSession, *, volunteer_id: int, relayed_id: int
) -> Case | None:
    """The volunteer's taken case that a message in their chat was relayed from."""
    found = await session.scalars(
        select(Case)
        .join(CaseMessage, col(CaseMessage.case_id) == col(Case.id))
        .where(
            col(CaseMessage.relayed_id) == relayed_id,
            col(Case.volunteer_id) == volunteer_id,
            col(Case.status) == TAKEN,
        )
    )
    return found.first()


async def cases_of_volunteer(session: AsyncSession, *, volunteer_id: int) -> list[Case]:
    """The volunteer's taken cases, the most recently active first."""
    rows = await session.scalars(
        select(Case)
        .where(col(Case.volunteer_id) == volunteer_id, col(Case.status) == TAKEN)
        .order_by(col(Case.volunteer_active).desc(), col(Case.id).desc())
    )
    return list(rows)


# --- timers ----------------------------------------------------------------------------------


async def mark_once(
    session: AsyncSession, *, case_id: int, field: str, now: dt.datetime, status: str
) -> bool:
    """Set a timer's timestamp if it is still unset: the one process that does, acts."""
    column = getattr(Case, field)
    result = await session.execute(
        update(Case)
        .where(col(Case.id) == case_id, col(Case.status) == status, column.is_(None))
        .values({field: now})
    )
    return bool(changed(result))


async def cases_waiting_since(
    session: AsyncSession, *, before: dt.datetime, unset: str
) -> list[Case]:
    """Open (unclaimed) cases queued before `before` whose `unset` timestamp is empty."""
    rows = await session.scalars(
        select(Case).where(
            col(Case.status) == OPEN, col(Case.queued) <= before, getattr(Case, unset).is_(None)
        )
    )
    return list(rows)


async def silent_cases(session: AsyncSession, *, before: dt.datetime, reminded: bool) -> list[Case]:
    """Taken cases whose volunteer has said nothing since `before` (reminded already or not);
    for reminded ones, `before` bounds the reminder instead."""
    moment = col(Case.reminded) if reminded else col(Case.volunteer_active)
    conditions = [col(Case.status) == TAKEN, moment <= before]
    conditions.append(col(Case.reminded).is_not(None) if reminded else col(Case.reminded).is_(None))
    return list(await session.scalars(select(Case).where(*conditions)))


# --- the outbox ------------------------------------------------------------------------------


async def lease_due_alerts(
    session: AsyncSession, *, now: dt.datetime, lease: dt.timedelta, limit: int = 50
) -> list[CaseAlert]:
    """The alerts to send now, each leased until `now + lease` (committed by the caller), so
    no other pass or replica picks it meanwhile. On PostgreSQL, rows another replica is
    leasing at this moment are skipped rather than waited for."""
    rows = list(
        await session.scalars(
            select(CaseAlert)
            .where(col(CaseAlert.state) == "pending", col(CaseAlert.next_attempt) <= now)
            .order_by(col(CaseAlert.id))
            .limit(limit)
            .with_for_update(skip_locked=True)
        )
    )
    leased = []
    for alert in rows:  # each lease a conditional UPDATE: on SQLite, the write lock decides
        result = await session.execute(
            update(CaseAlert)
            .where(
                col(CaseAlert.id) == alert.id,
                col(CaseAlert.state) == "pending",
                col(CaseAlert.next_attempt) <= now,
            )
            .values(attempts=CaseAlert.attempts + 1, next_attempt=now + lease)
            .execution_options(synchronize_session=False)
        )
        if changed(result):
            alert.attempts += 1
            leased.append(alert)
    return leased


async def alerts_of(session: AsyncSession, *, case_id: int) -> list[CaseAlert]:
    rows = await session.scalars(
        select(CaseAlert).where(col(CaseAlert.case_id) == case_id).order_by(col(CaseAlert.id))
    )
    return list(rows)


# --- the record ------------------------------------------------------------------------------


@dataclass(frozen=True)
class CaseStats:
    unclaimed: list[Case]
    taken: list[Case]
    median_to_take: dt.timedelta | None  # over the cases taken in the period
    median_to_answer: dt.timedelta | None
    raised_in_period: int


async def case_stats(session: AsyncSession, *, since: dt.datetime) -> CaseStats:
    active = list(
        await session.scalars(
            select(Case).where(col(Case.status) != CLOSED).order_by(col(Case.raised))
        )
    )
    recent = list(await session.scalars(select(Case).where(col(Case.raised) >= since)))

    def median(pairs: Sequence[tuple[dt.datetime | None, dt.datetime]]) -> dt.timedelta | None:
        spans = [(utc(end) - utc(start)).total_seconds() for end, start in pairs if end]
        return dt.timedelta(seconds=statistics.median(spans)) if spans else None

    return CaseStats(
        unclaimed=[c for c in active if c.status == OPEN],
        taken=[c for c in active if c.status == TAKEN],
        median_to_take=median([(c.taken, c.raised) for c in recent]),
        median_to_answer=median([(c.first_answer, c.raised) for c in recent]),
        raised_in_period=len(recent),
    )


async def purge_transcripts(session: AsyncSession, *, before: dt.datetime) -> int:
    """Delete what was said in cases before `before`: messages and the raising text. The
    timestamps stay, for the record. Returns how many messages went."""
    result = await session.execute(delete(CaseMessage).where(col(CaseMessage.created) < before))
    await session.execute(
        update(Case)
        .where(col(Case.raised) < before, col(Case.status) == CLOSED, col(Case.text) != "")
        .values(text="")
    )
    return changed(result)


async def forget_cases(session: AsyncSession, *, resident_id: int) -> list[int]:
    """Delete everything said in the resident's cases, and the link to them (/forget); the
    caller has closed any open one. Returns the cases' ids."""
    ids = list(
        await session.scalars(select(col(Case.id)).where(col(Case.resident_id) == resident_id))
    )
    if ids:
        await session.execute(delete(CaseMessage).where(col(CaseMessage.case_id).in_(ids)))
        await session.execute(
            update(Case).where(col(Case.id).in_(ids)).values(text="", resident_id=None)
        )
    return [i for i in ids if i is not None]
