"""One router per feature, in the order they must be tried: safety first, fallback last."""

from __future__ import annotations

from aiogram import Router

from bot.handlers import fallback, safety, search, start, suggest


def get_routers() -> list[Router]:
    return [m.make_router() for m in (safety, start, suggest, search, fallback)]
