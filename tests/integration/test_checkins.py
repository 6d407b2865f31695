"""Check-ins, in-process: the real dispatcher, database and translations, the in-process Bot
API, and a clock the test moves. Assertions are on what the resident sees."""

from __future__ import annotations

import asyncio
import dataclasses
import datetime as dt
import itertools
import shutil
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from aiogram.exceptions import TelegramBadRequest, TelegramForbiddenError
from aiogram.methods import EditMessageText, SendMessage
from aiogram.types import Message
from sqlalchemy import func, select
from sqlmodel import col

from bot.checkins.service import CheckIns
from bot.config import Settings
from bot.core import Tapestry
from bot.db import checkins as db
from bot.db.cases import utc
from bot.db.engine import make_engine, make_session_factory
from bot.db.tables import Case, CheckIn, Mood
from bot.shell import buttons_of, plain
from tests.conftest import _crisis, _detective
from tests.integration.test_cases import Clock
from tests.integration.test_handlers import Chat_, Resident_, _seeded_database, translated

VOLUNTEER = 901
# Tuesday 24 November 2026, 03:00 UTC (GMT in London).
START = dt.datetime(2026, 11, 24, 3, 0, tzinfo=dt.UTC)
NUDGE = "Hello 👋 Just checking in. How are you feeling today?"
INTRO = (
    "I can check in with you now and then: a short message asking how you are, which you "
    "answer with one tap. It can help to have someone ask.\n\n"
    "You choose how often and when. Nothing is sent at night, and you can pause or stop at any "
    "time.\n\n<b>How often would you like me to check in?</b>"
)
MOODS = [("😞", "Very low"), ("🙁", "Low"), ("😐", "Okay"), ("🙂", "Good"), ("😄", "Very good")]


def _mood(language: str, score: int) -> str:
    """A mood button's label: its emoji and the word in the resident's language."""
    emoji, word = MOODS[score - 1]
    return f"{emoji} {translated(language, word) if language != 'en' else word}"


@dataclasses.dataclass
class Town:
    chat: Chat_
    checkins: CheckIns
    clock: Clock

    @property
    def app(self) -> Tapestry:
        return self.chat.app

    def nudges_to(self, resident: int, language: str = "en") -> list[Message]:
        text = translated(language, NUDGE) if language != "en" else NUDGE
        return [
            m for m in self.chat.session.messages.values()
            if m.chat.id == resident and m.text == text
        ]  # fmt: skip

    async def send_due_at(self, moment: dt.datetime) -> int:
        self.clock.now = moment
        return await self.checkins.send_due()

    async def next_due(self, resident: int) -> dt.datetime:
        async with self.app.sessions() as session:
            row = await db.get_checkin(session, resident)
        assert row is not None
        return utc(row.next_due)


def _town(app: Tapestry) -> Town:
    chat = Chat_(app)
    clock = Clock()
    clock.now = START
    checkins: CheckIns = chat.dispatcher["checkins"]
    checkins.clock = clock
    checkins.attach(chat.bot)
    escalations = chat.dispatcher["escalations"]
    escalations.clock = clock
    escalations.attach(chat.bot)
    return Town(chat, checkins, clock)


@pytest.fixture
async def town(tmp_path: Path) -> AsyncIterator[Town]:
    seed, searcher = await asyncio.to_thread(_seeded_database)
    shutil.copy(seed, tmp_path / "bot.sqlite3")
    settings = Settings(
        database_url=f"sqlite+aiosqlite:///{tmp_path / 'bot.sqlite3'}", volunteer_ids=(VOLUNTEER,)
    )
    engine = make_engine(settings.database_url)
    app = Tapestry(
        settings, engine, make_session_factory(engine), _detective(), _crisis(), searcher
    )
    town = _town(app)
    await town.chat.dispatcher["escalations"].seed_roles()
    yield town
    await engine.dispose()


