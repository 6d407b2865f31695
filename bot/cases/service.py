"""From a crisis message to a human volunteer: raising a case, alerting, taking, relaying,
closing. The database holds the truth; this object holds a bot, a clock and two small
indexes of who is in a case, refreshed from the database.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import functools
import logging
from collections.abc import Callable
from contextlib import AbstractContextManager, suppress
from dataclasses import dataclass, field
from html import escape
from zoneinfo import ZoneInfo

from aiogram import Bot
from aiogram.types import InlineKeyboardMarkup, Message
from aiogram.utils.i18n import I18n
from sqlalchemy import select, update
from sqlmodel import col

from bot import keyboards as kb
from bot.cases import texts
from bot.core import Tapestry
from bot.db import cases as db
from bot.db.tables import Case, CaseAlert, utcnow
from bot.delivery import Priority, RecipientBlocked, priority
from bot.i18n import speaking

log = logging.getLogger(__name__)
Clock = Callable[[], dt.datetime]

PUMP_EVERY = 2.0  # seconds between looks at the outbox when nobody wakes the pump
SEND_LEASE = dt.timedelta(seconds=60)  # an alert being sent is not picked again before this
MAX_BACKOFF = 60.0  # seconds between attempts at an alert that keeps failing
MEDIA_LABELS = {
    "photo": "[photo]", "voice": "[voice message]", "sticker": "[sticker]", "video": "[video]",
    "video_note": "[video message]", "audio": "[audio]", "document": "[file]",
    "animation": "[GIF]", "location": "[location]", "contact": "[contact]",
}  # fmt: skip


@dataclass
class StaffView:
    is_admin: bool
    is_volunteer: bool
    alias: str | None
    language: str


@dataclass
class Index:
    """Who is in a case right now: read on every message, so kept in memory, refreshed from
    the database every few seconds (other replicas) and at once by this process's changes."""

    resident_cases: dict[int, int] = field(default_factory=dict)  # resident -> open case
    busy_volunteers: set[int] = field(default_factory=set)  # with a taken case
    staff: dict[int, StaffView] = field(default_factory=dict)


