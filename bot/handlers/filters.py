"""Filters as coroutines.

aiogram runs a plain function or a magic filter (`F.text`) in a worker thread, once per
update and handler tried; a coroutine runs on the loop. These are the few checks the routers
need, written as coroutines.
"""

from __future__ import annotations

from aiogram.filters import Filter
from aiogram.types import Message, User

from bot.core import Tapestry
from bot.db import cases as db


class HasText(Filter):
    """A message with text (not a sticker, photo, voice message...)."""

    async def __call__(self, message: Message) -> bool:
        return bool(message.text)


class LooksLikeCommand(Filter):
    """A text that starts with "/"."""

    async def __call__(self, message: Message) -> bool:
        return bool(message.text) and message.text.startswith("/")  # type: ignore[union-attr]


async def has_role(app: Tapestry, user_id: int, role: str) -> bool:
    """Whether the user is an "admin" or a "volunteer", asked of the database every time:
    callback data and commands can come from anyone."""
    async with app.sessions() as session:
        member = await db.get_staff(session, user_id)
    return member is not None and bool(getattr(member, f"is_{role}"))


class HasRole(Filter):
    """Staff commands: to anyone without the role they are unknown commands."""

    def __init__(self, role: str) -> None:
        self.role = role

    async def __call__(self, message: Message, app: Tapestry, event_from_user: User) -> bool:
        return await has_role(app, event_from_user.id, self.role)
