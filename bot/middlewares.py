"""What runs around every update: flood control, the resident's record, their locale."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from aiogram import BaseMiddleware
from aiogram.types import CallbackQuery, Message, TelegramObject, User
from aiogram.utils.i18n import I18n, I18nMiddleware
from aiogram.utils.i18n import gettext as _

from bot.core import Tapestry
from bot.db.residents import touch_resident
from bot.delivery import Delivery
from bot.i18n import choose_locale

log = logging.getLogger(__name__)
Handler = Callable[[TelegramObject, dict[str, Any]], Awaitable[Any]]


class ResidentMiddleware(BaseMiddleware):
    """Records that the resident wrote, and reads their stored language.

    The database may be down: then the bot still answers, in Telegram's language, because a
    resident in crisis must never wait on it.
    """

    def __init__(self, app: Tapestry, delivery: Delivery | None) -> None:
        self.app = app
        self.delivery = delivery

    async def __call__(self, handler: Handler, event: TelegramObject, data: dict[str, Any]) -> Any:
        user: User | None = data.get("event_from_user")
        stored = None
        if user is not None and not user.is_bot:
            if self.delivery is not None:
                self.delivery.unblock(user.id)
            try:
                async with self.app.sessions() as session:
                    resident = await touch_resident(session, telegram_id=user.id)
                    stored = resident.language
                    await session.commit()
            except Exception:
                log.exception("resident record unavailable; answering without it")
        data["stored_language"] = stored
        return await handler(event, data)


class LocaleMiddleware(I18nMiddleware):
    """The stored choice, else Telegram's language if it is one of ours, else the default."""

    def __init__(self, i18n: I18n, languages: tuple[str, ...], default: str) -> None:
        super().__init__(i18n)
        self.languages = languages
        self.default = default

    async def get_locale(self, event: TelegramObject, data: dict[str, Any]) -> str:
        user: User | None = data.get("event_from_user")
        locale = choose_locale(
            data.get("stored_language"),
            user.language_code if user else None,
            self.languages,
            self.default,
        )
        data["locale"] = locale
        return locale


@dataclass
class _Pace:
    due: float = 0.0  # when this resident's next update may be handled
    waiting: int = 0
    warned: bool = False


class FloodControl(BaseMiddleware):
    """Slows down a resident who sends faster than `rate` updates a second (after a burst).

    Their updates wait their turn; others are not held up, since each update is its own task.
    Beyond `max_waiting` queued updates, the extra ones are dropped with one kind notice.
    A text that reads as a crisis is never held back nor dropped: it is answered at once.
    """

    def __init__(
        self, app: Tapestry, *, rate: float = 2.0, burst: int = 5, max_waiting: int = 10
    ) -> None:
        self.app = app
        self.interval = 1.0 / rate
        self.burst = burst
        self.max_waiting = max_waiting
        self._paces: dict[int, _Pace] = {}

    async def __call__(self, handler: Handler, event: TelegramObject, data: dict[str, Any]) -> Any:
        user: User | None = data.get("event_from_user")
        if user is None:
            return await handler(event, data)
        now = asyncio.get_running_loop().time()
        pace = self._paces.setdefault(user.id, _Pace())
        pace.due = max(pace.due, now)
        wait = max(0.0, pace.due - now - self.interval * (self.burst - 1))
        if wait == 0:
            pace.warned = False
        elif self._is_crisis(event):
            return await handler(event, data)
        elif pace.waiting >= self.max_waiting:
            await self._warn_once(pace, event)
            return None
        pace.due += self.interval
        pace.waiting += 1
        try:
            if wait:
                await asyncio.sleep(wait)
            return await handler(event, data)
        finally:
            pace.waiting -= 1
            if len(self._paces) > 10_000:
                self._paces = {k: p for k, p in self._paces.items() if p.due > now or p.waiting}

    def _is_crisis(self, event: TelegramObject) -> bool:
        text = event.text if isinstance(event, Message) else None
        return bool(text) and self.app.crisis.assess(text or "").crisis

    async def _warn_once(self, pace: _Pace, event: TelegramObject) -> None:
        if isinstance(event, CallbackQuery):
            await event.answer()
        if pace.warned or not isinstance(event, Message):
            return
        pace.warned = True
        await event.answer(
            _(
                "You're sending messages very fast, so I may skip some. Please wait a moment, "
                "then send one message at a time."
            )
        )
