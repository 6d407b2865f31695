"""Building the bot and its dispatcher, and running them: long polling or a webhook."""

from __future__ import annotations

import asyncio
import gc
import hashlib
import logging
import time
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from aiogram import Bot, Dispatcher
from aiogram.client.default import DefaultBotProperties
from aiogram.client.session.base import BaseSession
from aiogram.client.telegram import PRODUCTION, TelegramAPIServer
from aiogram.enums import ParseMode
from aiogram.fsm.storage.base import BaseStorage, StateType, StorageKey
from aiogram.fsm.storage.memory import MemoryStorage
from aiogram.types import BotCommand
from aiogram.utils.i18n import I18n
from aiogram.utils.i18n import gettext as _

from bot.cards import warm_up
from bot.cases.service import Escalations
from bot.checkins.service import CheckIns
from bot.config import Settings
from bot.core import Tapestry
from bot.db.residents import mark_blocked
from bot.delivery import Delivery
from bot.handlers import get_routers
from bot.handlers.checkin import mark_reply_to_nudge
from bot.i18n import make_i18n, speaking
from bot.middlewares import (
    CrisisAssessment,
    FloodControl,
    Lanes,
    LocaleMiddleware,
    PrivateChatsOnly,
    ResidentMiddleware,
    Residents,
    SettleOrdinaryUpdates,
)
from bot.polling import Poller
from bot.scheduler import make_scheduler
from bot.session import Session

log = logging.getLogger(__name__)
SHUTDOWN_GRACE = 20.0  # seconds that in-flight updates get to finish on SIGTERM


def command_menu() -> list[BotCommand]:
    """The commands Telegram lists in its menu, described in the current locale."""
    return [
        BotCommand(command="start", description=_("Start again")),
        BotCommand(command="help", description=_("How I can help")),
        BotCommand(command="checkin", description=_("Check-ins: how often, pause or stop")),
        BotCommand(command="mood", description=_("My answers to check-ins")),
        BotCommand(command="language", description=_("Change the language")),
        BotCommand(command="privacy", description=_("What I keep about you")),
        BotCommand(command="forget", description=_("Delete everything about me")),
    ]


CONVERSATION_TTL = 3600  # seconds a resident's latest search is kept (/privacy says so)


class ForgetfulMemoryStorage(MemoryStorage):
    """Memory storage that forgets a conversation an hour after it was last touched."""

    def __init__(self, ttl: float = CONVERSATION_TTL, sweep_every: float = 60.0) -> None:
        super().__init__()
        self.ttl = ttl
        self.sweep_every = sweep_every
        self._touched: dict[StorageKey, float] = {}
        self._swept = time.monotonic()

    async def set_state(self, key: StorageKey, state: StateType = None) -> None:
        self._touch(key)
        await super().set_state(key, state)

    async def set_data(self, key: StorageKey, data: Mapping[str, Any]) -> None:
        self._touch(key)
        await super().set_data(key, data)

    def _touch(self, key: StorageKey) -> None:
        now = time.monotonic()
        self._touched[key] = now
        if now - self._swept < self.sweep_every:
            return
        self._swept = now
        for old in [k for k, at in self._touched.items() if now - at > self.ttl]:
            del self._touched[old]
            self.storage.pop(old, None)


def make_storage(settings: Settings) -> BaseStorage:
    """FSM storage: Redis when configured (several replicas), else memory (one process)."""
    if settings.redis_url:
        from aiogram.fsm.storage.redis import RedisStorage

        return RedisStorage.from_url(
            settings.redis_url, state_ttl=CONVERSATION_TTL, data_ttl=CONVERSATION_TTL
        )
    return ForgetfulMemoryStorage()


def make_bot(settings: Settings, delivery: Delivery, session: BaseSession | None = None) -> Bot:
    """The bot, every request through `delivery`; `bot run` has checked the token is set."""
    if session is None:
        url = settings.telegram_api_url
        session = Session(api=TelegramAPIServer.from_base(url) if url else PRODUCTION)
    session.middleware(delivery)
    token = settings.bot_token.get_secret_value() if settings.bot_token else ""
    return Bot(token, session=session, default=DefaultBotProperties(parse_mode=ParseMode.HTML))


def make_dispatcher(app: Tapestry, delivery: Delivery | None, storage: BaseStorage) -> Dispatcher:
    """The dispatcher with every router and middleware; `app` reaches handlers as `app`."""
    dispatcher = Dispatcher(storage=storage, app=app)
    i18n = dispatcher["i18n"] = make_i18n(app.settings.locales_dir, app.settings.default_language)
    locale = LocaleMiddleware(i18n, app.settings.languages, app.settings.default_language)
    flood = FloodControl()
    residents = dispatcher["residents"] = Residents(app)
    dispatcher["escalations"] = Escalations(app, i18n)
    dispatcher["checkins"] = CheckIns(app, i18n)
    dispatcher.shutdown.register(residents.flush)
    dispatcher.update.outer_middleware(SettleOrdinaryUpdates())
    dispatcher.message.outer_middleware(PrivateChatsOnly())
    dispatcher.message.outer_middleware(CrisisAssessment(app))
    lanes = Lanes()
    for observer in (dispatcher.message, dispatcher.callback_query):
        observer.outer_middleware(ResidentMiddleware(delivery, residents))
        observer.outer_middleware(locale)
        observer.outer_middleware(flood)
        observer.outer_middleware(lanes)  # last: a resident slowed down holds no place
    dispatcher.message.outer_middleware(mark_reply_to_nudge)
    dispatcher.include_routers(*get_routers())
    return dispatcher


