"""Long polling that confirms an update to Telegram only once it is safe to lose it.

aiogram's own polling confirms a batch (the `offset` of the next getUpdates) as soon as it has
started handling it. A crisis message whose escalation was not yet stored would then be lost
if the process died at that moment. Here each update carries a `Receipt`; the next getUpdates
waits (briefly) until every update of the batch has settled it: at once for an ordinary
message, after the escalation is stored for a crisis. After a crash, an unsettled update is
sent again by Telegram, and raising its case again finds the case already stored.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import signal
from contextlib import suppress
from typing import Any

from aiogram import Bot, Dispatcher
from aiogram.methods import GetUpdates
from aiogram.types import Update

log = logging.getLogger(__name__)
SETTLE_WITHIN = 5.0  # seconds a batch may hold back the next getUpdates
MAX_BACKOFF = 30.0


class Receipt:
    """Settled when losing the update in a crash would no longer lose anything that matters."""

    def __init__(self) -> None:
        self._settled = asyncio.Event()

    def settle(self) -> None:
        self._settled.set()

    @property
    def settled(self) -> bool:
        return self._settled.is_set()

    async def wait(self) -> None:
        await self._settled.wait()


def settle(data: dict[str, Any]) -> None:
    """Settle the update's receipt, if it came with one (long polling)."""
    receipt: Receipt | None = data.get("receipt")
    if receipt is not None:
        receipt.settle()


def _settle_when_done(receipt: Receipt, _: asyncio.Task[Any]) -> None:
    receipt.settle()


class Poller:
    def __init__(self, dispatcher: Dispatcher, bot: Bot, *, timeout: int) -> None:
        self.dispatcher = dispatcher
        self.bot = bot
        self.timeout = timeout
        self.tasks: set[asyncio.Task[Any]] = set()
        self.offset: int | None = None
        self.confirmed: int | None = None  # the offset Telegram was last sent

    async def run(self) -> None:
        """Start-up, poll until SIGTERM/SIGINT, finish what is in flight, shut down."""
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, stop.set)
        allowed = self.dispatcher.resolve_used_update_types()
        await self.dispatcher.emit_startup(bot=self.bot, dispatcher=self.dispatcher,
                                           **self.dispatcher.workflow_data)  # fmt: skip
        me = await self.bot.me()
        log.info("polling for @%s", me.username)
        polling = asyncio.create_task(self._poll(allowed))
        try:
            await asyncio.wait([polling, asyncio.create_task(stop.wait())],
                               return_when=asyncio.FIRST_COMPLETED)  # fmt: skip
        finally:
            polling.cancel()
            with suppress(asyncio.CancelledError):
                await polling
            log.info("polling stopped")
            try:
                await self.dispatcher.emit_shutdown(bot=self.bot, dispatcher=self.dispatcher,
                                                    **self.dispatcher.workflow_data)  # fmt: skip
                await self._confirm_last_batch()
            finally:
                await self.bot.session.close()

    async def _poll(self, allowed: list[str]) -> None:
        backoff = 1.0
        request_timeout = self.timeout + 30
        while True:
            try:
                updates = await self.bot(
                    GetUpdates(offset=self.offset, timeout=self.timeout, allowed_updates=allowed),
                    request_timeout=request_timeout,
                )
            except asyncio.CancelledError:
                raise
            except Exception as error:
                log.error("could not fetch updates (%s); again in %.0f s", error, backoff)
                await asyncio.sleep(backoff)
                backoff = min(MAX_BACKOFF, backoff * 2)
                continue
            backoff = 1.0
            self.confirmed = self.offset
            if updates:
                await self._handle(updates)
                self.offset = updates[-1].update_id + 1

    async def _handle(self, updates: list[Update]) -> None:
        receipts = []
        for update in updates:
            receipt = Receipt()
            task = asyncio.create_task(
                self.dispatcher.feed_update(self.bot, update, receipt=receipt)
            )
            self.tasks.add(task)
            task.add_done_callback(self.tasks.discard)
            task.add_done_callback(functools.partial(_settle_when_done, receipt))
            receipts.append(receipt)
        waiting = [asyncio.create_task(r.wait()) for r in receipts if not r.settled]
        if waiting:
            _, late = await asyncio.wait(waiting, timeout=SETTLE_WITHIN)
            for task in late:
                task.cancel()
            if late:
                log.warning("%d updates not settled after %.0f s; confirming them anyway",
                            len(late), SETTLE_WITHIN)  # fmt: skip

    async def _confirm_last_batch(self) -> None:
        """Tell Telegram the last batch was handled, so a restart does not answer it twice."""
        if self.offset is None or self.offset == self.confirmed:
            return
        with suppress(Exception):
            # limit=1, timeout=0: returns at once; what it returns stays unconfirmed.
            await self.bot(GetUpdates(offset=self.offset, limit=1, timeout=0), request_timeout=5)
