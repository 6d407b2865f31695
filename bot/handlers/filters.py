"""Filters as coroutines.

aiogram runs a plain function or a magic filter (`F.text`) in a worker thread, once per
update and handler tried; a coroutine runs on the loop. These are the few checks the routers
need, written as coroutines.
"""

from __future__ import annotations

from aiogram.filters import Filter
from aiogram.types import Message


class HasText(Filter):
    """A message with text (not a sticker, photo, voice message...)."""

    async def __call__(self, message: Message) -> bool:
        return bool(message.text)


class LooksLikeCommand(Filter):
    """A text that starts with "/"."""

    async def __call__(self, message: Message) -> bool:
        return bool(message.text) and message.text.startswith("/")  # type: ignore[union-attr]
