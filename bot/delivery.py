"""The one outgoing path: every request to Telegram passes through `Delivery`.

It is an aiogram request middleware, so it wraps whatever session the bot uses (the real
HTTP one, the terminal shell's, the tests' fake) and keeps, in one place:

- Telegram's limits: about 30 messages a second overall and about one a second per chat, with
  a short burst allowed. When the budget is short, crisis messages go first, then replies to
  residents, then bulk sends (check-in nudges).
- Retries: after a 429 it waits `retry_after`; after a 5xx, an HTML error page or a refused
  connection it backs off and tries again. A send whose reply timed out is NOT repeated: it
  may well have arrived, and a resident must never get the same message twice.
- Blocked residents: a 403 marks them, and nothing more is sent until they write again.
"""

from __future__ import annotations

import asyncio
import heapq
import itertools
import logging
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from enum import IntEnum
from typing import Any

from aiogram import Bot
from aiogram.client.session.middlewares.base import BaseRequestMiddleware, NextRequestMiddlewareType
from aiogram.exceptions import (
    ClientDecodeError,
    RestartingTelegram,
    TelegramBadRequest,
    TelegramForbiddenError,
    TelegramNetworkError,
    TelegramRetryAfter,
    TelegramServerError,
)
from aiogram.methods import (
    AnswerCallbackQuery,
    CopyMessage,
    ForwardMessage,
    GetUpdates,
    SendDocument,
    SendLocation,
    SendMessage,
    SendPhoto,
    SendSticker,
    SendVoice,
    TelegramMethod,
)
from aiogram.methods.base import TelegramType

log = logging.getLogger(__name__)

# Sends that must not be repeated when their reply is lost: they may have been delivered.
NOT_REPEATABLE: tuple[type[TelegramMethod[Any]], ...] = (
    SendMessage,
    CopyMessage,
    ForwardMessage,
    SendPhoto,
    SendVoice,
    SendSticker,
    SendDocument,
    SendLocation,
)
MAX_RATE_LIMIT_WAITS = 10  # 429s in a row before giving up on one request
UNLIMITED: tuple[type[TelegramMethod[Any]], ...] = (GetUpdates, AnswerCallbackQuery)


class Priority(IntEnum):
    CRISIS = 0
    REPLY = 1
    BULK = 2


_priority: ContextVar[Priority] = ContextVar("delivery_priority", default=Priority.REPLY)


@contextmanager
def priority(level: Priority) -> Iterator[None]:
    """Send everything inside this block at the given priority."""
    token = _priority.set(level)
    try:
        yield
    finally:
        _priority.reset(token)


class RecipientBlocked(Exception):
    """The resident has blocked the bot; nothing is sent to them."""

    def __init__(self, chat_id: int) -> None:
        super().__init__(f"chat {chat_id} has blocked the bot")
        self.chat_id = chat_id


@dataclass
class _Bucket:
    """A per-chat limit as a generic cell rate: `burst` at once, then one per `interval`."""

    interval: float
    burst: int
    due: float = 0.0  # the theoretical time of the next send, were there no burst

    def reserve(self, now: float) -> float:
        """Take the next slot; returns how long to wait for it."""
        self.due = max(self.due, now)
        wait = max(0.0, self.due - now - self.interval * (self.burst - 1))
        self.due += self.interval
        return wait


@dataclass(order=True)
class _Waiter:
    priority: int
    sequence: int
    future: asyncio.Future[None] = field(compare=False)