async def _opt_in(
    resident: Resident_,
    language: str,
    frequency: str,
    when: str,
    zone: int = 0,
    exact: str | None = None,
) -> SendMessage:
    """/checkin, then the buttons: how often, when (and the `exact` time typed), which zone.
    Returns the confirmation."""
    t = (lambda text: translated(language, text)) if language != "en" else (lambda text: text)
    [intro] = await resident.send("/checkin")
    assert intro.text == t(INTRO)
    [ask_when] = await resident.press(intro, t(frequency))
    assert ask_when.text == t("<b>When would you like to hear from me?</b>")
    [ask_zone] = await resident.press(ask_when, t(when))
    if exact is not None:
        [ask_zone] = await resident.send(exact)
    assert ask_zone.text == t("<b>Which time zone are you in?</b> Most people here use UK time.")
    zones = buttons_of(ask_zone.reply_markup)
    [done] = await resident.press(ask_zone, zones[zone][0])
    assert t("Thank you. Check-ins are on.") in done.text
    return done


async def test_a_polish_resident_opts_in_and_hears_from_the_bot_once_at_their_time(
    town: Town,
) -> None:
    resident = town.chat.resident(user_id=21, language_code="pl")
    done = await _opt_in(resident, "pl", "Every day", "In the morning")
    due = await town.next_due(21)
    local = due.astimezone(dt.UTC)  # London is on GMT in November
    assert dt.time(9, 30) <= local.time() <= dt.time(11, 30)
    assert f"{local:%H:%M}" in plain(done.text)

    assert await town.send_due_at(due - dt.timedelta(minutes=1)) == 0
    assert await town.send_due_at(due + dt.timedelta(seconds=5)) == 1
    [nudge] = town.nudges_to(21, "pl")
    labels = [label for label, _ in buttons_of(nudge.reply_markup)]
    assert labels == [_mood("pl", score) for score in range(1, 6)] + [
        translated("pl", "💬 Talk to someone"), translated("pl", "🔕 Stop check-ins"),
    ]  # fmt: skip
    assert await town.send_due_at(due + dt.timedelta(minutes=5)) == 0  # once, not again
    assert await town.next_due(21) == due + dt.timedelta(days=1)


async def test_nothing_is_sent_to_anyone_who_has_not_opted_in(town: Town) -> None:
    for user in (31, 32, 33):
        await town.chat.resident(user_id=user).send("I need a food bank")
    [intro] = await town.chat.resident(user_id=34).send("/checkin")
    await town.chat.resident(user_id=34).press(intro, "Not now")
    before = len(town.chat.session.sent)
    for hour in range(0, 24 * 8, 3):
        assert await town.send_due_at(START + dt.timedelta(hours=hour)) == 0
    assert town.chat.session.sent[before:] == []


async def test_a_good_answer_is_encouraged_with_something_open_soon(town: Town) -> None:
    resident = town.chat.resident(user_id=22)
    await _opt_in(resident, "en", "Every day", "In the afternoon")
    await town.send_due_at(await town.next_due(22) + dt.timedelta(seconds=1))
    [nudge] = town.nudges_to(22)
    [reply] = await resident.press(nudge, "🙂 Good")
    assert reply.text.startswith("That's really good to hear. Thank you for telling me.")
    assert "If you fancy some company, this is open soon:" in reply.text
    [edit] = [m for m in town.chat.session.sent if isinstance(m, EditMessageText)]
    assert edit.text == f"{NUDGE}\n\nYou answered: 🙂 Good" and edit.reply_markup is None
    again = await resident.press(nudge, "😄 Very good")  # a second press: one mood a nudge
    assert again == [] and resident.answers()[-1].text == "Thank you, you have already told me."
    async with town.app.sessions() as session:
        scores = (await session.scalars(select(col(Mood.score)))).all()
    assert scores == [4]


