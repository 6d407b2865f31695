"""`bot shell`: the real dispatcher, handlers and database, chatting in a terminal.

Nothing goes to Telegram: `LocalSession` answers the Bot API calls itself and shows what the
bot sends. Inline buttons are shown as numbered choices; typing the number presses it.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import html
import itertools
import re
import sys
from collections.abc import AsyncGenerator
from typing import Any, TextIO

from aiogram import Bot
from aiogram.client.session.base import BaseSession
from aiogram.methods import (
    AnswerCallbackQuery,
    CopyMessage,
    EditMessageReplyMarkup,
    EditMessageText,
    GetMe,
    SendMessage,
    TelegramMethod,
)
from aiogram.methods.base import TelegramType
from aiogram.types import (
    CallbackQuery,
    Chat,
    InlineKeyboardMarkup,
    Message,
    MessageId,
    Update,
    User,
)
from pydantic import SecretStr

from bot.app import make_bot, make_dispatcher
from bot.core import Tapestry
from bot.db.residents import set_language
from bot.delivery import Delivery

SHELL_USER_ID = 1  # the person at the terminal
BOT_USER = User(id=42, is_bot=True, first_name="Tapestry", username="tapestry_bot")
_TAG = re.compile(r"<[^>]+>")


class LocalSession(BaseSession):
    """A Bot API that lives in this process: it keeps what the bot sent and makes up replies."""

    def __init__(self) -> None:
        super().__init__()
        self.sent: list[TelegramMethod[Any]] = []
        self.messages: dict[int, Message] = {}
        self._message_ids = itertools.count(1000)

    async def close(self) -> None:
        return None

    async def make_request(
        self,
        bot: Bot,
        method: TelegramMethod[TelegramType],
        timeout: int | None = None,  # noqa: ASYNC109 (aiogram's signature)
    ) -> TelegramType:
        self.sent.append(method)
        return self.reply_to(method)  # type: ignore[no-any-return]

    def reply_to(self, method: TelegramMethod[Any]) -> Any:
        if isinstance(method, GetMe):
            return BOT_USER
        if isinstance(method, SendMessage):
            message = Message(
                message_id=next(self._message_ids),
                date=dt.datetime.now(dt.UTC),
                chat=Chat(id=int(method.chat_id), type="private"),
                from_user=BOT_USER,
                text=method.text,
                reply_markup=method.reply_markup
                if isinstance(method.reply_markup, InlineKeyboardMarkup)
                else None,
            )
            self.messages[message.message_id] = message
            return message
        if isinstance(method, CopyMessage):
            return MessageId(message_id=next(self._message_ids))
        if isinstance(method, EditMessageText | EditMessageReplyMarkup):
            return True
        if isinstance(method, AnswerCallbackQuery):
            return True
        return True

    async def stream_content(
        self,
        url: str,
        headers: dict[str, Any] | None = None,
        timeout: int = 30,  # noqa: ASYNC109 (aiogram's signature)
        chunk_size: int = 65536,
        raise_for_status: bool = True,
    ) -> AsyncGenerator[bytes, None]:
        raise NotImplementedError("the shell has no files to download")
        yield b""  # pragma: no cover


def plain(text: str) -> str:
    """Telegram HTML as a terminal shows it."""
    return html.unescape(_TAG.sub("", text))


def buttons_of(markup: Any) -> list[tuple[str, str]]:
    if not isinstance(markup, InlineKeyboardMarkup):
        return []
    return [(b.text, b.callback_data or "") for row in markup.inline_keyboard for b in row]


class Shell:
    """One terminal resident talking to the bot."""

    def __init__(self, app: Tapestry, out: TextIO, language: str | None) -> None:
        self.app = app
        self.out = out
        self.session = LocalSession()
        settings = app.settings.model_copy(update={"bot_token": SecretStr("42:shell")})
        self.delivery = Delivery(overall_per_second=1000, chat_per_second=1000, chat_burst=1000)
        self.bot = make_bot(settings, self.delivery, session=self.session)
        from aiogram.fsm.storage.memory import MemoryStorage

        self.dispatcher = make_dispatcher(app, self.delivery, MemoryStorage())
        self.dispatcher["escalations"].attach(self.bot)
        self.user = User(
            id=SHELL_USER_ID, is_bot=False, first_name="Resident", language_code=language or "en"
        )
        self.chat = Chat(id=SHELL_USER_ID, type="private")
        self.language = language
        self._update_ids = itertools.count(1)
        self._choices: list[tuple[str, str, Message]] = []

    async def start(self) -> None:
        await self.dispatcher["escalations"].seed_roles()
        if self.language:
            async with self.app.sessions() as session:
                await set_language(session, telegram_id=SHELL_USER_ID, language=self.language)
                await session.commit()
        await self.say("/start")

    async def say(self, line: str) -> None:
        """Whatever the resident typed: a number presses a button, anything else is sent."""
        if line.strip().isdigit() and 1 <= int(line) <= len(self._choices):
            _, data, message = self._choices[int(line) - 1]
            query = CallbackQuery(
                id=str(next(self._update_ids)),
                from_user=self.user,
                chat_instance="shell",
                message=message,
                data=data,
            )
            await self._feed(Update(update_id=next(self._update_ids), callback_query=query))
            return
        message = Message(
            message_id=next(self._update_ids),
            date=dt.datetime.now(dt.UTC),
            chat=self.chat,
            from_user=self.user,
            text=line,
        )
        await self._feed(Update(update_id=next(self._update_ids), message=message))

    async def _feed(self, update: Update) -> None:
        before = len(self.session.sent)
        await self.dispatcher.feed_update(self.bot, update)
        for method in self.session.sent[before:]:
            self._show(method)

    def _show(self, method: TelegramMethod[Any]) -> None:
        if isinstance(method, AnswerCallbackQuery):
            if method.text:
                self.out.write(f"bot (note)> {plain(method.text)}\n")
            return
        if not isinstance(method, SendMessage):
            return
        lines = plain(method.text).splitlines() or [""]
        self.out.write("bot> " + "\n     ".join(lines) + "\n")
        message = list(self.session.messages.values())[-1]
        choices = buttons_of(method.reply_markup)
        if choices:
            self._choices = [(text, data, message) for text, data in choices]
            for number, (text, _) in enumerate(choices, 1):
                self.out.write(f"     [{number}] {text}\n")
        self.out.write("\n")
        self.out.flush()


async def run_shell(app: Tapestry, language: str | None, source: TextIO = sys.stdin) -> None:
    interactive = source.isatty()
    out = sys.stdout
    shell = Shell(app, out, language)
    out.write("Tapestry shell: write as a resident would. Numbers press buttons. ")
    out.write("Ctrl-D (end of input) quits.\n\n")
    await shell.start()
    loop = asyncio.get_running_loop()
    while True:
        if interactive:
            out.write("you> ")
            out.flush()
        line = await loop.run_in_executor(None, source.readline)
        if not line:
            break
        line = line.rstrip("\n")
        if not interactive:
            out.write(f"you> {line}\n")
        if line.strip():
            await shell.say(line)
    await shell.dispatcher.storage.close()
