"""From a crisis message to a volunteer, in-process: the real dispatcher, database and
translations, the in-process Bot API of `bot shell`, and a clock the test moves.

Assertions are on what each person sees: the resident, the volunteers, the coordinators.
"""

from __future__ import annotations

import asyncio
import dataclasses
import datetime as dt
import shutil
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from aiogram.exceptions import TelegramForbiddenError
from aiogram.methods import CopyMessage, EditMessageText, SendMessage
from aiogram.types import Chat, Message, Update, User
from sqlalchemy import select
from sqlmodel import col

from bot import keyboards as kb
from bot.cases.service import Escalations
from bot.config import Settings
from bot.core import Tapestry
from bot.db.engine import make_engine, make_session_factory
from bot.db.tables import Case, CaseAlert, CaseMessage, StaffMember
from bot.shell import buttons_of, plain
from tests.conftest import _crisis, _detective
from tests.integration.test_handlers import Chat_, _seeded_database, translated

ADMIN = 800
VOLUNTEERS = (901, 902)
GROUP = -100500
CRISIS_AR = "أريد أن أنهي حياتي الليلة"  # "I want to end my life tonight"
CRISIS_PL = "Chcę się dziś zabić"  # "I want to kill myself today"
START = dt.datetime(2026, 11, 24, 3, 0, tzinfo=dt.UTC)


class Clock:
    def __init__(self) -> None:
        self.now = START

    def __call__(self) -> dt.datetime:
        return self.now

    def advance(self, minutes: float) -> None:
        self.now += dt.timedelta(minutes=minutes)


@dataclasses.dataclass
class Desk:
    """The bot with volunteers and a coordinator, and a way to read what each was sent."""

    chat: Chat_
    escalations: Escalations
    clock: Clock

    @property
    def app(self) -> Tapestry:
        return self.chat.app

    def sent_to(self, chat_id: int) -> list[SendMessage]:
        return self.chat.sent_to(chat_id)

    def alerts_to(self, chat_id: int) -> list[SendMessage]:
        return [m for m in self.sent_to(chat_id) if "🙋 Take this case" in _labels(m)]

    def edits_in(self, chat_id: int) -> list[EditMessageText]:
        return [
            m for m in self.chat.session.sent
            if isinstance(m, EditMessageText) and m.chat_id == chat_id
        ]  # fmt: skip

    async def case(self) -> Case:
        async with self.app.sessions() as session:
            newest = (await session.scalars(select(Case).order_by(col(Case.id).desc()))).first()
        assert newest is not None
        return newest


def _labels(message: SendMessage) -> list[str]:
    return [label for label, _ in buttons_of(message.reply_markup)]


@pytest.fixture
async def desk(tmp_path: Path) -> AsyncIterator[Desk]:
    seed, searcher = await asyncio.to_thread(_seeded_database)
    shutil.copy(seed, tmp_path / "bot.sqlite3")
    settings = Settings(
        database_url=f"sqlite+aiosqlite:///{tmp_path / 'bot.sqlite3'}",
        admin_ids=(ADMIN,), volunteer_ids=VOLUNTEERS, volunteer_chat_id=GROUP,
    )  # fmt: skip
    engine = make_engine(settings.database_url)
    app = Tapestry(
        settings, engine, make_session_factory(engine), _detective(), _crisis(), searcher
    )
    chat = Chat_(app)
    clock = Clock()
    escalations: Escalations = chat.dispatcher["escalations"]
    escalations.clock = clock
    escalations.attach(chat.bot)
    await escalations.seed_roles()
    yield Desk(chat, escalations, clock)
    await engine.dispose()


