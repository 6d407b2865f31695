"""A bare aiogram echo bot: the baseline that bench/bot_bench.py compares Tapestry with.

One Dispatcher, one handler that answers every text with the same text, long polling. The only
addition is the overall outgoing cap Tapestry has (OUTGOING_PER_SECOND, default 30, Telegram's
limit), so that both bots are held to the same budget.

    BOT_TOKEN=... TELEGRAM_API_URL=http://127.0.0.1:PORT python -m bench.echo_bot
"""

from __future__ import annotations

import asyncio
import os
from typing import Any

from aiogram import Bot, Dispatcher, F
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.session.middlewares.base import BaseRequestMiddleware, NextRequestMiddlewareType
from aiogram.client.telegram import TelegramAPIServer
from aiogram.methods import GetUpdates, TelegramMethod
from aiogram.methods.base import TelegramType
from aiogram.types import Message


class OverallCap(BaseRequestMiddleware):
    """At most `per_second` requests a second (getUpdates aside), in the order they came."""

    def __init__(self, per_second: float) -> None:
        self.interval = 1.0 / per_second
        self.free_at = 0.0

    async def __call__(
        self,
        make_request: NextRequestMiddlewareType[TelegramType],
        bot: Bot,
        method: TelegramMethod[TelegramType],
    ) -> Any:
        if not isinstance(method, GetUpdates):
            now = asyncio.get_running_loop().time()
            slot = max(self.free_at, now)
            self.free_at = slot + self.interval
            if slot > now:
                await asyncio.sleep(slot - now)
        return await make_request(bot, method)


async def echo(message: Message) -> None:
    await message.answer(message.text or "")


async def main() -> None:
    session = AiohttpSession(api=TelegramAPIServer.from_base(os.environ["TELEGRAM_API_URL"]))
    session.middleware(OverallCap(float(os.environ.get("OUTGOING_PER_SECOND", "30"))))
    bot = Bot(os.environ["BOT_TOKEN"], session=session)
    dispatcher = Dispatcher()
    dispatcher.message.register(echo, F.text)
    await dispatcher.start_polling(bot, polling_timeout=10)


if __name__ == "__main__":
    asyncio.run(main())