class Escalations:
    def __init__(self, app: Tapestry, i18n: I18n, clock: Clock = utcnow) -> None:
        self.app = app
        self.settings = app.settings
        self.i18n = i18n
        self.clock = clock
        self.timezone = ZoneInfo(app.settings.timezone)
        self.bot: Bot | None = None
        self.index = Index()
        self._wake = asyncio.Event()
        self._pump: asyncio.Task[None] | None = None

    # --- life cycle --------------------------------------------------------------------------

    def attach(self, bot: Bot) -> None:
        """The bot that sends alerts and relays (`start` does this too)."""
        self.bot = bot

    async def start(self, bot: Bot) -> None:
        """Seed the roles, read the indexes, start sending what the outbox holds."""
        self.attach(bot)
        await self.seed_roles()
        self._pump = asyncio.create_task(self._pump_forever(), name="alert-pump")

    async def seed_roles(self) -> None:
        """ADMIN_IDS and VOLUNTEER_IDS get their roles; then the indexes are read."""
        async with self.app.sessions() as session:
            await db.seed_staff(
                session, admin_ids=self.settings.admin_ids,
                volunteer_ids=self.settings.volunteer_ids,
            )  # fmt: skip
            await session.commit()
        await self.refresh()

    async def stop(self) -> None:
        if self._pump is not None:
            self._pump.cancel()
            await asyncio.gather(self._pump, return_exceptions=True)

    async def refresh(self) -> None:
        """Read who is in a case, and the staff, from the database."""
        async with self.app.sessions() as session:
            active = await session.execute(
                select(
                    col(Case.id), col(Case.resident_id), col(Case.volunteer_id), col(Case.status)
                ).where(col(Case.status) != db.CLOSED)
            )
            staff = await db.list_staff(session)
        index = Index()
        for case_id, resident_id, volunteer_id, status in active:
            if resident_id is not None and case_id is not None:
                index.resident_cases[resident_id] = case_id
            if status == db.TAKEN and volunteer_id is not None:
                index.busy_volunteers.add(volunteer_id)
        for m in staff:
            index.staff[m.telegram_id] = StaffView(m.is_admin, m.is_volunteer, m.alias, m.language)
        self.index = index

    def speaking(self, locale: str) -> AbstractContextManager[None]:
        return speaking(self.i18n, locale)

    async def remember_language(self, staff_id: int, locale: str) -> None:
        """A staff member's alerts come in the language they use with the bot."""
        member = self.index.staff.get(staff_id)
        if member is None or member.language == locale:
            return
        member.language = locale
        async with self.app.sessions() as session:
            await db.update_staff(session, telegram_id=staff_id, language=locale)
            await session.commit()

    def staff_locale(self, chat_id: int) -> str:
        member = self.index.staff.get(chat_id)
        return member.language if member else self.settings.default_language

    # --- raising -----------------------------------------------------------------------------

    async def raise_case(
        self, *, resident_id: int, language: str, message_id: int, text: str, reason: str
    ) -> tuple[Case, bool] | None:
        """Store the escalation and queue its alerts in one transaction (the outbox), or find
        the resident's open case. (case, True if new); None if the database is unreachable."""
        now = self.clock()
        recipients: list[int] = []
        try:
            async with self.app.sessions() as session:
                case, created = await db.raise_case(
                    session, resident_id=resident_id, language=language, reason=reason,
                    now=now, message_id=message_id, text=text,
                )  # fmt: skip
                if created:
                    await session.flush()
                    assert case.id is not None
                    recipients = await db.alert_recipients(
                        session, everyone=False, group=self.settings.volunteer_chat_id
                    )
                    await db.queue_alerts(
                        session, case_id=case.id, chat_ids=recipients, round=0, now=now
                    )
                await session.commit()
        except Exception:
            log.exception("could not store the escalation of a crisis message")
            return None
        assert case.id is not None
        self.index.resident_cases[resident_id] = case.id
        if created:
            log.warning("case %s raised (%s, %s): %d alerts queued", case.id, reason, language,
                        len(recipients))  # fmt: skip
            self._wake.set()
        return case, created

    def has_volunteers(self) -> bool:
        return self.settings.volunteer_chat_id is not None or any(
            s.is_volunteer for s in self.index.staff.values()
        )

    # --- the outbox --------------------------------------------------------------------------

    async def _pump_forever(self) -> None:
        while True:
            try:
                await self.send_due_alerts()
            except Exception:
                log.exception("the alert pump failed; trying again")
            with suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), timeout=PUMP_EVERY)
            self._wake.clear()

    async def send_due_alerts(self) -> int:
        """Send every alert that is due; each is retried until Telegram has it. Returns how
        many were sent."""
        now = self.clock()
        async with self.app.sessions() as session:
            alerts = await db.lease_due_alerts(session, now=now, lease=SEND_LEASE)
            if not alerts:
                return 0
            ids = {a.case_id for a in alerts}
            cases = {
                c.id: c for c in await session.scalars(select(Case).where(col(Case.id).in_(ids)))
            }
            await session.commit()
        outcomes = await asyncio.gather(*(self._deliver(a, cases[a.case_id], now) for a in alerts))
        return sum(outcomes)

    async def _deliver(self, alert: CaseAlert, case: Case, now: dt.datetime) -> bool:
        """Send one alert and record what became of it. True if Telegram has it."""
        state, message_id = await self._send_alert(alert, case, now)
        values: dict[str, object] = {"state": state}
        if state == "pending":
            delay = min(MAX_BACKOFF, 2.0**alert.attempts)
            values["next_attempt"] = self.clock() + dt.timedelta(seconds=delay)
        elif state == "sent":
            values.update(message_id=message_id, sent=self.clock())
        async with self.app.sessions() as session:
            if state == "gone":
                await db.update_staff(session, telegram_id=alert.chat_id, blocked_at=self.clock())
            recorded = await session.execute(
                update(CaseAlert)
                .where(col(CaseAlert.id) == alert.id, col(CaseAlert.state) == "pending")
                .values(values)
            )
            late = state == "sent" and not db.changed(recorded)
            if late:  # taken (or closed) while this alert was on its way: update it too
                await session.execute(
                    update(CaseAlert)
                    .where(col(CaseAlert.id) == alert.id)
                    .values(message_id=message_id, sent=self.clock())
                )
                case = await session.get(Case, alert.case_id, populate_existing=True) or case
            await session.commit()
        if late:
            alert.message_id = message_id
            await self._mark_alerts(case, [alert])
        return state == "sent"

    async def _send_alert(
        self, alert: CaseAlert, case: Case, now: dt.datetime
    ) -> tuple[str, int | None]:
        if case.status != db.OPEN:
            return "done", None  # taken or closed before this alert went out
        assert self.bot is not None
        locale = self.staff_locale(alert.chat_id)
        waited = None
        if alert.round > 0:
            waited = max(1, int((now - db.utc(case.queued)).total_seconds() // 60))
        with self.speaking(locale):
            text = texts.alert_text(case, locale, self.timezone, waited)
            markup = kb.take_case(case.id)  # type: ignore[arg-type]
        try:
            with priority(Priority.CRISIS):
                sent = await self.bot.send_message(alert.chat_id, text, reply_markup=markup)
        except RecipientBlocked:
            log.warning("volunteer chat %s has blocked the bot: no alert for it", alert.chat_id)
            return "gone", None
        except Exception as error:
            log.warning("alert for case %s to chat %s failed (%s); will retry", case.id,
                        alert.chat_id, error)  # fmt: skip
            return "pending", None
        return "sent", sent.message_id

    # --- taking ------------------------------------------------------------------------------

    async def take(self, case_id: int, volunteer_id: int) -> tuple[bool, Case | None]:
        """The first volunteer to press wins (one conditional UPDATE). (won, the case)."""
        now = self.clock()
        async with self.app.sessions() as session:
            won = await db.claim_case(session, case_id=case_id, volunteer_id=volunteer_id, now=now)
            await session.commit()
            case = await session.get(Case, case_id)
            alerts = [  # those still asking someone to take it (not an earlier round's)
                a
                for a in (await db.alerts_of(session, case_id=case_id) if won else [])
                if a.state in ("pending", "sent")
            ]
            if won:
                await session.execute(
                    update(CaseAlert)
                    .where(
                        col(CaseAlert.case_id) == case_id,
                        col(CaseAlert.state).in_(["pending", "sent"]),
                    )
                    .values(state="done")
                )
                await session.commit()
        if not won or case is None:
            return False, case
        self.index.busy_volunteers.add(volunteer_id)
        alias = self.alias(volunteer_id)
        log.warning("case %s taken", case_id)
        await self._tell_resident(case, lambda: texts.resident_joined(alias))
        await self._mark_alerts(case, alerts)
        await self._brief_volunteer(case, volunteer_id)
        return True, case

    def alias(self, volunteer_id: int) -> str | None:
        member = self.index.staff.get(volunteer_id)
        return member.alias if member else None

    async def _mark_alerts(self, case: Case, alerts: list[CaseAlert]) -> None:
        """The alerts now say who took the case (or that it is no longer waiting); the
        taker's says it is theirs. None has a button left to press."""
        assert self.bot is not None
        alias = self.alias(case.volunteer_id) if case.volunteer_id else None

        async def mark(alert: CaseAlert) -> None:
            if alert.message_id is None:
                return
            locale = self.staff_locale(alert.chat_id)
            with self.speaking(locale):
                if case.volunteer_id is None:
                    note = texts.closed_note()
                else:
                    note = texts.taken_note(alias, by_reader=alert.chat_id == case.volunteer_id)
                text = "\n\n".join([texts.alert_text(case, locale, self.timezone), note])
            try:
                await self.bot.edit_message_text(  # type: ignore[union-attr]
                    text=text, chat_id=alert.chat_id, message_id=alert.message_id
                )
            except Exception as error:
                log.info("could not update the alert in chat %s: %s", alert.chat_id, error)

        await asyncio.gather(*(mark(a) for a in alerts))

    async def _brief_volunteer(self, case: Case, volunteer_id: int) -> None:
        """What the resident has said so far, and the controls."""
        assert case.id is not None
        async with self.app.sessions() as session:
            said = await db.transcript(session, case_id=case.id)
        locale = self.staff_locale(volunteer_id)
        with self.speaking(locale):
            header = texts.from_resident(case, locale)
            lines = [escape(case.text)] if case.text else []
            lines += [escape(m.text) for m in said if m.sender == "resident"]
            body = "\n\n".join([header, *lines]) if lines else header
            await self._send(volunteer_id, body[:4096], kb.case_controls(case.id))

    # --- the relay ---------------------------------------------------------------------------

    async def from_resident(self, message: Message, case_id: int) -> bool:
        """A resident's message in a case: kept, and passed to their volunteer if one has the
        case. False if the case is closed after all (the index was stale)."""
        now = self.clock()
        said = message.text or message.caption or ""
        async with self.app.sessions() as session:
            case = await session.get(Case, case_id)
            if case is None or case.status == db.CLOSED:
                self._forget_case(case_id)
                return False
            label = said or MEDIA_LABELS.get(
                getattr(message.content_type, "value", ""), "[message]"
            )
            if case.status == db.OPEN:
                await db.add_message(
                    session, case_id=case_id, sender="resident", text=label, now=now
                )
                await session.commit()
                await message.answer(texts.resident_waiting())
                return True
            volunteer = case.volunteer_id
            await session.commit()
        assert volunteer is not None
        locale = self.staff_locale(volunteer)
        with self.speaking(locale):
            header = texts.from_resident(case, locale)
            controls = kb.case_controls(case_id)
        relayed = await self._relay(message, volunteer, header, controls)
        async with self.app.sessions() as session:
            await db.add_message(session, case_id=case_id, sender="resident", text=label,
                                 now=now, relayed_id=relayed)  # fmt: skip
            await session.commit()
        return True

    async def from_volunteer(self, message: Message, volunteer_id: int) -> Case | None:
        """A volunteer's message: to the resident of the case it replies to, else of their
        most recently active case. None if they have no case."""
        now = self.clock()
        async with self.app.sessions() as session:
            case = None
            if message.reply_to_message is not None:
                case = await db.case_of_relayed(
                    session, volunteer_id=volunteer_id,
                    relayed_id=message.reply_to_message.message_id,
                )  # fmt: skip
            if case is None:
                mine = await db.cases_of_volunteer(session, volunteer_id=volunteer_id)
                case = mine[0] if mine else None
            if case is None or case.resident_id is None:
                self.index.busy_volunteers.discard(volunteer_id)
                return None
            await db.note_volunteer_answer(session, case_id=case.id, now=now)  # type: ignore[arg-type]
            await db.add_message(session, case_id=case.id, sender="volunteer", now=now,  # type: ignore[arg-type]
                                 text=message.text or message.caption or "[media]")  # fmt: skip
            await session.commit()
        with self.speaking(case.language):
            header = texts.from_volunteer(self.alias(volunteer_id))
        try:
            await self._relay(message, case.resident_id, header, None)
        except RecipientBlocked:
            await self.close(case.id, "no_reply", by_volunteer=None)  # type: ignore[arg-type]
            await message.answer(texts.volunteer_resident_gone(case))
        return case

    async def _relay(
        self, message: Message, to: int, header: str, markup: InlineKeyboardMarkup | None
    ) -> int:
        """Text goes as one message under a header; anything else is copied after it, so
        the sender's Telegram identity never shows. Returns the relayed message's id."""
        assert self.bot is not None
        with priority(Priority.CRISIS):
            if message.text is not None:
                body = escape(message.text)
                if len(header) + 1 + len(body) <= 4096:
                    return await self._send(to, f"{header}\n{body}", markup)
                await self._send(to, header, None)
                last = 0
                for start in range(0, len(message.text), 3500):  # UTF-16 units, not characters
                    sent = await self.bot.send_message(
                        to, message.text[start : start + 3500], parse_mode=None,
                        reply_markup=markup,
                    )  # fmt: skip
                    last = sent.message_id
                return last
            await self._send(to, header, None)
            copied = await self.bot.copy_message(
                chat_id=to, from_chat_id=message.chat.id, message_id=message.message_id,
                reply_markup=markup,
            )  # fmt: skip
            return copied.message_id

    async def _send(self, chat_id: int, text: str, markup: InlineKeyboardMarkup | None) -> int:
        assert self.bot is not None
        with priority(Priority.CRISIS):
            sent = await self.bot.send_message(chat_id, text, reply_markup=markup)
        return sent.message_id

    async def _tell_resident(
        self,
        case: Case,
        make: Callable[[], str],
        buttons: Callable[[], InlineKeyboardMarkup] | None = None,
    ) -> None:
        """A message to the case's resident, written by `make` in their language."""
        if case.resident_id is None:
            return
        with self.speaking(case.language):
            text, markup = make(), buttons() if buttons is not None else None
        try:
            await self._send(case.resident_id, text, markup)
        except Exception as error:
            log.warning("could not tell the resident of case %s: %s", case.id, error)

    # --- handing back, notes, closing --------------------------------------------------------

    async def hand_back(self, case_id: int, volunteer_id: int, *, silent: bool = False) -> bool:
        now = self.clock()
        async with self.app.sessions() as session:
            if not await db.requeue_case(
                session, case_id=case_id, volunteer_id=volunteer_id, now=now
            ):
                return False
            recipients = await db.alert_recipients(
                session, everyone=silent, group=self.settings.volunteer_chat_id
            )
            recipients = [r for r in recipients if r != volunteer_id]
            await db.queue_alerts(session, case_id=case_id, chat_ids=recipients, round=1, now=now)
            await session.commit()
            case = await session.get(Case, case_id)
        await self._volunteer_has_no_case(volunteer_id)
        self._wake.set()
        if case is not None:
            await self._tell_resident(
                case, lambda: texts.resident_handed_back(self.alias(volunteer_id))
            )
        return True

    async def add_note(self, case_id: int, volunteer_id: int, note: str) -> bool:
        async with self.app.sessions() as session:
            case = await session.get(Case, case_id)
            if case is None or case.volunteer_id != volunteer_id or case.status != db.TAKEN:
                return False
            await db.add_message(
                session, case_id=case_id, sender="note", text=note, now=self.clock()
            )
            await session.commit()
        return True

    async def close(self, case_id: int, outcome: str, *, by_volunteer: int | None) -> Case | None:
        """Close the case (by its volunteer, or by the resident with `by_volunteer` None) and
        send the resident the closing message with the crisis lines. None if it was not open."""
        async with self.app.sessions() as session:
            closed = await db.close_case(
                session,
                case_id=case_id,
                outcome=outcome,
                now=self.clock(),
                volunteer_id=by_volunteer,
            )
            await session.commit()
            case = await session.get(Case, case_id) if closed else None
            waiting = [a for a in await db.alerts_of(session, case_id=case_id) if a.state == "sent"]
            await session.execute(
                update(CaseAlert).where(col(CaseAlert.case_id) == case_id).values(state="done")
            )
            await session.commit()
        if case is None:
            return None
        if case.volunteer_id is None:  # closed before anyone took it: the alerts say so
            await self._mark_alerts(case, waiting)
        self._forget_case(case_id, case.resident_id)
        if case.volunteer_id is not None:
            await self._volunteer_has_no_case(case.volunteer_id)
        if outcome != "ended":
            await self._tell_resident(
                case, lambda: texts.resident_closed(case.language), kb.offer_checkins
            )
        log.warning("case %s closed (%s)", case_id, outcome)
        return case

    def _forget_case(self, case_id: int, resident_id: int | None = None) -> None:
        for resident, case in list(self.index.resident_cases.items()):
            if case == case_id or resident == resident_id:
                del self.index.resident_cases[resident]

    async def _volunteer_has_no_case(self, volunteer_id: int) -> None:
        async with self.app.sessions() as session:
            if not await db.cases_of_volunteer(session, volunteer_id=volunteer_id):
                self.index.busy_volunteers.discard(volunteer_id)

    # --- timers (APScheduler calls these; the database says what is due) --------------------

    async def run_timers(self) -> None:
        now = self.clock()
        s = self.settings
        async with self.app.sessions() as session:
            realert = await db.cases_waiting_since(
                session, before=now - dt.timedelta(minutes=s.realert_minutes), unset="realerted"
            )
            tell = await db.cases_waiting_since(
                session, before=now - dt.timedelta(minutes=s.no_volunteer_minutes),
                unset="resident_told_wait",
            )  # fmt: skip
            remind = await db.silent_cases(
                session, before=now - dt.timedelta(minutes=s.volunteer_silence_minutes),
                reminded=False,
            )  # fmt: skip
            requeue = await db.silent_cases(
                session, before=now - dt.timedelta(minutes=s.requeue_minutes), reminded=True
            )
        for case in realert:
            await self._realert(case, now)
        for case in tell:
            if await self._once(case, "resident_told_wait", now, db.OPEN):
                await self._tell_resident(
                    case, functools.partial(texts.resident_no_volunteer, case.language)
                )
        for case in remind:
            if await self._once(case, "reminded", now, db.TAKEN) and case.volunteer_id:
                locale = self.staff_locale(case.volunteer_id)
                minutes = round(s.volunteer_silence_minutes)
                with self.speaking(locale):
                    text = texts.volunteer_reminder(case, minutes)
                    controls = kb.case_controls(case.id)  # type: ignore[arg-type]
                await self._send_quietly(case.volunteer_id, text, controls)
        for case in requeue:
            if case.volunteer_id and await self.hand_back(case.id, case.volunteer_id, silent=True):  # type: ignore[arg-type]
                with self.speaking(self.staff_locale(case.volunteer_id)):
                    text = texts.volunteer_lost_case(case)
                await self._send_quietly(case.volunteer_id, text, None)

    async def _once(self, case: Case, timer: str, now: dt.datetime, status: str) -> bool:
        async with self.app.sessions() as session:
            done = await db.mark_once(session, case_id=case.id, field=timer, now=now, status=status)  # type: ignore[arg-type]
            await session.commit()
        return done

    async def _realert(self, case: Case, now: dt.datetime) -> None:
        async with self.app.sessions() as session:
            if not await db.mark_once(session, case_id=case.id, field="realerted", now=now,  # type: ignore[arg-type]
                                      status=db.OPEN):  # fmt: skip
                return
            recipients = await db.alert_recipients(
                session, everyone=True, group=self.settings.volunteer_chat_id
            )
            await db.queue_alerts(session, case_id=case.id, chat_ids=recipients, round=1, now=now)  # type: ignore[arg-type]
            await session.commit()
        log.warning("case %s still unclaimed: alerting everyone again", case.id)
        self._wake.set()

    async def _send_quietly(
        self, chat_id: int, text: str, markup: InlineKeyboardMarkup | None
    ) -> None:
        try:
            await self._send(chat_id, text, markup)
        except Exception as error:
            log.warning("could not send to chat %s: %s", chat_id, error)

    async def purge_transcripts(self) -> int:
        before = self.clock() - dt.timedelta(days=self.settings.transcript_days)
        async with self.app.sessions() as session:
            gone = await db.purge_transcripts(session, before=before)
            await session.commit()
        if gone:
            log.info("deleted %d transcript messages older than %s days", gone,
                     self.settings.transcript_days)  # fmt: skip
        return gone

    async def forget_resident(self, resident_id: int) -> None:
        """/forget: close their open case, then delete what was said in all their cases."""
        case_id = self.index.resident_cases.get(resident_id)
        async with self.app.sessions() as session:
            case = await db.open_case_of(session, resident_id=resident_id)
        if case is not None or case_id is not None:
            closed = await self.close(case.id if case else case_id, "ended", by_volunteer=None)  # type: ignore[arg-type]
            if closed is not None and closed.volunteer_id is not None:
                await self._notify_volunteer_ended(closed)
        async with self.app.sessions() as session:
            await db.forget_cases(session, resident_id=resident_id)
            await session.commit()

    async def end_by_resident(self, resident_id: int) -> Case | None:
        case_id = self.index.resident_cases.get(resident_id)
        if case_id is None:
            async with self.app.sessions() as session:
                case = await db.open_case_of(session, resident_id=resident_id)
            case_id = case.id if case else None
        if case_id is None:
            return None
        closed = await self.close(case_id, "ended", by_volunteer=None)
        if closed is not None and closed.volunteer_id is not None:
            await self._notify_volunteer_ended(closed)
        return closed

    async def _notify_volunteer_ended(self, case: Case) -> None:
        assert case.volunteer_id is not None
        with self.speaking(self.staff_locale(case.volunteer_id)):
            text = texts.volunteer_resident_ended(case)
        await self._send_quietly(case.volunteer_id, text, None)
