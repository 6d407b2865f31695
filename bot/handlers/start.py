"""Greeting, menu, language, help, privacy and forgetting."""

from __future__ import annotations

import asyncio

from aiogram import F, Router
from aiogram.filters import Command, CommandStart
from aiogram.fsm.context import FSMContext
from aiogram.types import CallbackQuery, Message
from aiogram.utils.i18n import I18n
from aiogram.utils.i18n import gettext as _

from bot import keyboards as kb
from bot.cases.service import Escalations
from bot.core import Tapestry
from bot.db.residents import forget_resident, set_language
from bot.middlewares import Residents
from bot.replies import help_text, privacy_text, welcome


async def start(message: Message, state: FSMContext) -> None:
    await state.clear()
    await message.answer(welcome(), reply_markup=kb.main_menu())


async def help_command(message: Message) -> None:
    await message.answer(help_text(), reply_markup=kb.main_menu())


async def privacy_command(message: Message, app: Tapestry) -> None:
    await message.answer(privacy_text(round(app.settings.transcript_days)))


async def language_command(message: Message, app: Tapestry, locale: str) -> None:
    await message.answer(
        _("Choose your language:"), reply_markup=kb.language_picker(app.settings.languages, locale)
    )


async def menu(
    query: CallbackQuery, callback_data: kb.MenuAction, app: Tapestry, locale: str
) -> None:
    await query.answer()
    if query.message is None:
        return
    if callback_data.action == "help":
        await query.message.answer(help_text(), reply_markup=kb.main_menu())
    elif callback_data.action == "privacy":
        await query.message.answer(privacy_text(round(app.settings.transcript_days)))
    elif callback_data.action == "language":
        await query.message.answer(
            _("Choose your language:"),
            reply_markup=kb.language_picker(app.settings.languages, locale),
        )
    else:
        await query.message.answer(welcome(), reply_markup=kb.main_menu())


async def pick_language(
    query: CallbackQuery,
    callback_data: kb.PickLanguage,
    app: Tapestry,
    i18n: I18n,
    residents: Residents,
) -> None:
    code = callback_data.code
    if code not in app.settings.languages:
        await query.answer(_("This button no longer works. Please choose again."))
        return
    async with app.sessions() as session:
        await set_language(session, telegram_id=query.from_user.id, language=code)
        await session.commit()
    residents.remember(query.from_user.id, code, asyncio.get_running_loop().time())
    await query.answer()
    with i18n.use_locale(code):
        if query.message is not None:
            await query.message.answer(
                _("Done! I'll write to you in English from now on."), reply_markup=kb.main_menu()
            )


async def forget_command(message: Message) -> None:
    await message.answer(
        _(
            "This deletes everything I hold about you: your Telegram account ID, your language, "
            "when you last wrote, your check-ins and their answers, and any chat with a "
            "volunteer. Are you sure?"
        ),
        reply_markup=kb.forget_confirmation(),
    )


async def forget(
    query: CallbackQuery,
    callback_data: kb.ForgetMe,
    app: Tapestry,
    state: FSMContext,
    residents: Residents,
    escalations: Escalations,
) -> None:
    await query.answer()
    if query.message is None:
        return
    if not callback_data.confirm:
        await query.message.answer(_("Alright, nothing was deleted."))
        return
    await escalations.forget_resident(query.from_user.id)
    async with app.sessions() as session:
        await forget_resident(session, telegram_id=query.from_user.id)
        await session.commit()
    residents.forget(query.from_user.id)
    await state.clear()
    await query.message.answer(
        _(
            "Done. I have deleted everything I held about you. If you write again, I'll start "
            "fresh. Take care."
        )
    )


def make_router() -> Router:
    """A fresh router (a router belongs to one dispatcher; tests build several)."""
    router = Router(name="start")
    router.message.register(start, CommandStart())
    router.message.register(help_command, Command("help"))
    router.message.register(privacy_command, Command("privacy"))
    router.message.register(language_command, Command("language"))
    router.callback_query.register(
        menu,
        kb.MenuAction.filter(F.action.in_({"help", "privacy", "language", "menu"})),
    )
    router.callback_query.register(pick_language, kb.PickLanguage.filter())
    router.message.register(forget_command, Command("forget"))
    router.callback_query.register(forget, kb.ForgetMe.filter())
    return router