async def test_arabic_crisis_gets_the_lines_first_then_volunteers_are_alerted(desk: Desk) -> None:
    resident = desk.chat.resident(user_id=11, language_code="ar")
    replies = await resident.send(CRISIS_AR)
    assert replies[0].text.startswith(
        translated("ar", "<b>I'm really glad you told me. You don't have to face this alone.</b>")
    )
    assert "116 123" in replies[0].text
    assert plain(replies[1].text) == plain(
        translated("ar", "I've let our volunteers know. A person will join you here as soon as "
                   "one is free. You can keep writing to me in the meantime.")
    )  # fmt: skip
    case = await desk.case()
    assert (case.status, case.language, case.reason, case.text) == (
        "open", "ar", "crisis", CRISIS_AR,
    )  # fmt: skip

    assert await desk.escalations.send_due_alerts() == 3  # two volunteers, the group
    for chat_id in (*VOLUNTEERS, GROUP):
        [alert] = desk.alerts_to(chat_id)
        text = plain(alert.text)
        assert "Someone may be in crisis" in text and "Resident #1" in text
        assert "Arabic (العربية)" in text and "Tue 24 Nov, 03:00" in text
        assert CRISIS_AR in text
    assert ADMIN not in [
        int(m.chat_id) for m in desk.chat.session.sent if isinstance(m, SendMessage)
    ]
    assert await desk.escalations.send_due_alerts() == 0  # sent once, not again


async def test_taking_a_case_tells_everyone_and_relays_both_ways(desk: Desk) -> None:
    resident = desk.chat.resident(user_id=12, language_code="pl")
    await resident.send(CRISIS_PL)
    await desk.escalations.send_due_alerts()
    sam = desk.chat.resident(user_id=901, language_code="en")
    await sam.send("/alias Sam")
    [alert] = desk.alerts_to(901)
    await sam.press(alert, "🙋 Take this case")

    assert sam.answers()[-1].text == "The case is yours. Thank you."
    told = plain(desk.sent_to(12)[-1].text)
    assert told == plain(translated("pl", "<b>{alias}</b>, a volunteer, is joining you now. Write "
        "here and they will read it. They won't see your name or your Telegram account. Send "
        "/end when you want to finish the chat.")).format(alias="Sam")  # fmt: skip
    [brief] = [m for m in desk.sent_to(901) if "✅ Close the case" in _labels(m)]
    assert "Resident #1" in brief.text and CRISIS_PL in brief.text
    # The other volunteer's alert and the group's now say who took it; Sam's says it is hers.
    for chat_id in (902, GROUP):
        [edit] = desk.edits_in(chat_id)
        assert plain(edit.text or "").endswith("✅ Taken by Sam.")
    assert (desk.edits_in(901)[0].text or "").endswith("Write in this chat and I'll pass it on.")

    # Resident -> volunteer, without the resident's name or account.
    await resident.send("Jestem sam w domu")
    relayed = desk.sent_to(901)[-1]
    assert plain(relayed.text) == "💬 Resident #1 · Polish (Polski):\nJestem sam w domu"
    assert "R" not in plain(relayed.text).split(":")[0].replace("Resident", "")
    # Volunteer -> resident, under the alias only.
    await sam.send("I'm here with you. Are you somewhere safe?")
    back = desk.sent_to(12)[-1]
    assert plain(back.text).endswith(":\nI'm here with you. Are you somewhere safe?")
    assert "Sam" in back.text
    # A photo is copied (no forward header), after a line saying who sent it.
    await resident.send(photo=[{"file_id": "p", "file_unique_id": "p", "width": 1, "height": 1}])
    [copy] = [m for m in desk.chat.session.sent if isinstance(m, CopyMessage)]
    assert (int(copy.chat_id), copy.from_chat_id) == (901, 12)

    case = await desk.case()
    assert case.status == "taken" and case.volunteer_id == 901
    assert case.first_answer is not None
    async with desk.app.sessions() as session:
        said = (await session.scalars(select(CaseMessage).order_by(col(CaseMessage.id)))).all()
    assert [(m.sender, m.text) for m in said] == [
        ("resident", "Jestem sam w domu"),
        ("volunteer", "I'm here with you. Are you somewhere safe?"),
        ("resident", "[photo]"),
    ]