async def test_a_low_answer_offers_topics_peer_support_and_a_volunteer(town: Town) -> None:
    resident = town.chat.resident(user_id=23, language_code="ar")
    await _opt_in(resident, "ar", "Twice a week", "In the evening")
    await town.send_due_at(await town.next_due(23) + dt.timedelta(seconds=1))
    [nudge] = town.nudges_to(23, "ar")
    [reply] = await resident.press(nudge, _mood("ar", 1))
    assert reply.text == translated(
        "ar",
        "I'm sorry today is hard. Thank you for telling me: you don't have to manage it on "
        "your own. Would any of these help?",
    )
    assert [label for label, _ in buttons_of(reply.reply_markup)] == [
        translated("ar", "🧭 Find help by topic"), translated("ar", "🤝 Peer support groups"),
        translated("ar", "💬 Talk to a volunteer"),
    ]  # fmt: skip
    peer = await resident.press(reply, translated("ar", "🤝 Peer support groups"))
    assert peer and "<b>" in peer[0].text  # cards of peer-support groups


async def test_talk_to_someone_gives_the_samaritans_and_a_volunteer(town: Town) -> None:
    resident = town.chat.resident(user_id=24)
    await _opt_in(resident, "en", "Once a week", "In the morning")
    await town.send_due_at(await town.next_due(24) + dt.timedelta(seconds=1))
    [nudge] = town.nudges_to(24)
    replies = await resident.press(nudge, "💬 Talk to someone")
    assert "116 123" in replies[0].text
    assert "💬 Talk to a volunteer" in [label for label, _ in buttons_of(replies[0].reply_markup)]
    async with town.app.sessions() as session:
        row = await db.get_checkin(session, 24)
    assert row is not None and row.answered


async def test_a_crisis_written_in_reply_to_a_nudge_starts_the_crisis_flow(town: Town) -> None:
    resident = town.chat.resident(user_id=25)
    await _opt_in(resident, "en", "Every day", "In the morning")
    await town.send_due_at(await town.next_due(25) + dt.timedelta(seconds=1))
    [nudge] = town.nudges_to(25)
    replies = await resident.send("I want to end my life", reply_to_message=nudge)
    assert "116 123" in replies[0].text and "999" in replies[0].text
    async with town.app.sessions() as session:
        case = (await session.scalars(select(Case))).one()
        row = await db.get_checkin(session, 25)
    assert (case.resident_id, case.reason, case.status) == (25, "crisis", "open")
    assert row is not None and row.answered  # a reply answers the nudge


async def test_the_stop_button_on_a_nudge_stops_them_at_once(town: Town) -> None:
    resident = town.chat.resident(user_id=26, language_code="uk")
    await _opt_in(resident, "uk", "Every day", "In the morning")
    due = await town.next_due(26)
    await town.send_due_at(due + dt.timedelta(seconds=1))
    [nudge] = town.nudges_to(26, "uk")
    [reply] = await resident.press(nudge, translated("uk", "🔕 Stop check-ins"))
    assert reply.text == translated(
        "uk",
        "Check-ins are off, and I won't send any more. If you'd like them again, just send "
        "/checkin.",
    )
    for day in range(1, 8):
        assert await town.send_due_at(due + dt.timedelta(days=day, seconds=1)) == 0
    [again] = await resident.press(nudge, translated("uk", "🔕 Stop check-ins"))
    assert again.text == translated(
        "uk", "Check-ins are already off. Send /checkin if you'd like them again."
    )


async def test_a_resident_who_blocked_the_bot_gets_no_more_check_ins(town: Town) -> None:
    resident = town.chat.resident(user_id=27)
    await _opt_in(resident, "en", "Every day", "In the morning")
    due = await town.next_due(27)
    blocked = TelegramForbiddenError(method=None, message="Forbidden: bot was blocked by the user")  # type: ignore[arg-type]
    town.chat.session.add_result(blocked)
    assert await town.send_due_at(due + dt.timedelta(seconds=1)) == 0
    async with town.app.sessions() as session:
        assert await db.get_checkin(session, 27) is None
    before = len(town.chat.session.sent)
    assert await town.send_due_at(due + dt.timedelta(days=1, seconds=1)) == 0
    assert town.chat.session.sent[before:] == []


