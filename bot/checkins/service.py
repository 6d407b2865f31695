"""Sending the check-ins that fall due. APScheduler calls `tick` every few seconds, which
starts `send_due` unless it is already running; the database says who is due
(`bot/db/checkins.py`), so a restart or a second replica changes nothing about who gets what.

Nudges are bulk sends: they take the lowest priority on the one outgoing path, so a crisis
reply or an answer to a resident always goes first. A small number are claimed at a time, so
a broadcast to thousands never holds more than a few dozen in memory, and a crash mid-way
loses at most those few (never sends one twice).
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
from collections.abc import Callable

from aiogram import Bot
from aiogram.exceptions import TelegramBadRequest, TelegramNetworkError
from aiogram.utils.i18n import I18n

from bot import keyboards as kb
from bot.checkins import texts
from bot.core import Tapestry
from bot.db import checkins as db
from bot.db.tables import utcnow
from bot.delivery import Priority, RecipientBlocked, priority
from bot.i18n import speaking

log = logging.getLogger(__name__)
Clock = Callable[[], dt.datetime]

# Nudges in flight at once: enough to keep the outgoing path busy at Telegram's 30/s.
CONCURRENCY = 32
STOP_GRACE = 5.0  # seconds a shutdown waits for nudges already claimed


def _log_failure(task: asyncio.Task[int]) -> None:
    if not task.cancelled() and task.exception() is not None:
        log.error("sending check-ins failed; the next look tries again", exc_info=task.exception())


class CheckIns:
    def __init__(self, app: Tapestry, i18n: I18n, clock: Clock = utcnow) -> None:
        self.app = app
        self.i18n = i18n
        self.clock = clock
        self.bot: Bot | None = None
        self._stopping = False
        self._sending: asyncio.Task[int] | None = None

    def attach(self, bot: Bot) -> None:
        self.bot = bot

    async def tick(self) -> None:
        """The scheduler's call: start sending what is due, unless a broadcast is under way
        (it picks up whatever falls due meanwhile)."""
        if self._stopping or (self._sending is not None and not self._sending.done()):
            return
        self._sending = asyncio.create_task(self.send_due(), name="check-ins")
        self._sending.add_done_callback(_log_failure)

    async def stop(self) -> None:
        """Claim nothing more, and let what is claimed already be sent (a few dozen at most)."""
        self._stopping = True
        if self._sending is not None:
            await asyncio.wait([self._sending], timeout=STOP_GRACE)

    async def send_due(self) -> int:
        """Send every check-in due now, and those that fall due meanwhile; how many went."""
        if self.bot is None:
            return 0
        queue: asyncio.Queue[tuple[db.Due, str]] = asyncio.Queue(maxsize=CONCURRENCY)
        sent = 0

        async def work() -> None:
            nonlocal sent
            while True:
                due, locale = await queue.get()
                try:
                    sent += await self._deliver(due, locale)
                except Exception:
                    log.exception("check-in for %s failed", due.resident_id)
                finally:
                    queue.task_done()

        workers = [asyncio.create_task(work()) for _ in range(CONCURRENCY)]
        try:
            while not self._stopping:
                claimed = await self._claim(CONCURRENCY)
                if not claimed:
                    break
                for item in claimed:
                    await queue.put(item)
            await queue.join()
        finally:
            for worker in workers:
                worker.cancel()
            await asyncio.gather(*workers, return_exceptions=True)
        if sent:
            log.info("sent %d check-ins", sent)
        return sent

    async def _claim(self, limit: int) -> list[tuple[db.Due, str]]:
        """Due check-ins with each resident's language; a resident who blocked the bot has
        their check-ins stopped instead."""
        async with self.app.sessions() as session:
            claimed = await db.claim_due(session, now=self.clock(), limit=limit)
            known = await db.languages_of(session, [due.resident_id for due in claimed])
            ready = []
            for due in claimed:
                language, blocked = known.get(due.resident_id, (None, False))
                if blocked:
                    await db.stop_checkin(session, resident_id=due.resident_id)
                else:
                    ready.append((due, language or due.language))
            await session.commit()
        return ready

    async def _deliver(self, due: db.Due, locale: str) -> int:
        assert self.bot is not None
        with speaking(self.i18n, locale):
            if due.kind == "nudge":
                text, markup = texts.nudge(), kb.nudge()
            else:
                text, markup = texts.gentle(), kb.checkin_settings(paused=False)
        try:
            with priority(Priority.BULK):
                message = await self.bot.send_message(due.resident_id, text, reply_markup=markup)
        except RecipientBlocked:
            async with self.app.sessions() as session:
                await db.stop_checkin(session, resident_id=due.resident_id)
                await session.commit()
            log.info("check-ins stopped for %s: they blocked the bot", due.resident_id)
            return 0
        except TelegramNetworkError as error:  # no reply: it may have arrived, so not again
            log.warning("check-in for %s may not have arrived: %s", due.resident_id, error)
            return 0
        except TelegramBadRequest as error:  # it would be refused again: wait for the next slot
            log.warning("check-in for %s refused: %s", due.resident_id, error)
            return 0
        except Exception as error:  # Telegram kept failing (5xx, 429s): try again soon
            async with self.app.sessions() as session:
                again = await db.give_back(session, due=due, now=self.clock())
                await session.commit()
            log.warning("check-in for %s not sent (%s); %s", due.resident_id, error,
                        "trying again soon" if again else "skipped")  # fmt: skip
            return 0
        if due.kind == "nudge":
            async with self.app.sessions() as session:
                await db.record_nudge_message(
                    session, resident_id=due.resident_id, message_id=message.message_id
                )
                await session.commit()
        return 1