async def test_closing_with_an_outcome_gives_the_resident_the_lines_again(desk: Desk) -> None:
    resident = desk.chat.resident(user_id=13, language_code="ar")
    await resident.send(CRISIS_AR)
    await desk.escalations.send_due_alerts()
    volunteer = desk.chat.resident(user_id=902, language_code="en")
    await volunteer.press(desk.alerts_to(902)[0], "🙋 Take this case")
    [brief] = [m for m in desk.sent_to(902) if "✅ Close the case" in _labels(m)]
    await volunteer.press(brief, "📝 Private note")
    await volunteer.send("Has a sister nearby; agreed to call her.")
    assert desk.sent_to(902)[-1].text == "Note saved."
    assert desk.sent_to(13)[-1].text != "Has a sister nearby; agreed to call her."  # private
    await volunteer.press(brief, "✅ Close the case")
    await volunteer.press(desk.sent_to(902)[-1], "Safe for now")

    closing = desk.sent_to(13)[-1].text
    assert "116 123" in closing and "85258" in closing
    assert translated("ar", "You can write to me at any time, about anything you need.") in closing
    offer = "If you'd like, I can check in with you now and then to see how you are."
    assert translated("ar", offer) in closing  # and a button to set them up
    assert _labels(desk.sent_to(13)[-1]) == [translated("ar", "🌱 Set up check-ins")]
    case = await desk.case()
    assert (case.status, case.outcome) == ("closed", "safe")
    # Afterwards the resident is an ordinary resident again: a question gets cards.
    [cards] = await resident.send("أحتاج إلى بنك طعام")
    assert "🕒" in cards.text


async def test_two_volunteers_pressing_at_once_one_gets_it(desk: Desk) -> None:
    resident = desk.chat.resident(user_id=14)
    await resident.send("I am going to kill myself tonight")
    await desk.escalations.send_due_alerts()
    first, second = desk.chat.resident(user_id=901), desk.chat.resident(user_id=902)
    await asyncio.gather(
        first.press_data(kb.TakeCase(case=1).pack()), second.press_data(kb.TakeCase(case=1).pack())
    )
    answers = sorted(a.text or "" for a in first.answers())  # every answer in the chat
    assert answers[0] == "Someone else took it first: A volunteer."
    assert answers[1] == "The case is yours. Thank you."
    case = await desk.case()
    assert case.status == "taken" and case.volunteer_id in VOLUNTEERS
    told = [m for m in desk.sent_to(14) if "is joining you now" in m.text]
    assert len(told) == 1


async def test_a_resident_forging_the_claim_button_changes_nothing(desk: Desk) -> None:
    resident = desk.chat.resident(user_id=15)
    await resident.send("I want to end it all tonight")
    forger = desk.chat.resident(user_id=16)  # another resident, with a copied button
    await forger.press_data(kb.TakeCase(case=1).pack())
    await resident.press_data(kb.TakeCase(case=1).pack())  # or the resident themself
    await forger.press_data(kb.CloseCase(case=1, outcome="safe").pack())
    await forger.press_data(kb.CaseAction(case=1, action="back").pack())
    notes = {a.text for a in forger.answers() + resident.answers()}
    assert notes == {"This button is only for volunteers."}
    case = await desk.case()
    assert (case.status, case.volunteer_id) == ("open", None)


async def test_a_blocked_volunteer_is_skipped_and_the_others_still_get_it(desk: Desk) -> None:
    await desk.chat.resident(user_id=17).send("I want to end it all tonight")
    blocked = TelegramForbiddenError(method=None, message="Forbidden: bot was blocked by the user")  # type: ignore[arg-type]
    desk.chat.session.add_result(blocked)  # the first alert (to 901) meets a blocked bot
    assert await desk.escalations.send_due_alerts() == 2
    assert desk.alerts_to(902) and desk.alerts_to(GROUP)
    async with desk.app.sessions() as session:
        volunteer = await session.get(StaffMember, 901)
        states = {a.chat_id: a.state for a in (await session.scalars(select(CaseAlert))).all()}
    assert volunteer is not None and volunteer.blocked_at is not None
    assert states == {901: "gone", 902: "sent", GROUP: "sent"}


async def test_failed_alerts_are_retried_until_delivered(desk: Desk) -> None:
    await desk.chat.resident(user_id=18).send("I want to end it all tonight")
    for _ in range(3):
        desk.chat.session.add_result(RuntimeError("Telegram is down"))
    assert await desk.escalations.send_due_alerts() == 0  # 3 failed: retried later
    desk.clock.advance(0.01)
    assert await desk.escalations.send_due_alerts() == 0  # backing off (2 s)
    desk.clock.advance(0.05)
    assert await desk.escalations.send_due_alerts() == 3
    for chat_id in (*VOLUNTEERS, GROUP):
        assert len(desk.alerts_to(chat_id)) == 2  # the refused attempt, then the delivered one