async def test_after_a_restart_a_late_nudge_is_sent_once_and_a_very_late_one_skipped(
    town: Town,
) -> None:
    early, late = town.chat.resident(user_id=28), town.chat.resident(user_id=29)
    await _opt_in(early, "en", "Every day", "In the morning")
    await _opt_in(late, "en", "Every day", "In the evening")
    morning, evening = await town.next_due(28), await town.next_due(29)
    # The bot is down from before the morning slot until 40 minutes after it...
    restarted = _town(town.app)  # a new process: new dispatcher, same database
    assert await restarted.send_due_at(morning + dt.timedelta(minutes=40)) == 1
    assert len(restarted.nudges_to(28)) == 1
    # ... and down again from before the evening slot until 2 hours after it: skipped.
    again = _town(town.app)
    assert await again.send_due_at(evening + dt.timedelta(hours=2)) == 0
    assert await again.next_due(29) == evening + dt.timedelta(days=1)
    assert town.nudges_to(28) == town.nudges_to(29) == again.nudges_to(29) == []


async def test_check_ins_keep_their_local_time_across_the_clocks_going_forward(
    town: Town,
) -> None:
    resident = town.chat.resident(user_id=30)
    town.clock.now = dt.datetime(2027, 3, 26, 12, 0, tzinfo=dt.UTC)  # Friday, GMT
    [intro] = await resident.send("/checkin")
    [ask_when] = await resident.press(intro, "Every day")
    [ask_time] = await resident.press(ask_when, "At a time I choose")
    [ask_zone] = await resident.send("10:00")
    await resident.press(ask_zone, buttons_of(ask_zone.reply_markup)[0][0])
    sent_at = []
    for _ in range(4):  # Sat, Sun (BST from 01:00 GMT), Mon, Tue
        due = await town.next_due(30)
        assert await town.send_due_at(due + dt.timedelta(seconds=1)) == 1
        sent_at.append(due)
    assert [f"{d:%a %H:%M}" for d in sent_at] == ["Sat 10:00", "Sun 09:00", "Mon 09:00",
                                                  "Tue 09:00"]  # UTC  # fmt: skip
    assert ask_time.text.startswith("Please write the time you would like")


async def test_an_exact_time_is_checked_and_a_worry_is_not_taken_for_a_time(town: Town) -> None:
    resident = town.chat.resident(user_id=35)
    [intro] = await resident.send("/checkin")
    [ask_when] = await resident.press(intro, "Twice a week")
    await resident.press(ask_when, "At a time I choose")
    [quiet] = await resident.send("23:30")
    assert quiet.text.startswith("I don't send check-ins between 22:00 and 08:00")
    [unclear] = await resident.send("half past nine")
    assert unclear.text.startswith("I couldn't read that as a time.")
    [worry] = await resident.send("I feel so hopeless and alone")
    assert worry.text.startswith("I'm sorry things feel so hard right now.")
    [search] = await resident.send("18:45")  # the question was dropped: now just a message
    assert "Which time zone" not in search.text


async def test_three_unanswered_nudges_bring_one_gentle_message_then_fewer(town: Town) -> None:
    resident = town.chat.resident(user_id=36)
    await _opt_in(resident, "en", "Every day", "In the morning")
    days = []
    for _ in range(6):
        due = await town.next_due(36)
        await town.send_due_at(due + dt.timedelta(seconds=1))
        days.append(due.date())
    texts = [plain(m.text) for m in town.chat.sent_to(36)[-6:]]
    assert texts[:3] == [NUDGE] * 3
    assert texts[3].startswith("I haven't heard from you for a little while")
    assert texts[4:] == [NUDGE] * 2
    gaps = [(b - a).days for a, b in itertools.pairwise(days)]
    assert gaps == [1, 1, 1, 2, 2]
    [summary] = await resident.send("/checkin")
    assert "For now I check in half as often, as I hadn't heard from you." in summary.text


