"""What runs around every update: flood control, the resident's record, their locale."""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from aiogram import BaseMiddleware
from aiogram.types import CallbackQuery, Message, TelegramObject, Update, User
from aiogram.utils.i18n import I18n, I18nMiddleware
from aiogram.utils.i18n import gettext as _

from bot.core import Tapestry
from bot.db.residents import stored_languages, touch_residents
from bot.delivery import Delivery
from bot.i18n import choose_locale
from bot.keyboards import SafetyAnswer
from bot.polling import settle

log = logging.getLogger(__name__)
Handler = Callable[[TelegramObject, dict[str, Any]], Awaitable[Any]]


@dataclass
class _Known:
    language: str | None
    written_at: float  # loop time of the last write of `last_seen`


class Residents:
    """What the bot remembers between updates: each resident's language, read once an hour,
    and "they wrote" written behind, many residents in one transaction.

    A database write on every message made the database the bottleneck (one commit each, and
    SQLite locking under load); a language is read when unknown or an hour old, and
    `last_seen` is written within a second, batched.
    """

    TOUCH_EVERY = 3600.0
    FLUSH_AFTER = 0.5  # seconds a write may wait to join others

    def __init__(self, app: Tapestry) -> None:
        self.app = app
        self._known: dict[int, _Known] = {}
        self._pending: dict[int, dt.datetime] = {}  # resident -> when they last wrote
        self._flusher: asyncio.Task[None] | None = None
        self._reading: dict[int, asyncio.Future[str | None]] = {}
        self._reader: asyncio.Task[None] | None = None

    def language(self, telegram_id: int, now: float) -> tuple[bool, str | None]:
        """(fresh, language): fresh when no database read is due."""
        known = self._known.get(telegram_id)
        if known is None or now - known.written_at >= self.TOUCH_EVERY:
            return False, None
        return True, known.language

    def remember(self, telegram_id: int, language: str | None, now: float) -> None:
        if len(self._known) > 100_000:
            self._known.clear()  # a cache, not a record: it refills from the database
        self._known[telegram_id] = _Known(language, now)

    def forget(self, telegram_id: int) -> None:
        self._known.pop(telegram_id, None)
        self._pending.pop(telegram_id, None)

    async def read(self, telegram_id: int) -> str | None:
        """The stored language, and a write of `last_seen` (and of no block) queued.

        Reads that arrive together are answered by one query.
        """
        future = self._reading.get(telegram_id)
        if future is None:
            future = self._reading[telegram_id] = asyncio.get_running_loop().create_future()
            if self._reader is None or self._reader.done():
                self._reader = asyncio.create_task(self._read_together())
        language = await asyncio.shield(future)
        self._pending[telegram_id] = dt.datetime.now(dt.UTC)
        if self._flusher is None or self._flusher.done():
            self._flusher = asyncio.create_task(self._flush_soon())
        return language

    async def _read_together(self) -> None:
        await asyncio.sleep(0)  # let the other updates of this batch ask too
        while self._reading:
            batch, self._reading = self._reading, {}
            try:
                async with self.app.sessions() as session:
                    languages = await stored_languages(session, list(batch))
            except Exception as error:
                for future in batch.values():
                    if not future.done():
                        future.set_exception(error)
                        future.exception()  # retrieved here: its reader may have gone
                continue
            for telegram_id, future in batch.items():
                if not future.done():
                    future.set_result(languages.get(telegram_id))

    async def flush(self) -> None:
        """Write every queued resident now, in one transaction."""
        pending, self._pending = self._pending, {}
        if not pending:
            return
        try:
            async with self.app.sessions() as session:
                await touch_residents(session, pending)
                await session.commit()
        except Exception:
            log.exception("could not record %d residents; will try again", len(pending))
            self._pending = {**pending, **self._pending}

    async def _flush_soon(self) -> None:
        await asyncio.sleep(self.FLUSH_AFTER)
        await self.flush()