def blocked_marker(app: Tapestry) -> Callable[[int], Awaitable[None]]:
    async def mark(chat_id: int) -> None:
        log.info("chat %s blocked the bot; not sending to it any more", chat_id)
        try:
            async with app.sessions() as session:
                await mark_blocked(session, telegram_id=chat_id)
                await session.commit()
        except Exception:
            log.exception("could not mark chat %s as blocked", chat_id)

    return mark


async def _finish_in_flight(tasks: set[asyncio.Task[Any]]) -> None:
    waiting = [t for t in tasks if not t.done()]
    if waiting:
        log.info("finishing %d updates in flight", len(waiting))
        await asyncio.wait(waiting, timeout=SHUTDOWN_GRACE)


def freeze_what_start_up_built() -> None:
    """Keep the garbage collector from walking, again and again, what lives as long as the bot.

    The search index, the language and crisis models, Babel's locale data and the warmed-up
    cards are about half a million objects; every full collection walked them all. Frozen, in
    the bot benchmark's throughput phase: 2.59 to 2.22 ms of CPU per question, and the time in
    collections from 3.8 s to 0.8 s over 11,000 questions.
    """
    gc.collect()
    gc.freeze()


async def run_bot(app: Tapestry) -> None:
    """`bot run`: long polling, or a webhook server when WEBHOOK_URL is set."""
    settings = app.settings
    delivery = Delivery(
        overall_per_second=settings.outgoing_per_second, on_blocked=blocked_marker(app)
    )
    bot = make_bot(settings, delivery)
    dispatcher = make_dispatcher(app, delivery, make_storage(settings))
    escalations: Escalations = dispatcher["escalations"]
    checkins: CheckIns = dispatcher["checkins"]
    scheduler = make_scheduler(escalations, checkins)
    poller = (
        None if settings.webhook_url else Poller(dispatcher, bot, timeout=settings.polling_timeout)
    )

    async def on_startup(bot: Bot, i18n: I18n) -> None:
        warm_up(app.searcher, settings.languages, i18n)
        await escalations.start(bot)
        checkins.attach(bot)
        scheduler.start()
        for language in (None, *settings.languages):  # None: anyone whose language we lack
            with speaking(i18n, language or settings.default_language):
                await bot.set_my_commands(command_menu(), language_code=language)
        freeze_what_start_up_built()

    async def on_shutdown(bot: Bot) -> None:
        if poller is not None:
            await _finish_in_flight(poller.tasks)
        await checkins.stop()
        scheduler.shutdown(wait=False)
        await escalations.stop()
        await dispatcher.storage.close()

    dispatcher.startup.register(on_startup)
    dispatcher.shutdown.register(on_shutdown)
    if poller is None:
        await _run_webhook(app, bot, dispatcher)
    else:
        await bot.delete_webhook(drop_pending_updates=False)
        await poller.run()


def webhook_secret(settings: Settings) -> str:
    """The secret Telegram sends back on every webhook call: set, or derived from the token."""
    if settings.webhook_secret:
        return settings.webhook_secret.get_secret_value()
    token = settings.bot_token.get_secret_value() if settings.bot_token else ""
    return hashlib.sha256(f"tapestry-webhook:{token}".encode()).hexdigest()[:48]


async def _run_webhook(app: Tapestry, bot: Bot, dispatcher: Dispatcher) -> None:
    from aiogram.webhook.aiohttp_server import SimpleRequestHandler, setup_application
    from aiohttp import web

    settings = app.settings
    assert settings.webhook_url is not None
    secret = webhook_secret(settings)
    web_app = web.Application()
    # handle_in_background=False: Telegram gets 200 only once the update is handled, so an
    # update cut off by a shutdown is sent again rather than lost.
    SimpleRequestHandler(dispatcher, bot, handle_in_background=False, secret_token=secret).register(
        web_app, path=settings.webhook_path
    )
    setup_application(web_app, dispatcher, bot=bot)
    runner = web.AppRunner(web_app)
    await runner.setup()
    site = web.TCPSite(runner, settings.webhook_host, settings.webhook_port)
    await site.start()
    url = settings.webhook_url.rstrip("/") + settings.webhook_path
    await bot.set_webhook(url, secret_token=secret, drop_pending_updates=False)
    log.info("webhook listening on %s:%s%s", settings.webhook_host, settings.webhook_port,
             settings.webhook_path)  # fmt: skip
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    import signal

    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    try:
        await stop.wait()
    finally:
        await runner.cleanup()  # runs the dispatcher's shutdown, which finishes in-flight work
        await bot.session.close()