async def test_mood_shows_recent_weeks_and_can_be_deleted(town: Town) -> None:
    resident = town.chat.resident(user_id=37)
    await _opt_in(resident, "en", "Every day", "In the morning")
    for label in ("😞 Very low", "😐 Okay", "😄 Very good"):
        await town.send_due_at(await town.next_due(37) + dt.timedelta(seconds=1))
        await resident.press(town.nudges_to(37)[-1], label)
    [chart] = await resident.send("/mood")
    lines = plain(chart.text).splitlines()
    assert lines[0] == "Your mood, week by week (1 very low, 5 very good)"
    assert "███░░" in chart.text and "3.0 · answers: 3" in chart.text
    [confirm] = await resident.press(chart, "🗑 Delete my mood history")
    await resident.press(confirm, "Yes, delete it")
    [empty] = await resident.send("/mood")
    assert empty.text.startswith("There is nothing here yet.")
    async with town.app.sessions() as session:
        assert await session.scalar(select(func.count()).select_from(Mood)) == 0


async def test_pause_for_a_week_then_resume(town: Town) -> None:
    resident = town.chat.resident(user_id=38)
    await _opt_in(resident, "en", "Every day", "In the morning")
    due = await town.next_due(38)
    [summary] = await resident.send("/checkin")
    [paused] = await resident.press(summary, "⏸ Pause for a week")
    assert paused.text.startswith("Check-ins are paused for a week.")
    for day in range(0, 6):
        assert await town.send_due_at(due + dt.timedelta(days=day, seconds=1)) == 0
    [summary] = await resident.send("/checkin")
    assert "Paused until" in summary.text
    await resident.press(summary, "▶️ Resume now")
    tomorrow = await town.next_due(38)
    assert await town.send_due_at(tomorrow + dt.timedelta(seconds=1)) == 1


async def test_forged_buttons_get_a_kind_answer_and_change_nothing(town: Town) -> None:
    resident = town.chat.resident(user_id=39)
    await resident.send("/start")
    for data in ("n:9", "n:", "i:zone:99", "i:when:night", "i:hack:", "i:freq:hourly"):
        await resident.press_data(data)
    answered = [a.text for a in resident.answers()]
    texts = [plain(m.text) for m in town.chat.sent_to(39)]
    assert "Sorry, I lost track of your choices. Let's start again." in answered + texts
    async with town.app.sessions() as session:
        assert await session.scalar(select(func.count()).select_from(CheckIn)) == 0
        assert await session.scalar(select(func.count()).select_from(Mood)) == 0


async def test_forget_deletes_check_ins_and_moods(town: Town) -> None:
    resident = town.chat.resident(user_id=40)
    await _opt_in(resident, "en", "Every day", "In the morning")
    await town.send_due_at(await town.next_due(40) + dt.timedelta(seconds=1))
    await resident.press(town.nudges_to(40)[-1], "🙂 Good")
    [confirm] = await resident.send("/forget")
    assert "your check-ins and their answers" in confirm.text
    await resident.press(confirm, "Yes, delete everything")
    async with town.app.sessions() as session:
        assert await session.scalar(select(func.count()).select_from(CheckIn)) == 0
        assert await session.scalar(select(func.count()).select_from(Mood)) == 0


async def test_a_nudge_telegram_failed_on_is_tried_again_one_it_refused_is_not(
    town: Town,
) -> None:
    failed, refused = town.chat.resident(user_id=41), town.chat.resident(user_id=42)
    await _opt_in(failed, "en", "Every day", "At a time I choose", exact="10:00")
    await _opt_in(refused, "en", "Every day", "At a time I choose", exact="10:30")
    ten = await town.next_due(41)
    town.chat.session.add_result(RuntimeError("Telegram is down"))
    assert await town.send_due_at(ten + dt.timedelta(seconds=1)) == 0
    assert await town.send_due_at(ten + dt.timedelta(minutes=1)) == 0
    assert await town.send_due_at(ten + dt.timedelta(minutes=3)) == 1  # tried again, once
    assert len(town.nudges_to(41)) == 1
    not_found = TelegramBadRequest(method=None, message="Bad Request: chat not found")  # type: ignore[arg-type]
    town.chat.session.add_result(not_found)
    assert await town.send_due_at(ten + dt.timedelta(minutes=30, seconds=1)) == 0
    assert await town.send_due_at(ten + dt.timedelta(minutes=35)) == 0  # not again today
    assert town.nudges_to(42) == []
    assert await town.next_due(42) == ten + dt.timedelta(days=1, minutes=30)
