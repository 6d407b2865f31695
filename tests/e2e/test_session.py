"""The bot's session reaches the strict fake Bot API with every field intact."""

from __future__ import annotations

import gc
import weakref
from collections.abc import AsyncIterator

import pytest
from aiogram import Bot
from aiogram.enums import ParseMode
from aiogram.methods.base import Response
from aiogram.types import BufferedInputFile, InlineKeyboardButton, InlineKeyboardMarkup, Message
from pydantic import SecretStr

from bot.app import make_bot
from bot.config import Settings
from bot.delivery import Delivery
from bot.session import Session
from tests.e2e.fake_api import FakeTelegram


@pytest.fixture
async def bot() -> AsyncIterator[tuple[FakeTelegram, Bot]]:
    """The bot as `bot run` builds it: its session, its defaults, through `Delivery`."""
    async with FakeTelegram() as fake:
        settings = Settings(bot_token=SecretStr(fake.token), telegram_api_url=fake.url)
        bot = make_bot(settings, Delivery())
        assert isinstance(bot.session, Session)
        try:
            yield fake, bot
        finally:
            await bot.session.close()


async def test_a_card_in_arabic_arrives_as_sent(bot: tuple[FakeTelegram, Bot]) -> None:
    fake, client = bot
    amira = fake.user(7, language_code="ar")
    card = (
        "<b>بنك الطعام</b>\n📞 \u206601632 960330\u2069\n"
        '🌐 <a href="https://food.example.org/find?q=bank+1&amp;lang=ar#map">food.example.org</a>\n'
        "مجاني · 50% &amp; more = ok ~_.-"
    )
    keyboard = InlineKeyboardMarkup(
        inline_keyboard=[[InlineKeyboardButton(text="✅ مفتوح الآن", callback_data="t:1:open")]]
    )
    sent = await client.send_message(amira.id, card, reply_markup=keyboard)
    received = amira.messages[-1]
    assert received.source_text == card
    links = [e["url"] for e in received.entities if e["type"] == "text_link"]
    assert links == ["https://food.example.org/find?q=bank+1&lang=ar#map"]
    assert received.parse_mode == ParseMode.HTML
    assert received.buttons[0][0].text == "✅ مفتوح الآن"
    assert received.buttons[0][0].callback_data == "t:1:open"
    assert sent.message_id == received.message_id
    assert fake.errors == []


async def test_a_file_still_goes_as_multipart(bot: tuple[FakeTelegram, Bot]) -> None:
    fake, client = bot
    admin = fake.user(8)
    upload = BufferedInputFile(b"slug: food-bank\n", filename="catalogue.yaml")
    await client.send_document(admin.id, upload, caption="Catalogue — كتالوج")
    received = admin.messages[-1]
    assert (received.kind, received.text) == ("document", "Catalogue — كتالوج")
    assert fake.errors == []


async def test_the_reply_model_outlives_a_garbage_collection(bot: tuple[FakeTelegram, Bot]) -> None:
    """pydantic keeps `Response[Message]` only weakly: dropped, the next reply rebuilds it."""
    fake, client = bot
    await client.send_message(fake.user(9).id, "one")
    model = weakref.ref(Response[Message])
    gc.collect()
    assert model() is not None


async def test_a_sent_message_comes_back_with_its_id_not_its_keyboard(
    bot: tuple[FakeTelegram, Bot],
) -> None:
    """What the bot keeps of a send is the id; the echoed entities and keyboard are not read."""
    fake, client = bot
    keyboard = InlineKeyboardMarkup(
        inline_keyboard=[[InlineKeyboardButton(text="Free only", callback_data="f:1:free")]]
    )
    sent = await client.send_message(fake.user(10).id, "<b>Food bank</b>", reply_markup=keyboard)
    received = fake.residents[10].messages[-1]
    assert (sent.message_id, sent.chat.id, sent.text) == (received.message_id, 10, "Food bank")
    assert received.entities and received.buttons  # Telegram has them...
    assert sent.entities is None and sent.reply_markup is None  # ...the bot does not read them
