"""One router per feature, in the order they must be tried: safety first, fallback last."""

from __future__ import annotations

from aiogram import Router

from bot.handlers import (
    admin,
    checkin,
    fallback,
    relay,
    safety,
    search,
    start,
    suggest,
    volunteer,
)


def get_routers() -> list[Router]:
    order = (safety, relay, volunteer, admin, start, checkin, suggest, search, fallback)
    return [m.make_router() for m in order]