class Delivery(BaseRequestMiddleware):
    def __init__(
        self,
        *,
        overall_per_second: float = 28.0,  # Telegram allows about 30: keep a margin for jitter
        chat_per_second: float = 0.9,  # ... and about 1 a second per chat
        chat_burst: int = 3,
        max_attempts: int = 6,
        max_backoff: float = 30.0,
        on_blocked: Callable[[int], Awaitable[None]] | None = None,
    ) -> None:
        self.overall_interval = 1.0 / overall_per_second
        self.chat_interval = 1.0 / chat_per_second
        self.chat_burst = chat_burst
        self.max_attempts = max_attempts
        self.max_backoff = max_backoff
        self.on_blocked = on_blocked
        self.blocked: set[int] = set()
        self._chats: dict[int, _Bucket] = {}
        self._overall_free_at = 0.0
        self._waiters: list[_Waiter] = []
        self._sequence = itertools.count()
        self._pump: asyncio.Task[None] | None = None

    def unblock(self, chat_id: int) -> None:
        """They wrote to the bot again, so they have unblocked it."""
        self.blocked.discard(chat_id)

    async def __call__(
        self,
        make_request: NextRequestMiddlewareType[TelegramType],
        bot: Bot,
        method: TelegramMethod[TelegramType],
    ) -> Any:
        chat_id = getattr(method, "chat_id", None)
        chat = chat_id if isinstance(chat_id, int) else None
        if chat is not None and chat in self.blocked:
            raise RecipientBlocked(chat)
        attempt = waits = 0
        maybe_done = False  # an earlier attempt's reply was lost: it may have taken effect
        while True:
            if not isinstance(method, UNLIMITED):
                await self._wait_for_slot(chat, _priority.get())
            try:
                return await make_request(bot, method)
            except TelegramRetryAfter as error:
                waits += 1
                if waits > MAX_RATE_LIMIT_WAITS:
                    raise
                log.info("429 on %s: waiting %ss", method.__api_method__, error.retry_after)
                await asyncio.sleep(error.retry_after)
                continue  # Telegram did not perform it: always safe to repeat
            except TelegramBadRequest as error:
                if maybe_done and _already_done(error):
                    return True  # the lost attempt did it: an edit or an answer, not a send
                raise
            except TelegramForbiddenError:
                if chat is not None and chat > 0:
                    self.blocked.add(chat)
                    if self.on_blocked is not None:
                        await self.on_blocked(chat)
                    raise RecipientBlocked(chat) from None
                raise
            except (TelegramServerError, RestartingTelegram, ClientDecodeError) as error:
                failure: Exception = error  # `error` is unbound after its except block
                reason = f"server error ({type(error).__name__})"
            except TelegramNetworkError as error:
                if not _never_sent(error) and isinstance(method, NOT_REPEATABLE):
                    log.error("no reply to %s (%s): not repeating it", method.__api_method__, error)
                    raise
                failure = error
                maybe_done = maybe_done or not _never_sent(error)
                reason = f"network error ({error.message})"
            attempt += 1
            if attempt >= self.max_attempts:
                log.error("giving up on %s after %d attempts", method.__api_method__, attempt)
                raise failure
            delay = min(self.max_backoff, 0.5 * 2 ** (attempt - 1))
            log.warning("%s on %s: retrying in %.1fs", reason, method.__api_method__, delay)
            await asyncio.sleep(delay)

    async def _wait_for_slot(self, chat: int | None, level: Priority) -> None:
        """The chat's own pace first, then an overall slot (most urgent first), so that every
        send leaves right after its overall slot and the overall budget is never overrun."""
        loop = asyncio.get_running_loop()
        if chat is not None:
            bucket = self._chats.get(chat)
            if bucket is None:
                if len(self._chats) > 10_000:
                    self._forget_idle_chats(loop.time())
                bucket = self._chats[chat] = _Bucket(self.chat_interval, self.chat_burst)
            delay = bucket.reserve(loop.time())
            if delay > 0:
                await asyncio.sleep(delay)
        waiter = _Waiter(int(level), next(self._sequence), loop.create_future())
        heapq.heappush(self._waiters, waiter)
        if self._pump is None or self._pump.done():
            self._pump = asyncio.create_task(self._release_waiters())
        await waiter.future

    async def _release_waiters(self) -> None:
        """Let waiters go one per overall slot, the most urgent first."""
        loop = asyncio.get_running_loop()
        while self._waiters:
            now = loop.time()
            if self._overall_free_at > now:
                await asyncio.sleep(self._overall_free_at - now)
                continue
            waiter = heapq.heappop(self._waiters)
            if waiter.future.done():  # its sender was cancelled
                continue
            # Slots keep to their grid when this wake-up is late by less than half a slot, so a
            # long run of sends keeps the whole budget; later than that, they start again from
            # now (catching up more would bunch sends past Telegram's one-second window).
            slack = self.overall_interval / 2
            self._overall_free_at = max(self._overall_free_at, now - slack) + self.overall_interval
            waiter.future.set_result(None)

    def _forget_idle_chats(self, now: float) -> None:
        self._chats = {chat: b for chat, b in self._chats.items() if b.due > now}


def _already_done(error: TelegramBadRequest) -> bool:
    """What Telegram says when an edit or a callback answer is repeated."""
    return "message is not modified" in error.message or "query is too old" in error.message


def _never_sent(error: TelegramNetworkError) -> bool:
    """The connection was refused before anything was sent: safe to repeat any request."""
    return "ClientConnectorError" in error.message or "Cannot connect" in error.message
