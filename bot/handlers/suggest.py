"""'Suggest a service': a resident tells the admins about somewhere that helped them."""

from __future__ import annotations

from aiogram import F, Router
from aiogram.filters import Command, StateFilter
from aiogram.fsm.context import FSMContext
from aiogram.fsm.state import State, StatesGroup
from aiogram.types import CallbackQuery, Message
from aiogram.utils.i18n import gettext as _

from bot import keyboards as kb
from bot.core import Tapestry
from bot.db.residents import record_suggestion
from bot.handlers.filters import HasText

MAX_SUGGESTION_CHARS = 1000


class Suggesting(StatesGroup):
    waiting = State()


async def ask_for_suggestion(query: CallbackQuery, state: FSMContext) -> None:
    await query.answer()
    await state.set_state(Suggesting.waiting)
    if query.message is not None:
        await query.message.answer(
            _(
                "Which service should I know about? Write its name, what it does and how to "
                "reach it, in any language. Send /cancel to stop."
            )
        )


async def cancel(message: Message, state: FSMContext) -> None:
    await state.set_state(None)
    await message.answer(_("Alright, cancelled."), reply_markup=kb.main_menu())


async def take_suggestion(message: Message, app: Tapestry, locale: str, state: FSMContext) -> None:
    text = (message.text or "").strip()
    if len(text) < 3:
        await message.answer(_("Could you tell me a little more about it? Send /cancel to stop."))
        return
    async with app.sessions() as session:
        await record_suggestion(session, text=text[:MAX_SUGGESTION_CHARS], language=locale)
        await session.commit()
    await state.set_state(None)
    await message.answer(
        _("Thank you! The organisers will check it and add it if it can help others."),
        reply_markup=kb.main_menu(),
    )


def make_router() -> Router:
    """A fresh router (a router belongs to one dispatcher; tests build several)."""
    router = Router(name="suggest")
    router.callback_query.register(ask_for_suggestion, kb.MenuAction.filter(F.action == "suggest"))
    router.message.register(cancel, Command("cancel"), StateFilter(Suggesting.waiting))
    router.message.register(take_suggestion, StateFilter(Suggesting.waiting), HasText())
    return router
