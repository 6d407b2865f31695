"""The conversation, in-process: real Updates through the real Dispatcher, middlewares,
translations and database, with a fake Bot API session that answers first in, first out.
Assertions are on what the resident would see: the text and buttons the bot sent.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import functools
import itertools
import shutil
import tempfile
import uuid
from collections import deque
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from aiogram import Bot, Dispatcher
from aiogram.exceptions import TelegramForbiddenError
from aiogram.fsm.storage.base import BaseStorage, StorageKey
from aiogram.fsm.storage.memory import MemoryStorage
from aiogram.methods import AnswerCallbackQuery, SendMessage, TelegramMethod
from aiogram.methods.base import TelegramType
from aiogram.types import CallbackQuery, Chat, Message, Sticker, Update, User
from babel.messages.pofile import read_po
from pydantic import SecretStr
from sqlalchemy import select

from bot.app import ForgetfulMemoryStorage, blocked_marker, make_bot, make_dispatcher
from bot.config import Settings
from bot.core import Tapestry, seed_catalogue_if_empty
from bot.db import migrate
from bot.db.catalogue import load_catalogue
from bot.db.engine import make_engine, make_session_factory
from bot.db.residents import mark_blocked, touch_resident
from bot.db.tables import Feedback, Resident, UnmatchedQuestion
from bot.delivery import Delivery
from bot.i18n import FSI, PDI
from bot.search.ranking import Searcher
from bot.shell import LocalSession, buttons_of, plain
from tests.conftest import REDIS_URL, _crisis, _detective

ROOT = Path(__file__).resolve().parents[2]


class FakeSession(LocalSession):
    """Returns queued results (or raises queued errors) first in, first out; else makes one up."""

    def __init__(self) -> None:
        super().__init__()
        self.results: deque[Any] = deque()

    def add_result(self, result: Any) -> None:
        self.results.append(result)

    async def make_request(
        self,
        bot: Bot,
        method: TelegramMethod[TelegramType],
        timeout: int | None = None,  # noqa: ASYNC109 (aiogram's signature)
    ) -> TelegramType:
        if self.results:
            self.sent.append(method)
            result = self.results.popleft()
            if isinstance(result, Exception):
                raise result
            return result  # type: ignore[no-any-return]
        return await super().make_request(bot, method, timeout)


def translated(language: str, msgid: str) -> str:
    with (ROOT / "locales" / language / "LC_MESSAGES" / "messages.po").open("rb") as file:
        catalog = read_po(file, locale=language)
    message = catalog.get(msgid)
    assert message is not None and message.string, f"{language}: {msgid!r} not translated"
    return str(message.string)


class Resident_:
    """A Telegram user sending updates to the dispatcher, and reading what came back."""

    def __init__(self, chat: Chat_, user_id: int, language_code: str | None) -> None:
        self.chat = chat
        self.user = User(id=user_id, is_bot=False, first_name="R", language_code=language_code)

    async def send(self, text: str | None = None, **content: Any) -> list[SendMessage]:
        message = Message(
            message_id=next(self.chat.ids), date=dt.datetime.now(dt.UTC),
            chat=Chat(id=self.user.id, type="private"), from_user=self.user, text=text, **content,
        )  # fmt: skip
        return await self.chat.feed(Update(update_id=next(self.chat.ids), message=message))

    async def press(self, reply: SendMessage | Message, label: str) -> list[SendMessage]:
        """Press a button; on a `Message` the bot sent, the press comes from that message."""
        data = dict(buttons_of(reply.reply_markup))[label]
        return await self.press_data(data, on=reply if isinstance(reply, Message) else None)

    async def press_data(self, data: str, on: Message | None = None) -> list[SendMessage]:
        """A press carrying `data`, from message `on` (default: the latest the bot sent)."""
        message = on or self.chat.session.messages[max(self.chat.session.messages)]
        query = CallbackQuery(
            id=str(next(self.chat.ids)), from_user=self.user, chat_instance="c", message=message,
            data=data,
        )  # fmt: skip
        return await self.chat.feed(Update(update_id=next(self.chat.ids), callback_query=query))

    def answers(self) -> list[AnswerCallbackQuery]:
        return [m for m in self.chat.session.sent if isinstance(m, AnswerCallbackQuery)]


class Chat_:
    def __init__(self, app: Tapestry, storage: BaseStorage | None = None) -> None:
        self.app = app
        self.session = FakeSession()
        self.delivery = Delivery(
            overall_per_second=1000, chat_per_second=1000, chat_burst=1000,
            on_blocked=blocked_marker(app),
        )  # fmt: skip
        settings = app.settings.model_copy(update={"bot_token": SecretStr("42:test")})
        self.bot = make_bot(settings, self.delivery, session=self.session)
        self.dispatcher: Dispatcher = make_dispatcher(
            app, self.delivery, storage or MemoryStorage()
        )
        self.ids = itertools.count(1)

    def resident(self, user_id: int = 7, language_code: str | None = "en") -> Resident_:
        return Resident_(self, user_id, language_code)

    def sent_to(self, chat_id: int) -> list[SendMessage]:
        """Every message the bot has sent this chat, in order."""
        return [
            m for m in self.session.sent
            if isinstance(m, SendMessage) and int(m.chat_id) == chat_id
        ]  # fmt: skip

    async def feed(self, update: Update) -> list[SendMessage]:
        before = len(self.session.sent)
        await self.dispatcher.feed_update(self.bot, update)
        return [m for m in self.session.sent[before:] if isinstance(m, SendMessage)]


@functools.cache
def _seeded_database() -> tuple[Path, Searcher]:
    """One migrated database with the shipped catalogue, copied for each test (fast)."""
    path = Path(tempfile.mkdtemp(prefix="tapestry-handlers-")) / "seed.sqlite3"

    async def build() -> Searcher:
        settings = Settings(database_url=f"sqlite+aiosqlite:///{path}")
        engine = make_engine(settings.database_url)
        sessions = make_session_factory(engine)
        await migrate.upgrade(engine)
        await seed_catalogue_if_empty(sessions, settings)
        async with sessions() as session:
            catalogue = await load_catalogue(session)
        await engine.dispose()
        return Searcher(catalogue, _detective(), timezone=settings.timezone)

    return path, asyncio.run(build())


@pytest.fixture
async def app(tmp_path: Path) -> AsyncIterator[Tapestry]:
    seed, searcher = await asyncio.to_thread(_seeded_database)
    shutil.copy(seed, tmp_path / "bot.sqlite3")
    settings = Settings(database_url=f"sqlite+aiosqlite:///{tmp_path / 'bot.sqlite3'}")
    engine = make_engine(settings.database_url)
    yield Tapestry(
        settings, engine, make_session_factory(engine), _detective(), _crisis(), searcher
    )
    await engine.dispose()


@pytest.fixture
def chat(app: Tapestry) -> Chat_:
    return Chat_(app)


WELCOME = (
    "Hello, I'm <b>Tapestry</b> 👋\n"
    "I help people in Millbrook find free and local support: someone to talk to, food, "
    "housing, money, health and more. Write what you need in your own words and in your "
    "own language, or choose a topic. I don't ask for your name, and what you tell me "
    "stays anonymous."
)


@pytest.mark.parametrize("language", ["en", "pl", "ar", "uk"])
async def test_start_greets_in_the_telegram_language(chat: Chat_, language: str) -> None:
    [reply] = await chat.resident(language_code=language).send("/start")
    assert reply.text == translated(language, WELCOME)
    labels = [label for label, _ in buttons_of(reply.reply_markup)]
    assert translated(language, "🧭 Find help by topic") in labels


async def test_an_unknown_telegram_language_gets_english(chat: Chat_) -> None:
    [reply] = await chat.resident(language_code="de").send("/start")
    assert reply.text == WELCOME


async def test_a_question_gets_cards_with_what_a_resident_needs(chat: Chat_) -> None:
    [reply] = await chat.resident(language_code="pl").send("Potrzebuję banku żywności")
    text = plain(reply.text)
    assert "Food Bank" in text or "food bank" in text
    assert translated("pl", "Free") in text
    labels = [label for label, _ in buttons_of(reply.reply_markup)]
    for label in ("Free only", "Open now", "Speaks my language", "👍 Helpful"):
        assert translated("pl", label) in " ".join(labels)
    assert text.count("🕒") <= 3  # at most three cards a message


async def test_more_shows_the_next_cards_and_filters_narrow_them(chat: Chat_) -> None:
    resident = chat.resident()
    [first] = await resident.send("somewhere to talk about my mental health")
    [more] = await resident.press(first, "More results ▸")
    assert plain(more.text) != plain(first.text)
    [free] = await resident.press(first, "Free only")
    assert "Showing only what matches your filters." in free.text
    assert "Paid" not in plain(free.text) and "Low cost" not in plain(free.text)
    assert "✅ Free only" in [label for label, _ in buttons_of(free.reply_markup)]


async def test_rtl_cards_isolate_numbers_and_latin_names(chat: Chat_) -> None:
    [reply] = await chat.resident(language_code="ar").send("أحتاج إلى بنك طعام")
    assert f"{FSI}01632 96" in reply.text and PDI in reply.text


async def test_feedback_is_stored_with_the_question_and_no_person(chat: Chat_) -> None:
    resident = chat.resident(user_id=555)
    [reply] = await resident.send("I need a food bank")
    await resident.press(reply, "👍 Helpful")
    await resident.press(reply, "👎 Not helpful")  # a second rating is thanked, not stored
    async with chat.app.sessions() as session:
        rows = (await session.execute(select(Feedback))).scalars().all()
    assert [(r.question, r.helpful) for r in rows] == [("I need a food bank", True)]
    assert "555" not in repr(rows[0].model_dump())
    assert resident.answers()[-1].text == "Thank you, you have already told me."


async def test_nothing_found_is_said_kindly_and_kept_for_the_gap_report(chat: Chat_) -> None:
    [reply] = await chat.resident().send("xylophone tuning for penguins")
    assert reply.text.startswith("I'm sorry, I couldn't find a service for that yet.")
    assert len(buttons_of(reply.reply_markup)) == 22  # the categories
    async with chat.app.sessions() as session:
        kept = (await session.execute(select(UnmatchedQuestion))).scalars().all()
    assert [k.question for k in kept] == ["xylophone tuning for penguins"]


async def test_an_unknown_command_gets_the_menu_and_is_not_searched(chat: Chat_) -> None:
    [reply] = await chat.resident(language_code="uk").send("/foodbank")
    assert reply.text == translated("uk", "I don't know that command. Here is what I can do:")
    assert buttons_of(reply.reply_markup)[0][1] == "m:topics"  # the main menu
    async with chat.app.sessions() as session:
        assert (await session.execute(select(UnmatchedQuestion))).scalars().all() == []


@pytest.mark.parametrize(
    ("language", "text"),
    [("en", "I want to kill myself tonight"), ("ur", "میں آج رات خودکشی کر لوں گا"),
     ("pl", "chcę się zabić")],
)  # fmt: skip
async def test_a_crisis_gets_the_crisis_lines_in_the_residents_language(
    chat: Chat_, language: str, text: str
) -> None:
    [reply] = await chat.resident(language_code=language).send(text)
    assert "116 123" in reply.text and "999" in reply.text and "85258" in reply.text
    assert translated(language, "If you can, stay with someone you trust while you reach out.") in (
        reply.text
    )


async def test_a_crisis_while_suggesting_a_service_is_not_filed_as_a_suggestion(
    chat: Chat_,
) -> None:
    resident = chat.resident()
    [menu] = await resident.send("/start")
    await resident.press(menu, "➕ Suggest a service")
    [reply] = await resident.send("I want to end my life")
    assert "116 123" in reply.text


async def test_concern_asks_gently_whether_they_are_safe(chat: Chat_) -> None:
    resident = chat.resident()
    [reply] = await resident.send("I can't cope anymore")
    assert reply.text.startswith("I'm sorry things feel so hard right now.")
    [lines] = await resident.press(reply, "I need help now")
    assert "116 123" in lines.text


@pytest.mark.parametrize(
    "content",
    [
        {"sticker": Sticker(file_id="s", file_unique_id="s", type="regular", width=1, height=1,
                            is_animated=False, is_video=False)},
        {"text": "😭😭😭"},
        {"text": "\u200b\u0007\u202e"},
    ],
)  # fmt: skip
async def test_what_the_bot_cannot_read_gets_a_kind_reply(
    chat: Chat_, content: dict[str, Any]
) -> None:
    replies = await chat.resident(language_code="es").send(**content)
    assert len(replies) == 1
    assert replies[0].text in {
        translated("es", msgid)
        for msgid in (
            "Thank you for sending that. I can only read written messages for now. Could you "
            "type what you're looking for, or choose a topic?",
            "I couldn't find any words in that. Tell me in a few words what you are looking "
            "for, or choose a topic.",
        )
    }


@pytest.mark.parametrize("data", ["t:no-such-topic", "p:999:0", "l:xx", "garbage", "f:1:evil"])
async def test_forged_buttons_are_answered_and_do_nothing(chat: Chat_, data: str) -> None:
    resident = chat.resident()
    await resident.send("/start")
    replies = await resident.press_data(data)
    assert replies == []
    assert len(resident.answers()) == 1 and resident.answers()[0].text


async def test_choosing_a_language_is_remembered(chat: Chat_) -> None:
    resident = chat.resident(user_id=9, language_code="en")
    await resident.send("/language")
    [done] = await resident.press_data("l:pt")
    assert done.text == translated("pt", "Done! I'll write to you in English from now on.")
    [again] = await resident.send("/start")
    assert again.text == translated("pt", WELCOME)


async def test_forget_deletes_the_resident_after_they_confirm(chat: Chat_) -> None:
    resident = chat.resident(user_id=11)
    [question] = await resident.send("/forget")
    await chat.dispatcher["residents"].flush()  # written behind, within a second
    async with chat.app.sessions() as session:
        assert await session.get(Resident, 11) is not None
    await resident.press(question, "Yes, delete everything")
    async with chat.app.sessions() as session:
        assert await session.get(Resident, 11) is None


async def test_a_resident_who_blocked_the_bot_gets_nothing_more(chat: Chat_) -> None:
    resident = chat.resident(user_id=12)
    chat.session.add_result(
        TelegramForbiddenError(method=None, message="Forbidden: bot was blocked by the user")  # type: ignore[arg-type]
    )
    await resident.send("/start")
    await chat.dispatcher["residents"].flush()  # the visit, written behind the block
    async with chat.app.sessions() as session:
        record = await session.get(Resident, 12)
        assert record is not None and record.blocked_at is not None
    assert 12 in chat.delivery.blocked


async def test_a_late_record_of_an_earlier_visit_does_not_lift_a_newer_block(
    app: Tapestry,
) -> None:
    visit = dt.datetime.now(dt.UTC)
    async with app.sessions() as session:
        await mark_blocked(session, telegram_id=13)
        await session.commit()
    async with app.sessions() as session:
        await touch_resident(session, telegram_id=13, seen=visit)  # before the block
        await session.commit()
        record = await session.get(Resident, 13)
        assert record is not None and record.blocked_at is not None
    async with app.sessions() as session:
        await touch_resident(session, telegram_id=13)  # they write again
        await session.commit()
        record = await session.get(Resident, 13)
        assert record is not None and record.blocked_at is None


async def test_two_replicas_share_the_conversation_through_redis(app: Tapestry) -> None:
    """Behind a load balancer, a button pressed on one replica finds the search of another."""
    if not REDIS_URL:
        pytest.skip("TEST_REDIS_URL is not set")
    from aiogram.fsm.storage.base import DefaultKeyBuilder
    from aiogram.fsm.storage.redis import RedisStorage

    prefix = f"tapestry-test-{uuid.uuid4().hex[:8]}"
    storages = [
        RedisStorage.from_url(REDIS_URL, key_builder=DefaultKeyBuilder(prefix=prefix))
        for _ in range(2)
    ]
    first, second = Chat_(app, storages[0]), Chat_(app, storages[1])
    try:
        [answer] = await first.resident(user_id=77).send("I need a food bank")
        data = dict(buttons_of(answer.reply_markup))["More results ▸"]
        message = first.session.messages[max(first.session.messages)]
        second.session.messages[message.message_id] = message
        [more] = await second.resident(user_id=77).press_data(data)
        assert plain(more.text) != plain(answer.text)
        assert "older answer" not in (second.resident(user_id=77).answers()[-1].text or "")
    finally:
        async for key in storages[0].redis.scan_iter(f"{prefix}:*"):
            await storages[0].redis.delete(key)
        for storage in storages:
            await storage.close()


async def test_a_crisis_that_asks_for_help_gets_the_lines_first_then_the_services(
    chat: Chat_,
) -> None:
    replies = await chat.resident().send(
        "my husband is hitting me right now, is there a domestic abuse refuge"
    )
    assert "116 123" in replies[0].text and "999" in replies[0].text
    assert len(replies) == 2 and "🕒" in replies[1].text  # then the cards
    assert "abuse" in plain(replies[1].text).lower() or "refuge" in plain(replies[1].text).lower()


async def test_a_conversation_is_forgotten_an_hour_after_it_was_last_touched() -> None:
    storage = ForgetfulMemoryStorage(ttl=0.05, sweep_every=0)
    old = StorageKey(bot_id=1, chat_id=5, user_id=5)
    new = StorageKey(bot_id=1, chat_id=6, user_id=6)
    await storage.set_data(old, {"search": {"text": "I need a food bank"}})
    await asyncio.sleep(0.1)
    await storage.set_data(new, {"search": {"text": "help with rent"}})
    assert await storage.get_data(old) == {}
    assert await storage.get_data(new) == {"search": {"text": "help with rent"}}
