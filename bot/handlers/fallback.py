"""Everything else: messages the bot cannot read, unknown commands, stale or forged buttons.

This router goes last, so it only sees what no other handler took.
"""

from __future__ import annotations

import logging

from aiogram import Router
from aiogram.types import CallbackQuery, ErrorEvent, Message
from aiogram.utils.i18n import gettext as _

from bot import keyboards as kb
from bot.delivery import RecipientBlocked
from bot.handlers.filters import HasText, LooksLikeCommand

log = logging.getLogger(__name__)


async def unknown_command(message: Message) -> None:
    await message.answer(
        _("I don't know that command. Here is what I can do:"), reply_markup=kb.main_menu()
    )


async def text_while_busy(message: Message) -> None:
    # Reaches here only in a state whose handler wants something else.
    await message.answer(_("Sorry, I didn't understand that. Send /cancel to start again."))


async def cannot_read(message: Message) -> None:
    """Stickers, photos, voice, files, locations: say kindly what does work."""
    await message.answer(
        _(
            "Thank you for sending that. I can only read written messages for now. Could you "
            "type what you're looking for, or choose a topic?"
        ),
        reply_markup=kb.back_to_topics(),
    )


async def unknown_button(query: CallbackQuery) -> None:
    await query.answer(_("This button no longer works. Please choose again."))


async def on_error(event: ErrorEvent) -> bool:
    """Log it, and tell the resident something went wrong rather than staying silent."""
    if isinstance(event.exception, RecipientBlocked):
        return True
    log.error("error while handling an update", exc_info=event.exception)
    update = event.update
    try:
        if update.callback_query is not None:
            await update.callback_query.answer(_("Sorry, something went wrong. Please try again."))
        elif update.message is not None:
            await update.message.answer(
                _("Sorry, something went wrong on my side. Please try again in a moment.")
            )
    except Exception:  # the error reply is best effort
        log.exception("could not tell the resident about an error")
    return True


def make_router() -> Router:
    """A fresh router (a router belongs to one dispatcher; tests build several)."""
    router = Router(name="fallback")
    router.message.register(unknown_command, LooksLikeCommand())
    router.message.register(text_while_busy, HasText())
    router.message.register(cannot_read)
    router.callback_query.register(unknown_button)
    router.errors.register(on_error)
    return router
