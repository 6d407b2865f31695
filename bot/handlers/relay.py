"""A resident in a case talks to their volunteer, through the bot, and back.

Before every feature but safety: while a case is open, what the resident sends (text, photo,
voice, sticker...) is for the volunteer, not the search. Commands still work; /end finishes.
"""

from __future__ import annotations

from aiogram import Router
from aiogram.dispatcher.event.bases import SkipHandler
from aiogram.filters import Command, Filter, StateFilter
from aiogram.types import Message
from aiogram.utils.i18n import gettext as _

from bot.cases import texts
from bot.cases.service import Escalations
from bot.handlers.filters import LooksLikeCommand


class InCase(Filter):
    """The sender is a resident with an open case (the in-memory index; the handler checks
    the database)."""

    async def __call__(self, message: Message, escalations: Escalations) -> bool:
        user = message.from_user
        return user is not None and user.id in escalations.index.resident_cases


class VolunteerWithCase(Filter):
    async def __call__(self, message: Message, escalations: Escalations) -> bool:
        user = message.from_user
        return user is not None and user.id in escalations.index.busy_volunteers


async def resident_message(message: Message, escalations: Escalations) -> None:
    assert message.from_user is not None
    case_id = escalations.index.resident_cases.get(message.from_user.id)
    if case_id is None or not await escalations.from_resident(message, case_id):
        raise SkipHandler  # the case has closed meanwhile: an ordinary message after all


async def volunteer_message(message: Message, escalations: Escalations) -> None:
    assert message.from_user is not None
    if await escalations.from_volunteer(message, message.from_user.id) is None:
        raise SkipHandler


async def end_command(message: Message, escalations: Escalations, locale: str) -> None:
    assert message.from_user is not None
    closed = await escalations.end_by_resident(message.from_user.id)
    if closed is None:
        await message.answer(_("You're not in a chat with a volunteer right now."))
        return
    await message.answer(texts.resident_closed(locale))


def make_router() -> Router:
    router = Router(name="relay")
    router.message.register(end_command, Command("end"))
    not_command = ~LooksLikeCommand()
    router.message.register(resident_message, InCase(), not_command)
    router.message.register(volunteer_message, VolunteerWithCase(), StateFilter(None), not_command)
    return router
