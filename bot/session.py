"""aiogram's aiohttp session, with form bodies encoded by yarl's quoter (C) instead of urllib's.

A page of cards in Arabic, Bengali or Ukrainian is a few kilobytes that are almost all bytes to
percent-encode, and urllib's `urlencode` takes a Python call per byte: measured, 157 µs for a
page of three cards against 17 µs by yarl, 7% of the bot's CPU per answered question. The
fields a server decodes are the same; yarl leaves a few more characters as they are (such as
"/" and ":"), as the form encoding allows.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from enum import Enum
from typing import Any

from aiogram import Bot
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.methods import TelegramMethod
from aiogram.methods.base import Response, TelegramType
from aiogram.types import InputFile
from aiohttp import FormData
from aiohttp.payload import BytesPayload, Payload
from yarl import URL

FORM = "application/x-www-form-urlencoded"


def urlencode(fields: Sequence[tuple[str, str]]) -> bytes:
    """An application/x-www-form-urlencoded body of text fields."""
    return URL.build(query=fields).raw_query_string.encode("ascii")


class EncodedForm(FormData):
    """Text fields already encoded: aiohttp sends `body` as it is.

    FormData's own set-up is not run: it prepares a multipart writer (a random boundary from
    uuid4, 1.5% of the bot's CPU) for fields that aiohttp would encode, and there are none.
    """

    def __init__(self, body: bytes) -> None:  # super().__init__ is deliberately not called
        self.body = body

    def __call__(self) -> Payload:
        return BytesPayload(self.body, content_type=FORM)


def read_reply(content: str) -> Any:
    """Telegram's reply, less what a sent message repeats back: its entities and keyboard.

    The bot has just sent them and never reads them back (it keeps a sent message's id), and
    turning them into aiogram's models took 120 of the 145 µs that reading the reply to a page
    of cards cost. Everything else, and every other kind of reply, is read as it came.
    """
    reply = json.loads(content)
    result = reply.get("result") if isinstance(reply, dict) else None
    if isinstance(result, dict):
        result.pop("entities", None)
        result.pop("reply_markup", None)
    return reply


class Session(AiohttpSession):
    """Sends what aiogram's session sends; a request with files is left to aiogram (multipart).

    Replies are read by `read_reply`. It also keeps each `Response[...]` model it has used:
    pydantic caches those weakly and nothing else holds them, so every full garbage collection
    dropped `Response[Message]` and the next reply rebuilt its schema (about 4 ms, measured).
    """

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**{"json_loads": read_reply, **kwargs})
        self._response_models: dict[Any, type[Response[Any]]] = {}

    def check_response(
        self, bot: Bot, method: TelegramMethod[TelegramType], status_code: int, content: str
    ) -> Response[TelegramType]:
        returning = method.__returning__
        if returning not in self._response_models:
            self._response_models[returning] = Response[returning]  # type: ignore[valid-type]
        return super().check_response(bot, method, status_code, content)

    def build_form_data(self, bot: Bot, method: TelegramMethod[TelegramType]) -> FormData:
        files: dict[str, InputFile] = {}
        fields = []
        for name, value in method.model_dump(warnings=False).items():
            prepared = self.prepare_value(value, bot=bot, files=files)
            if isinstance(prepared, Enum):  # aiogram keeps str enums (ParseMode.HTML) as they are
                prepared = prepared.value
            if prepared:
                fields.append((name, prepared))
        if files:
            return super().build_form_data(bot, method)
        return EncodedForm(urlencode(fields))