class ResidentMiddleware(BaseMiddleware):
    """Records that the resident wrote, and reads their stored language.

    The database may be down: then the bot still answers, in Telegram's language, because a
    resident in crisis must never wait on it.
    """

    CRISIS_WAIT = 0.3  # seconds a crisis reply waits for the stored language

    def __init__(self, delivery: Delivery | None, residents: Residents) -> None:
        self.delivery = delivery
        self.residents = residents

    async def __call__(self, handler: Handler, event: TelegramObject, data: dict[str, Any]) -> Any:
        user: User | None = data.get("event_from_user")
        stored = None
        if user is not None and not user.is_bot:
            now = asyncio.get_running_loop().time()
            fresh, stored = self.residents.language(user.id, now)
            was_blocked = False
            if self.delivery is not None and user.id in self.delivery.blocked:
                self.delivery.unblock(user.id)
                was_blocked = True
            if not fresh or was_blocked:
                assessment = data.get("assessment")
                wait = self.CRISIS_WAIT if assessment is not None and assessment.crisis else None
                try:
                    stored = await asyncio.wait_for(self.residents.read(user.id), wait)
                    self.residents.remember(user.id, stored, now)
                except TimeoutError:
                    log.warning("resident record slow; answering a crisis without it")
                except Exception:
                    log.exception("resident record unavailable; answering without it")
        data["stored_language"] = stored
        return await handler(event, data)


def _answers_are_you_safe(event: TelegramObject | None) -> bool:
    """A press of "I'm safe / I need help now / talk to someone": it may raise a case."""
    return isinstance(event, CallbackQuery) and (event.data or "").startswith(
        SafetyAnswer.__prefix__ + ":"
    )


class SettleOrdinaryUpdates(BaseMiddleware):
    """Settles the receipt (see bot/polling.py) of anything but a message or a button press
    that could raise a crisis case; those settle it themselves."""

    async def __call__(self, handler: Handler, event: TelegramObject, data: dict[str, Any]) -> Any:
        assert isinstance(event, Update)
        could_escalate = event.message is not None or _answers_are_you_safe(event.callback_query)
        if not could_escalate:
            settle(data)
        return await handler(event, data)


class PrivateChatsOnly(BaseMiddleware):
    """Messages are answered in private chats only. In the volunteers' group (which gets
    alerts and whose members press "Take this case") the bot stays quiet."""

    async def __call__(self, handler: Handler, event: TelegramObject, data: dict[str, Any]) -> Any:
        if isinstance(event, Message) and event.chat.type != "private":
            settle(data)
            return None
        return await handler(event, data)


class CrisisAssessment(BaseMiddleware):
    """Reads every text once for crisis or concern; handlers and flood control share it.

    It runs first, before the database is touched: a crisis is answered even when the
    database is slow or down. Anything but a crisis settles its receipt here.
    """

    MAX_CHARS = 4096  # all that Telegram lets a message hold

    def __init__(self, app: Tapestry) -> None:
        self.app = app

    async def __call__(self, handler: Handler, event: TelegramObject, data: dict[str, Any]) -> Any:
        assessment = None
        if isinstance(event, Message) and event.text:
            assessment = data["assessment"] = self.app.crisis.assess(event.text[: self.MAX_CHARS])
        if assessment is None or not assessment.crisis:
            settle(data)
        return await handler(event, data)


class Lanes(BaseMiddleware):
    """At most `ordinary` updates are worked on at once; a crisis (or an answer to "are you
    safe?") never waits for a place.

    A search reply costs a few milliseconds of CPU. With a thousand of them in flight, a crisis
    message that arrives behind them would wait seconds for its turn on the event loop; with
    the others waiting here (costing nothing), it is answered at once.
    """

    def __init__(self, ordinary: int = 16) -> None:
        self.places = asyncio.Semaphore(ordinary)

    async def __call__(self, handler: Handler, event: TelegramObject, data: dict[str, Any]) -> Any:
        assessment = data.get("assessment")
        urgent = (assessment is not None and assessment.crisis) or _answers_are_you_safe(event)
        if urgent:
            return await handler(event, data)
        async with self.places:
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
        escalations = data.get("escalations")
        if user is not None and escalations is not None and user.id in escalations.index.staff:
            await escalations.remember_language(user.id, locale)
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

    def __init__(self, *, rate: float = 2.0, burst: int = 5, max_waiting: int = 10) -> None:
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
        elif (assessment := data.get("assessment")) is not None and assessment.crisis:
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
