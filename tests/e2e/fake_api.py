"""A strict fake Telegram Bot API on 127.0.0.1, for running the real bot end to end.

    async with FakeTelegram() as fake:
        alice = fake.user(1001, language_code="pl", first_name="Alicja")
        start_bot_subprocess(api_url=fake.url, token=fake.token)
        alice.command("start")
        reply = await alice.wait_for_reply()

It refuses what Telegram refuses, with Telegram's status codes and wording (malformed HTML,
empty or overlong text, bad keyboards, unmodified edits, stale callback queries, unknown chats,
rate limits, blocked residents) and records every refusal in `errors`, so a test can assert that
the bot provoked none. Faults can be switched on: 5xx replies, slow replies, a storm of 429s.
All state lives in this process; time is the event loop's monotonic clock plus `advance()`.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import math
import time
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from http import HTTPStatus
from types import TracebackType
from typing import Any, Self

from aiohttp import web

from tests.e2e.fake_chats import Button, CallbackQuery, Resident, StoredMessage
from tests.e2e.fake_errors import (
    ApiError,
    ApiRefusal,
    Failure,
    Limits,
    SendLimiter,
    bad_request,
    too_many_requests,
)
from tests.e2e.telegram_rules import (
    BadRequest,
    FormattedText,
    check_bot_commands,
    format_text,
    parse_reply_markup,
)

__all__ = ["ApiCall", "ApiError", "Button", "FakeTelegram", "Limits", "Resident", "StoredMessage"]

DEFAULT_TOKEN = "123456789:AAFakeTokenForTapestryEndToEndTests00"
CALLBACK_QUERY_LIFETIME = 15.0
CHAT_ACTIONS = frozenset(
    {
        "typing",
        "upload_photo",
        "record_video",
        "upload_video",
        "record_voice",
        "upload_voice",
        "upload_document",
        "choose_sticker",
        "find_location",
        "record_video_note",
        "upload_video_note",
    }
)
_file_numbers = itertools.count(1)

Params = dict[str, Any]
Handler = Callable[[Params], Awaitable[Any]]


@dataclass(frozen=True)
class ApiCall:
    """One request the fake received (at fake time `at`), whatever became of it."""

    at: float
    method: str
    params: Params


class FakeTelegram:
    """The fake Bot API server and everything it knows; use as `async with FakeTelegram():`."""

    def __init__(
        self,
        token: str = DEFAULT_TOKEN,
        *,
        limits: Limits | None = None,
        bot_username: str = "tapestry_test_bot",
    ) -> None:
        self.token = token
        self.bot_user: dict[str, Any] = {
            "id": int(token.split(":", 1)[0]),
            "is_bot": True,
            "first_name": "Tapestry (test)",
            "username": bot_username,
            "can_join_groups": False,
            "can_read_all_group_messages": False,
            "supports_inline_queries": False,
        }
        self.limits = limits or Limits()
        self.residents: dict[int, Resident] = {}
        self.callback_queries: dict[str, CallbackQuery] = {}
        self.files: dict[str, str] = {}  # file_id -> kind
        self.commands: dict[tuple[str, str], list[dict[str, str]]] = {}  # (scope, language)
        self.webhook_url = ""
        self.webhook_secret = ""
        self.calls: Counter[str] = Counter()
        self.log: list[ApiCall] = []
        self.errors: list[ApiError] = []
        self.pending_updates: list[dict[str, Any]] = []
        self._update_ids = itertools.count(100_000_001)
        self._allowed_updates: list[str] = []
        self._poll_generation = 0
        self._skew = 0.0
        self._limiter = SendLimiter(self.limits)
        self._failures: list[Failure] = []
        self._delays: dict[str | None, float] = {}
        self._storm_until = -math.inf
        self._storm_retry_after = 0
        self._changed = asyncio.Event()
        self._closing = False
        self._runner: web.AppRunner | None = None
        self._port = 0
        self._methods: dict[str, tuple[str, Handler]] = {
            name.lower(): (name, handler)
            for name, handler in {
                "getMe": self._get_me,
                "getUpdates": self._get_updates,
                "deleteWebhook": self._delete_webhook,
                "setWebhook": self._set_webhook,
                "getWebhookInfo": self._get_webhook_info,
                "setMyCommands": self._set_my_commands,
                "deleteMyCommands": self._delete_my_commands,
                "getMyCommands": self._get_my_commands,
                "sendMessage": self._send_message,
                "editMessageText": self._edit_message_text,
                "editMessageReplyMarkup": self._edit_message_reply_markup,
                "deleteMessage": self._delete_message,
                "answerCallbackQuery": self._answer_callback_query,
                "sendChatAction": self._send_chat_action,
                "copyMessage": self._copy_message,
                "sendPhoto": self._send_photo,
                "sendVoice": self._send_voice,
                "sendSticker": self._send_sticker,
                "sendDocument": self._send_document,
                "close": self._close,
                "logOut": self._log_out,
            }.items()
        }

    # Lifecycle

    async def __aenter__(self) -> Self:
        app = web.Application(client_max_size=64 * 1024 * 1024)
        app.router.add_route("*", "/bot{token}/{method}", self._handle)
        self._runner = web.AppRunner(app, access_log=None, shutdown_timeout=1.0)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        self._port = int(self._runner.addresses[0][1])
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self._closing = True
        self._notify()  # long polls and slow replies return at once
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    @property
    def url(self) -> str:
        """Base URL for `TelegramAPIServer.from_base` (the bot's API server setting)."""
        if not self._port:
            raise RuntimeError("FakeTelegram is not running; use `async with FakeTelegram()`")
        return f"http://127.0.0.1:{self._port}"

    # Test-side API: residents, updates, files, time

    def user(
        self,
        user_id: int,
        *,
        language_code: str | None = "en",
        first_name: str = "Resident",
        username: str | None = None,
    ) -> Resident:
        """A resident with a private chat with the bot (the same one when asked again)."""
        if user_id not in self.residents:
            self.residents[user_id] = Resident(
                self,
                user_id,
                first_name=first_name,
                language_code=language_code,
                username=username,
            )
        return self.residents[user_id]

    def push_update(self, kind: str, payload: dict[str, Any]) -> int:
        """Queue an update of this kind (e.g. "message") for getUpdates; return its id."""
        update_id = next(self._update_ids)
        self.pending_updates.append({"update_id": update_id, kind: payload})
        self._notify()
        return update_id

    def register_file(self, kind: str, file_id: str | None = None) -> str:
        """Make a file id the bot may send by id (e.g. a sticker from the catalogue)."""
        file_id = file_id or f"fake-{kind}-{next(_file_numbers)}"
        self.files[file_id] = kind
        return file_id

    def file_object(self, kind: str, file_id: str, **extra: Any) -> dict[str, Any]:
        """A Bot API object for a file (PhotoSize, Voice, Sticker, Document)."""
        base: dict[str, Any] = {"file_id": file_id, "file_unique_id": f"u-{file_id}"}
        if kind == "photo":
            return {**base, "width": 800, "height": 600, **extra}
        if kind == "voice":
            return {"duration": 3, **base, **extra}
        if kind == "sticker":
            sticker = {"type": "regular", "width": 512, "height": 512}
            return {**base, **sticker, "is_animated": False, "is_video": False, **extra}
        return {**base, **extra}

    def now(self) -> float:
        """Fake time: the event loop's monotonic clock, moved on by `advance()`."""
        return asyncio.get_running_loop().time() + self._skew

    def advance(self, seconds: float) -> None:
        """Move fake time on, e.g. to make a callback query too old to answer."""
        self._skew += seconds
        self._notify()

    @property
    def provoked_errors(self) -> list[ApiError]:
        """Errors the bot caused itself (not injected faults): a healthy run has none."""
        return [error for error in self.errors if not error.injected]

    async def wait_for(
        self,
        condition: Callable[[], bool],
        timeout: float = 5.0,  # noqa: ASYNC109 - a test's deadline, reported in its failure
        describe: Callable[[], str] | None = None,
    ) -> None:
        """Wait (in real time) until `condition()` holds, or fail the test saying what was seen."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while not condition():
            remaining = deadline - loop.time()
            if remaining <= 0:
                seen = describe() if describe else f"calls {dict(self.calls)}"
                raise AssertionError(f"waited {timeout} s in vain; {seen}; errors {self.errors}")
            changed = self._changed
            # Re-check at least every 50 ms: some conditions depend on time alone.
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(changed.wait(), min(remaining, 0.05))

    # Test-side API: faults

    def fail_next(
        self, count: int = 1, *, method: str | None = None, status: int = 502, html: bool = False
    ) -> None:
        """The next `count` calls (of `method`, or any) fail with `status`, as JSON or HTML."""
        self._failures.append(Failure(count, method and method.lower(), status, html))

    def delay_replies(self, seconds: float, *, method: str | None = None) -> None:
        """Reply `seconds` late (after acting) to `method`, or to every method; 0 switches off."""
        key = method and method.lower()
        if seconds > 0:
            self._delays[key] = seconds
        else:
            self._delays.pop(key, None)

    def storm(self, seconds: float, retry_after: int = 5) -> None:
        """For `seconds` of fake time every send gets 429 with this retry_after."""
        self._storm_until = self.now() + seconds
        self._storm_retry_after = retry_after

    def clear_faults(self) -> None:
        """Switch every fault off."""
        self._failures.clear()
        self._delays.clear()
        self._storm_until = -math.inf

    # The web side

    def _notify(self) -> None:
        self._changed.set()
        self._changed = asyncio.Event()

    async def _read_params(self, request: web.Request) -> Params:
        params: Params = dict(request.query)
        if request.content_type == "application/json":
            try:
                body = await request.json()
            except ValueError as error:
                raise bad_request("can't parse JSON object") from error
            if isinstance(body, dict):
                params.update(body)
        elif request.body_exists:
            params.update((await request.post()).items())
        return params

    async def _handle(self, request: web.Request) -> web.Response:
        requested = request.match_info["method"]
        name, handler = self._methods.get(requested.lower(), (requested, None))
        try:
            params = await self._read_params(request)
        except ApiRefusal as refusal:
            return self._error(name, refusal)
        self.calls[name] += 1
        self.log.append(ApiCall(self.now(), name, params))
        self._notify()
        injected = self._injected_failure(name)
        if injected is not None:
            return injected
        if request.match_info["token"] != self.token:
            return self._error(name, ApiRefusal(401, "Unauthorized"))
        if handler is None:
            return self._error(name, ApiRefusal(404, "Not Found"))
        try:
            result = await handler(params)
            response = web.json_response({"ok": True, "result": result})
        except BadRequest as refusal:
            response = self._error(name, bad_request(refusal.description))
        except ApiRefusal as refusal:
            if refusal.status == 409 and _gone(request):
                # A long poll whose client already left (a bot process that stopped): the
                # conflict reaches nobody, and nobody provoked it.
                return web.json_response({"ok": False, "error_code": 409})
            response = self._error(name, refusal)
        self._notify()
        delay = self._delays.get(name.lower(), self._delays.get(None, 0.0))
        if delay and not self._closing:
            # After acting, as a slow Telegram would: a client that gives up and retries
            # sends the message twice.
            await self._sleep(delay)
        return response

    def _error(self, method: str, refusal: ApiRefusal, injected: bool = False) -> web.Response:
        injected = injected or refusal.injected
        self.errors.append(
            ApiError(
                self.now(),
                method,
                refusal.status,
                refusal.description,
                refusal.retry_after,
                injected,
            )
        )
        body: dict[str, Any] = {
            "ok": False,
            "error_code": refusal.status,
            "description": refusal.description,
        }
        if refusal.retry_after is not None:
            body["parameters"] = {"retry_after": refusal.retry_after}
        return web.json_response(body, status=refusal.status)

    def _injected_failure(self, method: str) -> web.Response | None:
        for failure in self._failures:
            if failure.remaining > 0 and failure.method in (None, method.lower()):
                failure.remaining -= 1
                phrase = HTTPStatus(failure.status).phrase
                if not failure.html:
                    return self._error(method, ApiRefusal(failure.status, phrase), injected=True)
                self.errors.append(
                    ApiError(self.now(), method, failure.status, phrase, injected=True)
                )
                return web.Response(
                    status=failure.status,
                    text=f"<html>{failure.status} {phrase}</html>",
                    content_type="text/html",
                )
        return None

    async def _sleep(self, seconds: float) -> None:
        """Sleep, but wake when the fake shuts down so it can stop promptly."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + seconds
        while not self._closing and (remaining := deadline - loop.time()) > 0:
            changed = self._changed
            try:
                await asyncio.wait_for(changed.wait(), remaining)
            except TimeoutError:
                return

    # Reading parameters the way Telegram does

    @staticmethod
    def _integer(params: Params, name: str, *, required: bool = True) -> int | None:
        value = params.get(name)
        if value is None or value == "":
            if required:
                raise bad_request(f"{name} is empty")
            return None
        try:
            return int(value)
        except (TypeError, ValueError) as error:
            raise bad_request(f'field "{name}" must be of type Integer') from error

    @staticmethod
    def _text(params: Params, name: str) -> str | None:
        value = params.get(name)
        return None if value is None else str(value)

    @staticmethod
    def _flag(params: Params, name: str) -> bool:
        return params.get(name) in (True, "true", "True", "1", 1)

    @staticmethod
    def _structure(params: Params, name: str) -> Any:
        value = params.get(name)
        if isinstance(value, str) and value:
            try:
                return json.loads(value)
            except ValueError as error:
                raise bad_request(f"can't parse {name} JSON object") from error
        return value

    def _chat(self, params: Params, name: str = "chat_id") -> Resident:
        raw = params.get(name)
        if raw is None or raw == "":
            raise bad_request(f"{name} is empty")
        if isinstance(raw, str) and raw.startswith("@"):
            for resident in self.residents.values():
                if resident.username and f"@{resident.username}" == raw:
                    return resident
            raise bad_request("chat not found")
        try:
            chat_id = int(raw)
        except (TypeError, ValueError) as error:
            raise bad_request("chat not found") from error
        if chat_id not in self.residents:
            raise bad_request("chat not found")
        return self.residents[chat_id]

    def _stored(self, chat: Resident, params: Params, missing: str) -> StoredMessage:
        message_id = self._integer(params, "message_id")
        message = chat.message(message_id or 0)
        if message is None or message.deleted:
            raise bad_request(missing)
        return message

    # Shared checks on the way out

    @staticmethod
    def _reachable(chat: Resident) -> None:
        if chat.blocked:
            raise ApiRefusal(403, "Forbidden: bot was blocked by the user")

    def _may_send(self, chat: Resident) -> None:
        """Blocked residents, a 429 storm and the flood limits, in that order."""
        self._reachable(chat)
        now = self.now()
        if now < self._storm_until:
            raise too_many_requests(self._storm_retry_after, injected=True)
        retry_after = self._limiter.acquire(chat.id, now)
        if retry_after is not None:
            raise too_many_requests(retry_after)

    def _reply_target(self, chat: Resident, params: Params) -> None:
        reply = self._structure(params, "reply_parameters")
        if not isinstance(reply, dict) or reply.get("allow_sending_without_reply"):
            return
        target = chat.message(int(reply.get("message_id", 0)))
        if target is None or target.deleted:
            raise bad_request("message to be replied not found")

    def _store(self, chat: Resident, message: StoredMessage) -> StoredMessage:
        message.message_id = chat.next_message_id()
        message.date = self.now()
        chat.history.append(message)
        return message

    def message_object(self, message: StoredMessage) -> dict[str, Any]:
        """A stored message as a Bot API Message object."""
        chat = self.residents[message.chat_id]
        wall_date = int(time.time() + (message.date - self.now()))
        result: dict[str, Any] = {
            "message_id": message.message_id,
            "date": wall_date,
            "chat": chat.as_chat(),
            "from": self.bot_user if message.from_bot else chat.as_user(),
        }
        if not message.from_bot:
            return {**result, **message.payload}
        if message.edits:
            result["edit_date"] = wall_date
        if message.kind == "location":
            result["location"] = message.payload["location"]
        elif message.kind == "text":
            result["text"] = message.text
            if message.entities:
                result["entities"] = message.entities
        else:
            file_object = self.file_object(message.kind, message.file_id or "")
            result[message.kind] = [file_object] if message.kind == "photo" else file_object
            if message.text:
                result["caption"] = message.text
            if message.entities:
                result["caption_entities"] = message.entities
        if message.reply_markup and message.reply_markup.get("inline_keyboard"):
            result["reply_markup"] = message.reply_markup
        return result

    # Methods: the bot and its updates

    async def _get_me(self, params: Params) -> Any:
        return self.bot_user

    async def _get_updates(self, params: Params) -> Any:
        if self.webhook_url:
            raise ApiRefusal(
                409,
                "Conflict: can't use getUpdates method while webhook is active; "
                "use deleteWebhook to delete the webhook first",
            )
        self._poll_generation += 1
        generation = self._poll_generation
        self._notify()  # an older long poll still waiting now ends with 409
        allowed = self._structure(params, "allowed_updates")
        if isinstance(allowed, list):
            self._allowed_updates = [str(kind) for kind in allowed]
        self._confirm(self._integer(params, "offset", required=False) or 0)
        limit = min(max(self._integer(params, "limit", required=False) or 100, 1), 100)
        timeout = self._integer(params, "timeout", required=False) or 0
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while not self.pending_updates and not self._closing:
            remaining = deadline - loop.time()
            if remaining <= 0:
                break
            changed = self._changed
            try:
                await asyncio.wait_for(changed.wait(), remaining)
            except TimeoutError:
                break
            if generation != self._poll_generation:
                raise ApiRefusal(
                    409,
                    "Conflict: terminated by other getUpdates request; "
                    "make sure that only one bot instance is running",
                )
        return self.pending_updates[:limit]

    def _confirm(self, offset: int) -> None:
        """Forget updates before `offset` (or all but the last -offset), and disallowed ones."""
        if offset > 0:
            self.pending_updates = [u for u in self.pending_updates if u["update_id"] >= offset]
        elif offset < 0:
            self.pending_updates = self.pending_updates[offset:]
        if self._allowed_updates:
            self.pending_updates = [
                u
                for u in self.pending_updates
                if set(u) - {"update_id"} <= set(self._allowed_updates)
            ]

    async def _delete_webhook(self, params: Params) -> Any:
        self.webhook_url = ""
        if self._flag(params, "drop_pending_updates"):
            self.pending_updates.clear()
        return True

    async def _set_webhook(self, params: Params) -> Any:
        url = self._text(params, "url") or ""
        if url and not url.startswith("https://"):
            raise bad_request("bad webhook: An HTTPS URL must be provided for webhook")
        self.webhook_url = url
        self.webhook_secret = self._text(params, "secret_token") or ""
        if self._flag(params, "drop_pending_updates"):
            self.pending_updates.clear()
        return True

    async def _get_webhook_info(self, params: Params) -> Any:
        return {
            "url": self.webhook_url,
            "has_custom_certificate": False,
            "pending_update_count": len(self.pending_updates),
        }

    def _commands_key(self, params: Params) -> tuple[str, str]:
        scope = self._structure(params, "scope") or {"type": "default"}
        return json.dumps(scope, sort_keys=True), self._text(params, "language_code") or ""

    async def _set_my_commands(self, params: Params) -> Any:
        commands = check_bot_commands(self._structure(params, "commands"))
        self.commands[self._commands_key(params)] = commands
        return True

    async def _delete_my_commands(self, params: Params) -> Any:
        self.commands.pop(self._commands_key(params), None)
        return True

    async def _get_my_commands(self, params: Params) -> Any:
        return self.commands.get(self._commands_key(params), [])

    async def _close(self, params: Params) -> Any:
        return True

    async def _log_out(self, params: Params) -> Any:
        return True

    # Methods: messages

    def _formatted(self, params: Params, name: str, *, caption: bool = False) -> FormattedText:
        entities_name = "caption_entities" if caption else "entities"
        return format_text(
            self._text(params, name) or "",
            self._text(params, "parse_mode"),
            self._structure(params, entities_name),
            caption=caption,
        )

    async def _send_message(self, params: Params) -> Any:
        chat = self._chat(params)
        formatted = self._formatted(params, "text")
        markup = self._markup(params)
        self._reply_target(chat, params)
        self._may_send(chat)
        message = StoredMessage(
            chat.id,
            0,
            True,
            0.0,
            text=formatted.text,
            source_text=self._text(params, "text") or "",
            parse_mode=self._text(params, "parse_mode"),
            entities=formatted.entities,
            reply_markup=markup,
        )
        return self.message_object(self._store(chat, message))

    def _editable(self, params: Params) -> tuple[Resident, StoredMessage]:
        if params.get("inline_message_id"):
            raise bad_request("the fake Bot API does not implement inline messages")
        chat = self._chat(params)
        message = self._stored(chat, params, "message to edit not found")
        if not message.from_bot:
            raise bad_request("message can't be edited")
        self._reachable(chat)
        return chat, message

    @staticmethod
    def _markup(params: Params) -> dict[str, Any] | None:
        markup = parse_reply_markup(params.get("reply_markup"))
        if markup is not None and markup.get("inline_keyboard") == []:
            return None  # an empty inline keyboard is no keyboard, as Telegram shows it
        return markup

    def _inline_markup(self, params: Params) -> dict[str, Any] | None:
        markup = self._markup(params)
        if markup is not None and "inline_keyboard" not in markup:
            raise bad_request("inline keyboard expected")
        return markup

    async def _edit_message_text(self, params: Params) -> Any:
        _, message = self._editable(params)
        if message.kind != "text":
            raise bad_request("there is no text in the message to edit")
        formatted = self._formatted(params, "text")
        markup = self._inline_markup(params)  # absent: Telegram removes the keyboard
        unchanged = (formatted.text, formatted.entities, markup) == (
            message.text,
            message.entities,
            message.reply_markup,
        )
        if unchanged:
            raise bad_request(
                "message is not modified: specified new message content and reply markup are "
                "exactly the same as a current content and reply markup of the message"
            )
        message.text, message.entities, message.reply_markup = (
            formatted.text,
            formatted.entities,
            markup,
        )
        message.source_text = self._text(params, "text") or ""
        message.parse_mode = self._text(params, "parse_mode")
        message.edits += 1
        return self.message_object(message)

    async def _edit_message_reply_markup(self, params: Params) -> Any:
        _, message = self._editable(params)
        markup = self._inline_markup(params)
        if markup == message.reply_markup:
            raise bad_request(
                "message is not modified: specified new message content and reply markup are "
                "exactly the same as a current content and reply markup of the message"
            )
        message.reply_markup = markup
        message.edits += 1
        return self.message_object(message)

    async def _delete_message(self, params: Params) -> Any:
        chat = self._chat(params)
        message = self._stored(chat, params, "message to delete not found")
        message.deleted = True
        return True

    async def _answer_callback_query(self, params: Params) -> Any:
        query = self.callback_queries.get(self._text(params, "callback_query_id") or "")
        too_old = query is not None and self.now() - query.created_at > CALLBACK_QUERY_LIFETIME
        if query is None or query.answered or too_old:
            raise bad_request(
                "query is too old and response timeout expired or query ID is invalid"
            )
        text = self._text(params, "text")
        if text is not None and len(text) > 200:
            raise bad_request("MESSAGE_TOO_LONG")
        query.answered = True
        query.answer_text = text
        query.show_alert = self._flag(params, "show_alert")
        return True

    async def _send_chat_action(self, params: Params) -> Any:
        chat = self._chat(params)
        if self._text(params, "action") not in CHAT_ACTIONS:
            raise bad_request("wrong parameter action in request")
        self._reachable(chat)
        return True

    async def _copy_message(self, params: Params) -> Any:
        chat = self._chat(params)
        source = self._stored(
            self._chat(params, "from_chat_id"), params, "message to copy not found"
        )
        copy = StoredMessage(chat.id, 0, True, 0.0, kind=source.kind, file_id=source.file_id)
        copy.text, copy.entities = source.text, source.entities
        if source.kind == "location":
            copy.payload = {"location": source.payload.get("location")}
        if params.get("caption") is not None and source.kind != "text":
            formatted = self._formatted(params, "caption", caption=True)
            copy.text, copy.entities = formatted.text, formatted.entities
        copy.reply_markup = self._markup(params)
        copy.source_text = copy.text
        self._may_send(chat)
        return {"message_id": self._store(chat, copy).message_id}

    async def _send_file(self, params: Params, kind: str) -> Any:
        chat = self._chat(params)
        file_id = self._file_id(params, kind)
        formatted = self._formatted(params, "caption", caption=True)
        markup = self._markup(params)
        self._reply_target(chat, params)
        self._may_send(chat)
        message = StoredMessage(
            chat.id,
            0,
            True,
            0.0,
            kind=kind,
            text=formatted.text,
            source_text=self._text(params, "caption") or "",
            parse_mode=self._text(params, "parse_mode"),
            entities=formatted.entities,
            reply_markup=markup,
            file_id=file_id,
        )
        return self.message_object(self._store(chat, message))

    def _file_id(self, params: Params, kind: str) -> str:
        """A known file id of the right kind, or an upload or URL (which gets a new id)."""
        value = params.get(kind)
        if isinstance(value, str) and value.startswith("attach://"):
            value = params.get(value.removeprefix("attach://"))
        if isinstance(value, web.FileField) or (
            isinstance(value, str) and value.startswith(("http://", "https://"))
        ):
            return self.register_file(kind)
        if not isinstance(value, str) or not value:
            raise bad_request(f"there is no {kind} in the request")
        known = self.files.get(value)
        if known is None:
            raise bad_request("wrong file identifier/HTTP URL specified")
        if known != kind:
            raise bad_request(f"can't use file of type {known.title()} as {kind.title()}")
        return value

    async def _send_photo(self, params: Params) -> Any:
        return await self._send_file(params, "photo")

    async def _send_voice(self, params: Params) -> Any:
        return await self._send_file(params, "voice")

    async def _send_sticker(self, params: Params) -> Any:
        return await self._send_file(params, "sticker")

    async def _send_document(self, params: Params) -> Any:
        return await self._send_file(params, "document")


def _gone(request: web.Request) -> bool:
    """The client hung up while its request waited."""
    return request.transport is None or request.transport.is_closing()