async def test_duty_sends_alerts_to_those_on_duty_first(desk: Desk) -> None:
    await desk.chat.resident(user_id=902).send("/duty on")
    assert desk.sent_to(902)[-1].text.startswith("You're on duty")
    await desk.chat.resident(user_id=19).send("I want to end it all tonight")
    await desk.escalations.send_due_alerts()
    assert desk.alerts_to(902) and desk.alerts_to(GROUP) and not desk.alerts_to(901)
    await desk.chat.resident(user_id=19).send("/duty on")  # a resident: an unknown command
    assert "/duty" not in desk.sent_to(19)[-1].text


async def test_timers_realert_then_tell_the_resident_then_watch_the_volunteer(desk: Desk) -> None:
    resident = desk.chat.resident(user_id=20, language_code="pl")
    await resident.send(CRISIS_PL)
    await desk.escalations.send_due_alerts()
    desk.clock.advance(2.9)
    await desk.escalations.run_timers()
    assert await desk.escalations.send_due_alerts() == 0  # not yet
    desk.clock.advance(0.2)  # 3 minutes: everyone again, the coordinators too
    await desk.escalations.run_timers()
    await desk.escalations.run_timers()  # a second look (or replica) does not alert twice
    assert await desk.escalations.send_due_alerts() == 4
    [realert] = desk.alerts_to(ADMIN)
    assert "Still nobody on it after 3 minutes." in realert.text
    assert len(desk.alerts_to(901)) == 2

    desk.clock.advance(7)  # 10 minutes: the resident is told honestly, with the lines
    await desk.escalations.run_timers()
    await desk.escalations.run_timers()
    honest = [m for m in desk.sent_to(20) if "116 123" in m.text]
    assert len(honest) == 2  # the crisis reply, and this
    assert honest[-1].text.startswith(translated("pl", "I'm sorry: no volunteer is free right now. "
        "I'm still trying, and your request stays open. Please don't wait for us if you need "
        "help now:"))  # fmt: skip
    assert (await desk.case()).status == "open"

    volunteer = desk.chat.resident(user_id=901)
    await volunteer.press(desk.alerts_to(901)[-1], "🙋 Take this case")
    desk.clock.advance(10)  # silent for 10 minutes: a reminder
    await desk.escalations.run_timers()
    assert "has not heard from you for 10 minutes" in desk.sent_to(901)[-1].text
    desk.clock.advance(5)  # still silent: back to the queue, alerted again
    await desk.escalations.run_timers()
    assert "went back to the queue" in desk.sent_to(901)[-1].text
    case = await desk.case()
    assert (case.status, case.volunteer_id) == ("open", None)
    assert await desk.escalations.send_due_alerts() >= 2
    assert desk.alerts_to(902)[-1] is not None


async def test_a_reply_resets_the_silence_timer(desk: Desk) -> None:
    await desk.chat.resident(user_id=21).send("I want to end it all tonight")
    await desk.escalations.send_due_alerts()
    volunteer = desk.chat.resident(user_id=901)
    await volunteer.press(desk.alerts_to(901)[-1], "🙋 Take this case")
    desk.clock.advance(9)
    await volunteer.send("Still here.")
    desk.clock.advance(9)
    await desk.escalations.run_timers()
    assert not any("has not heard from you" in m.text for m in desk.sent_to(901))


async def test_the_resident_can_end_the_chat(desk: Desk) -> None:
    resident = desk.chat.resident(user_id=22)
    await resident.send("I want to end it all tonight")
    await desk.escalations.send_due_alerts()
    await desk.chat.resident(user_id=902).press(desk.alerts_to(902)[-1], "🙋 Take this case")
    await resident.send("/end")
    assert "116 123" in desk.sent_to(22)[-1].text
    assert desk.sent_to(902)[-1].text == "Resident #1 ended the chat. The case is closed."
    [reply] = await resident.send("/end")
    assert reply.text == "You're not in a chat with a volunteer right now."


