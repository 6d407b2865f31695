"""One router per feature, in the order they must be tried: safety first, fallback last."""

from __future__ import annotations

from aiogram import Router

from bot.handlers import admin, fallback, relay, safety, search, start, suggest, volunteer


def get_routers() -> list[Router]:
    return [
        m.make_router() for m in (safety, relay, volunteer, admin, start, suggest, search, fallback)
    ]
