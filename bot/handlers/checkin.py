"""Check-ins the resident controls: /checkin to opt in, change, pause or stop; the answers to
a nudge; /mood to see (and delete) what they answered."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from aiogram import Bot, Router
from aiogram.filters import Command, StateFilter
from aiogram.fsm.context import FSMContext
from aiogram.fsm.state import State, StatesGroup
from aiogram.types import CallbackQuery, Message, TelegramObject

from bot import keyboards as kb
from bot.cards import render_card
from bot.cases.service import Escalations
from bot.catalogue.model import Resource
from bot.checkins import texts
from bot.checkins.schedule import (
    FREQUENCIES,
    PARTS_OF_DAY,
    ZONES,
    is_quiet,
    parse_time,
    time_in_window,
)
from bot.checkins.service import CheckIns
from bot.core import Tapestry
from bot.db import checkins as db
from bot.db.cases import utc
from bot.handlers.filters import HasText, LooksLikeCommand
from bot.handlers.search import offer_someone_to_talk, question
from bot.safety.detector import Assessment

PAUSE = dt.timedelta(days=7)
MOOD_WEEKS = 8
ACTIVITY_SOON = dt.timedelta(hours=36)  # a community activity this soon is worth mentioning
ACTIVITY_CATEGORIES = ("peer-support", "loneliness")


class CheckinForm(StatesGroup):
    exact_time = State()  # they chose "at a time I choose" and are typing it


@dataclass
class Step:
    """One press of a /checkin button, with what the step needs."""

    message: Message
    app: Tapestry
    locale: str
    state: FSMContext
    user: int
    value: str
    now: dt.datetime


# --- /checkin --------------------------------------------------------------------------------


async def checkin_command(
    message: Message, app: Tapestry, locale: str, state: FSMContext, checkins: CheckIns
) -> None:
    await state.set_state(None)
    await _show_settings_or_start(message, app, locale, message.chat.id, checkins.clock())


async def _show_settings_or_start(
    message: Message, app: Tapestry, locale: str, user: int, now: dt.datetime
) -> None:
    async with app.sessions() as session:
        row = await db.get_checkin(session, user)
    if row is None:
        await message.answer(texts.intro(), reply_markup=kb.checkin_frequency())
        return
    paused = utc(row.paused_until) if row.paused_until is not None else None
    if paused is not None and paused <= now:
        paused = None  # the week is over
    await message.answer(
        texts.summary(db.plan_of(row), utc(row.next_due), paused, locale),
        reply_markup=kb.checkin_settings(paused=paused is not None),
    )


async def checkin_step(
    query: CallbackQuery,
    callback_data: kb.CheckinStep,
    app: Tapestry,
    locale: str,
    state: FSMContext,
    checkins: CheckIns,
) -> None:
    message = query.message
    if not isinstance(message, Message):
        await query.answer()
        return
    act = _STEPS.get(callback_data.action)
    if act is None:
        await query.answer(texts.start_again())
        return
    await query.answer()
    user, value = query.from_user.id, callback_data.value
    await act(Step(message, app, locale, state, user, value, checkins.clock()))


async def _start(step: Step) -> None:
    await step.state.set_state(None)
    await _show_settings_or_start(step.message, step.app, step.locale, step.user, step.now)


async def _change(step: Step) -> None:
    await step.state.set_state(None)
    await step.message.answer(texts.intro(), reply_markup=kb.checkin_frequency())


async def _frequency(step: Step) -> None:
    if step.value not in FREQUENCIES:
        await _restart(step.message)
        return
    await step.state.update_data(checkin={"frequency": step.value})
    await step.message.answer(texts.ask_part_of_day(), reply_markup=kb.checkin_part_of_day())


async def _part_of_day(step: Step) -> None:
    choice = (await step.state.get_data()).get("checkin")
    if step.value not in (*PARTS_OF_DAY, "exact") or not choice:
        await _restart(step.message)
        return
    if step.value == "exact":
        await step.state.set_state(CheckinForm.exact_time)
        await step.message.answer(texts.ask_exact_time(), reply_markup=kb.checkin_cancel())
        return
    at = time_in_window(step.value, step.user)
    await step.state.update_data(
        checkin={**choice, "part": step.value, "at": at.isoformat("minutes")}
    )
    await _ask_zone(step.message, step.locale, step.now)


async def exact_time(
    message: Message,
    app: Tapestry,
    state: FSMContext,
    locale: str,
    checkins: CheckIns,
    assessment: Assessment | None = None,
) -> None:
    """The time they typed, while the bot waits for one."""
    at = parse_time(message.text or "")
    choice = (await state.get_data()).get("checkin")
    if at is None and assessment is not None and assessment.concern:
        await state.set_state(None)  # not a time at all: what they wrote matters more
        await question(message, app, locale, state, assessment)
        return
    if not choice:
        await state.set_state(None)
        await _restart(message)
    elif at is None:
        await message.answer(texts.time_not_understood(), reply_markup=kb.checkin_cancel())
    elif is_quiet(at):
        await message.answer(texts.time_is_quiet(), reply_markup=kb.checkin_cancel())
    else:
        await state.set_state(None)
        await state.update_data(checkin={**choice, "part": "exact", "at": at.isoformat("minutes")})
        await _ask_zone(message, locale, checkins.clock())


async def _ask_zone(message: Message, locale: str, now: dt.datetime) -> None:
    labels = [texts.zone_label(zone, now, locale) for zone in ZONES]
    await message.answer(texts.ask_zone(), reply_markup=kb.checkin_zones(labels))


async def _zone(step: Step) -> None:
    choice = (await step.state.get_data()).get("checkin") or {}
    if not step.value.isdigit() or int(step.value) >= len(ZONES) or "at" not in choice:
        await _restart(step.message)
        return
    async with step.app.sessions() as session:
        row = await db.save_checkin(
            session, resident_id=step.user, frequency=choice["frequency"],
            time_of_day=choice["part"], at=dt.time.fromisoformat(choice["at"]),
            timezone=ZONES[int(step.value)], language=step.locale, now=step.now,
        )  # fmt: skip
        plan, next_due = db.plan_of(row), row.next_due
        await session.commit()
    await step.state.update_data(checkin=None)
    await step.message.answer(texts.saved(plan, next_due, step.locale))


async def _pause(step: Step) -> None:
    async with step.app.sessions() as session:
        row = await db.pause_checkin(
            session, resident_id=step.user, until=step.now + PAUSE, now=step.now
        )
        await session.commit()
    await step.message.answer(texts.paused() if row is not None else texts.already_off())


async def _resume(step: Step) -> None:
    async with step.app.sessions() as session:
        row = await db.pause_checkin(session, resident_id=step.user, until=None, now=step.now)
        await session.commit()
    await step.message.answer(texts.resumed() if row is not None else texts.already_off())


async def _stop(step: Step) -> None:
    await step.state.set_state(None)
    async with step.app.sessions() as session:
        stopped = await db.stop_checkin(session, resident_id=step.user)
        await session.commit()
    await step.message.answer(texts.stopped() if stopped else texts.already_off())


async def _cancel(step: Step) -> None:
    await step.state.set_state(None)
    await step.state.update_data(checkin=None)
    await step.message.answer(texts.not_now())


async def cancel_command(message: Message, state: FSMContext) -> None:
    await state.set_state(None)
    await state.update_data(checkin=None)
    await message.answer(texts.not_now())


async def _restart(message: Message) -> None:
    await message.answer(texts.start_again())
    await message.answer(texts.intro(), reply_markup=kb.checkin_frequency())


_STEPS: dict[str, Callable[[Step], Awaitable[None]]] = {
    "start": _start, "change": _change, "freq": _frequency, "when": _part_of_day,
    "zone": _zone, "pause": _pause, "resume": _resume, "stop": _stop, "cancel": _cancel,
}  # fmt: skip


# --- answers to a nudge ----------------------------------------------------------------------


async def nudge_answer(
    query: CallbackQuery,
    callback_data: kb.NudgeAnswer,
    app: Tapestry,
    locale: str,
    state: FSMContext,
    escalations: Escalations,
    checkins: CheckIns,
) -> None:
    message = query.message
    user = query.from_user.id
    answer = callback_data.answer
    now = checkins.clock()
    if answer == "stop":
        await query.answer()
        if isinstance(message, Message):
            await _stop(Step(message, app, locale, state, user, "", now))
        return
    score = int(answer) if answer in ("1", "2", "3", "4", "5") else None
    if (answer != "talk" and score is None) or not isinstance(message, Message):
        await query.answer(texts.start_again())
        return
    async with app.sessions() as session:
        row = await db.get_checkin(session, user)
        if row is not None and row.nudge_message_id == message.message_id:  # the latest one
            first = await db.mark_answered(  # one mood a nudge; "talk" whenever they like
                session, resident_id=user, message_id=message.message_id,
                unanswered_only=score is not None,
            )  # fmt: skip
            if not first:
                await query.answer(texts.already_answered())
                return
        if score is not None:
            await db.record_mood(session, resident_id=user, score=score, now=now)
        await session.commit()
    await query.answer()
    if score is None:
        await offer_someone_to_talk(message, app, locale, escalations)
        return
    await message.edit_text(texts.nudge_answered(score), reply_markup=None)
    if score >= 4:
        await _encourage(message, app, locale, now)
    elif score == 3:
        await message.answer(texts.mood_okay(), reply_markup=kb.back_to_topics())
    else:
        await message.answer(
            texts.mood_low(), reply_markup=kb.after_low_mood(escalations.has_volunteers())
        )


async def _encourage(message: Message, app: Tapestry, locale: str, at: dt.datetime) -> None:
    """A good answer: a few warm words and, where one opens soon, a community activity."""
    searcher = app.searcher
    now = at.astimezone(searcher.timezone)
    soonest: tuple[dt.datetime, Resource] | None = None
    for category in ACTIVITY_CATEGORIES:
        for match in searcher.browse(category, language=locale, limit=10, now=now):
            resource = match.resource
            if searcher.is_open(resource, now):
                opens: dt.datetime | None = now
            else:
                opens = searcher.next_opening(resource, now)
            if (
                opens is not None
                and opens - now <= ACTIVITY_SOON
                and (soonest is None or opens < soonest[0])
            ):
                soonest = (opens, resource)
    parts = [texts.mood_good()]
    if soonest is not None:
        parts += [texts.activity_heading(), render_card(soonest[1], searcher, now, locale)]
    await message.answer("\n\n".join(parts), disable_web_page_preview=True)


async def mark_reply_to_nudge(
    handler: Callable[[TelegramObject, dict[str, Any]], Awaitable[Any]],
    event: TelegramObject,
    data: dict[str, Any],
) -> Any:
    """A message written in reply to a nudge answers it too. Marked after it is handled, so
    that a crisis written in reply is answered first."""
    result = await handler(event, data)
    if isinstance(event, Message) and event.reply_to_message is not None:
        replied = event.reply_to_message
        bot: Bot | None = data.get("bot")
        if bot is not None and replied.from_user is not None and replied.from_user.id == bot.id:
            app: Tapestry = data["app"]
            async with app.sessions() as session:
                await db.mark_answered(
                    session, resident_id=event.chat.id, message_id=replied.message_id
                )
                await session.commit()
    return result


# --- /mood -----------------------------------------------------------------------------------


async def mood_command(message: Message, app: Tapestry, locale: str, checkins: CheckIns) -> None:
    now = checkins.clock()
    since = now - dt.timedelta(weeks=MOOD_WEEKS)
    async with app.sessions() as session:
        moods = await db.moods_since(session, resident_id=message.chat.id, since=since)
    weeks: dict[dt.date, list[int]] = defaultdict(list)
    zone = app.searcher.timezone
    for mood in moods:
        day = utc(mood.created).astimezone(zone).date()
        weeks[day - dt.timedelta(days=day.weekday())].append(mood.score)
    rows = [(monday, sum(s) / len(s), len(s)) for monday, s in sorted(weeks.items())]
    if not rows:
        async with app.sessions() as session:
            opted_in = await db.get_checkin(session, message.chat.id) is not None
        await message.answer(
            texts.no_moods(), reply_markup=None if opted_in else kb.offer_checkins()
        )
        return
    await message.answer(texts.mood_chart(rows, locale), reply_markup=kb.mood_history())


async def mood_history(query: CallbackQuery, callback_data: kb.MoodHistory, app: Tapestry) -> None:
    await query.answer()
    message = query.message
    if not isinstance(message, Message):
        return
    if callback_data.action == "delete":
        await message.answer(texts.confirm_delete_moods(), reply_markup=kb.confirm_delete_moods())
    elif callback_data.action == "confirm":
        async with app.sessions() as session:
            await db.delete_moods(session, resident_id=query.from_user.id)
            await session.commit()
        await message.edit_text(texts.moods_deleted(), reply_markup=None)
    else:
        await message.edit_text(texts.moods_kept(), reply_markup=None)


def make_router() -> Router:
    router = Router(name="checkin")
    router.message.register(checkin_command, Command("checkin"))
    router.message.register(mood_command, Command("mood"))
    router.message.register(cancel_command, Command("cancel"), StateFilter(CheckinForm.exact_time))
    router.message.register(
        exact_time, StateFilter(CheckinForm.exact_time), HasText(), ~LooksLikeCommand()
    )
    router.callback_query.register(checkin_step, kb.CheckinStep.filter())
    router.callback_query.register(nudge_answer, kb.NudgeAnswer.filter())
    router.callback_query.register(mood_history, kb.MoodHistory.filter())
    return router