async def test_i_need_help_now_raises_a_case(desk: Desk) -> None:
    resident = desk.chat.resident(user_id=23)
    await resident.send("/start")
    await resident.press_data(kb.SafetyAnswer(answer="help").pack())
    assert "116 123" in desk.sent_to(23)[1].text
    case = await desk.case()
    assert (case.reason, case.status) == ("help", "open")
    await desk.escalations.send_due_alerts()
    assert "Someone pressed “I need help now”" in desk.alerts_to(901)[0].text


async def test_forget_and_retention_delete_transcripts(desk: Desk) -> None:
    resident = desk.chat.resident(user_id=24)
    await resident.send("I want to end it all tonight")
    await resident.send("please someone")
    await desk.escalations.forget_resident(24)
    async with desk.app.sessions() as session:
        case = (await session.scalars(select(Case))).one()
        said = (await session.scalars(select(CaseMessage))).all()
    assert (case.resident_id, case.text, case.status, list(said)) == (None, "", "closed", [])

    await desk.chat.resident(user_id=25).send("I want to end it all tonight")
    await desk.chat.resident(user_id=25).send("is anyone there")
    desk.clock.advance(60 * 24 * 29)
    assert await desk.escalations.purge_transcripts() == 0  # 29 days: kept
    desk.clock.advance(60 * 24 * 2)
    assert await desk.escalations.purge_transcripts() == 1


async def test_cases_view_for_coordinators_only(desk: Desk) -> None:
    await desk.chat.resident(user_id=26, language_code="uk").send("Я хочу покінчити з собою")
    await desk.escalations.send_due_alerts()
    desk.clock.advance(2)
    await desk.chat.resident(user_id=901).press(desk.alerts_to(901)[-1], "🙋 Take this case")
    await desk.chat.resident(user_id=27).send("I want to end it all tonight")
    [view] = await desk.chat.resident(user_id=ADMIN).send("/cases")
    text = plain(view.text)
    assert "Waiting for a volunteer: 1" in text and "With a volunteer: 1" in text
    assert "Median time until a volunteer took the case: 2.0 min" in text
    [refused] = await desk.chat.resident(user_id=901).send("/cases")
    assert "Crisis cases" not in refused.text


async def test_coordinators_add_remove_and_invite_volunteers(desk: Desk) -> None:
    admin = desk.chat.resident(user_id=ADMIN)
    [added] = await admin.send("/addvolunteer 903")
    assert added.text == "903 is now a volunteer."
    [listing] = await admin.send("/volunteers")
    assert "Volunteers</b>: 3" in listing.text
    await admin.press(listing, "Remove 903")
    assert admin.answers()[-1].text == "Removed."
    [invite] = await admin.send("/invite")
    link = plain(invite.text).split("\n")[-1]
    assert link.startswith("https://t.me/tapestry_bot?start=join_")
    newcomer = desk.chat.resident(user_id=904)
    [welcome] = await newcomer.send(f"/start {link.rsplit('=', 1)[1]}")
    assert welcome.text.startswith("Welcome to the volunteers!")
    [again] = await desk.chat.resident(user_id=905).send(f"/start {link.rsplit('=', 1)[1]}")
    assert again.text == "This invite link has been used or has expired."
    [not_admin] = await desk.chat.resident(user_id=905).send("/addvolunteer 905")
    assert "is now a volunteer" not in not_admin.text


async def test_the_bot_stays_quiet_in_the_volunteers_group(desk: Desk) -> None:
    member = User(id=901, is_bot=False, first_name="Sam")
    for text in ("I need a food bank", "/start", "I want to end it all tonight"):
        message = Message(
            message_id=next(desk.chat.ids), date=dt.datetime.now(dt.UTC), text=text,
            chat=Chat(id=GROUP, type="supergroup", title="Volunteers"), from_user=member,
        )  # fmt: skip
        replies = await desk.chat.feed(Update(update_id=next(desk.chat.ids), message=message))
        assert replies == []
    async with desk.app.sessions() as session:
        assert (await session.scalars(select(Case))).all() == []
