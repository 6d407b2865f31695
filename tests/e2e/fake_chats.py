"""What the fake Bot API remembers: residents and their private chats, messages, button presses.

A test speaks through a `Resident` (sends text, commands, media, presses buttons) and reads what
the bot sent back as `StoredMessage`s: plain text as a person sees it, and the buttons.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from tests.e2e.fake_api import FakeTelegram

_callback_ids = itertools.count(7_000_000_000_000_000_001)


@dataclass(frozen=True)
class Button:
    """One inline button as a resident sees it; `callback_data` or `url` says what it does."""

    text: str
    callback_data: str | None = None
    url: str | None = None


@dataclass
class StoredMessage:
    """A message in a chat, as Telegram keeps it (the latest version after edits)."""

    chat_id: int
    message_id: int
    from_bot: bool
    date: float
    kind: str = "text"  # text, photo, voice, sticker, document, location
    text: str = ""  # plain text or caption, tags parsed away
    source_text: str = ""  # text exactly as the bot sent it
    parse_mode: str | None = None
    entities: list[dict[str, Any]] = field(default_factory=list)
    reply_markup: dict[str, Any] | None = None
    file_id: str | None = None
    payload: dict[str, Any] = field(default_factory=dict)  # e.g. location, sticker emoji
    edits: int = 0
    deleted: bool = False

    @property
    def buttons(self) -> list[list[Button]]:
        """The inline keyboard as rows of buttons, empty when there is none."""
        rows = (self.reply_markup or {}).get("inline_keyboard", [])
        return [
            [Button(b["text"], b.get("callback_data"), b.get("url")) for b in row] for row in rows
        ]

    @property
    def button_texts(self) -> list[str]:
        """Every inline button's label, row by row."""
        return [button.text for row in self.buttons for button in row]


@dataclass
class CallbackQuery:
    """A button press the bot must answer with answerCallbackQuery within 15 seconds."""

    id: str
    resident_id: int
    message_id: int
    data: str
    created_at: float
    answered: bool = False
    answer_text: str | None = None
    show_alert: bool = False


class Resident:
    """A Telegram user in a private chat with the bot; the chat id is the user id."""

    def __init__(
        self,
        fake: FakeTelegram,
        user_id: int,
        *,
        first_name: str,
        language_code: str | None,
        username: str | None,
    ) -> None:
        self.fake = fake
        self.id = user_id
        self.first_name = first_name
        self.language_code = language_code
        self.username = username
        self.blocked = False
        self.history: list[StoredMessage] = []  # both directions, deleted ones included
        self._last_message_id = 0
        self._replies_seen = 0

    # What the resident sees

    @property
    def messages(self) -> list[StoredMessage]:
        """The bot's messages still in the chat, oldest first."""
        return [m for m in self.history if m.from_bot and not m.deleted]

    @property
    def received(self) -> list[StoredMessage]:
        """Every message the bot sent here, including ones it deleted since."""
        return [m for m in self.history if m.from_bot]

    @property
    def texts(self) -> list[str]:
        """Plain texts of the bot's messages still in the chat."""
        return [m.text for m in self.messages]

    @property
    def last(self) -> StoredMessage:
        """The bot's latest message still in the chat."""
        if not self.messages:
            raise AssertionError(f"the bot has sent nothing to {self.first_name} ({self.id})")
        return self.messages[-1]

    def message(self, message_id: int) -> StoredMessage | None:
        """The message with this id in the chat, deleted or not."""
        return next((m for m in self.history if m.message_id == message_id), None)

    def as_user(self) -> dict[str, Any]:
        """This resident as a Bot API User object."""
        user: dict[str, Any] = {"id": self.id, "is_bot": False, "first_name": self.first_name}
        if self.username:
            user["username"] = self.username
        if self.language_code:
            user["language_code"] = self.language_code
        return user

    def as_chat(self) -> dict[str, Any]:
        """This private chat as a Bot API Chat object."""
        chat: dict[str, Any] = {"id": self.id, "type": "private", "first_name": self.first_name}
        if self.username:
            chat["username"] = self.username
        return chat

    def block(self) -> None:
        """Block the bot: from now on every send to this chat is refused with 403."""
        self.blocked = True

    def unblock(self) -> None:
        """Unblock the bot (Telegram sends no update for either, in the fake)."""
        self.blocked = False

    # What the resident does

    def send(self, text: str, **extra: Any) -> StoredMessage:
        """Send a text message to the bot."""
        return self._post(StoredMessage(self.id, 0, False, 0.0, text=text), {"text": text, **extra})

    def command(self, name: str, argument: str = "") -> StoredMessage:
        """Send `/name argument`, marked as a bot command the way Telegram marks it."""
        text = f"/{name} {argument}".strip()
        entity = {"type": "bot_command", "offset": 0, "length": len(name) + 1}
        return self._post(
            StoredMessage(self.id, 0, False, 0.0, text=text, entities=[entity]),
            {"text": text, "entities": [entity]},
        )

    def send_sticker(self, emoji: str = "👍") -> StoredMessage:
        """Send a sticker (a new file id each time)."""
        file_id = self.fake.register_file("sticker")
        sticker = {**self.fake.file_object("sticker", file_id), "emoji": emoji}
        message = StoredMessage(self.id, 0, False, 0.0, kind="sticker", file_id=file_id)
        return self._post(message, {"sticker": sticker})

    def send_photo(self, caption: str = "") -> StoredMessage:
        """Send a photo, with an optional caption."""
        return self._send_file("photo", caption)

    def send_voice(self, duration: int = 3) -> StoredMessage:
        """Send a voice message."""
        file_id = self.fake.register_file("voice")
        voice = {**self.fake.file_object("voice", file_id), "duration": duration}
        message = StoredMessage(self.id, 0, False, 0.0, kind="voice", file_id=file_id)
        return self._post(message, {"voice": voice})

    def send_document(self, file_name: str = "note.pdf", caption: str = "") -> StoredMessage:
        """Send a document, with an optional caption."""
        return self._send_file("document", caption, file_name=file_name)

    def send_location(self, latitude: float, longitude: float) -> StoredMessage:
        """Share a location."""
        location = {"latitude": latitude, "longitude": longitude}
        message = StoredMessage(self.id, 0, False, 0.0, kind="location", payload=location)
        return self._post(message, {"location": location})

    def press(
        self, message: StoredMessage, text: str | None = None, *, data: str | None = None
    ) -> CallbackQuery:
        """Press the inline button labelled `text` (or carrying `data`) under a bot message."""
        current = self.message(message.message_id)
        if current is None or current.deleted or not current.from_bot:
            raise AssertionError(f"message {message.message_id} is not in {self.id}'s chat")
        buttons = [b for row in current.buttons for b in row]
        chosen = next(
            (
                b
                for b in buttons
                if (text is None or b.text == text) and (data in (None, b.callback_data))
            ),
            None,
        )
        if chosen is None or chosen.callback_data is None:
            labels = [b.text for b in buttons]
            raise AssertionError(f"no callback button {text or data!r} under the message: {labels}")
        return self._push_press(current, chosen.callback_data)

    def press_forged(self, message: StoredMessage, data: str) -> CallbackQuery:
        """What a modified client can send: any callback data, under any bot message."""
        current = self.message(message.message_id)
        assert current is not None and current.from_bot
        return self._push_press(current, data)

    def _push_press(self, current: StoredMessage, data: str) -> CallbackQuery:
        query = CallbackQuery(
            id=str(next(_callback_ids)),
            resident_id=self.id,
            message_id=current.message_id,
            data=data,
            created_at=self.fake.now(),
        )
        self.fake.callback_queries[query.id] = query
        self.fake.push_update(
            "callback_query",
            {
                "id": query.id,
                "from": self.as_user(),
                "message": self.fake.message_object(current),
                "chat_instance": str(self.id * 7),
                "data": query.data,
            },
        )
        return query

    # Waiting for the bot

    async def wait_for_messages(
        self,
        count: int,
        timeout: float = 5.0,  # noqa: ASYNC109
    ) -> list[StoredMessage]:
        """Wait until the bot has sent `count` messages here in all; return those still shown."""
        await self.fake.wait_for(
            lambda: len(self.received) >= count,
            timeout=timeout,
            describe=lambda: f"{count} messages to {self.id}, got {self._describe()}",
        )
        self._replies_seen = len(self.received)
        return self.messages

    async def wait_for_reply(self, timeout: float = 5.0) -> StoredMessage:  # noqa: ASYNC109
        """Wait for the bot's next message here: the first one after the resident last spoke
        or after the last message already waited for, so none is skipped."""
        wanted = self._replies_seen + 1
        await self.fake.wait_for(
            lambda: len(self.received) >= wanted,
            timeout=timeout,
            describe=lambda: f"message {wanted} to {self.id}, got {self._describe()}",
        )
        self._replies_seen = wanted
        return self.received[wanted - 1]

    async def wait_until(
        self,
        condition: Callable[[Resident], bool],
        timeout: float = 5.0,  # noqa: ASYNC109
    ) -> None:
        """Wait until `condition(self)` holds, e.g. an edit or a deletion by the bot."""
        await self.fake.wait_for(
            lambda: condition(self), timeout=timeout, describe=lambda: self._describe()
        )

    # Internals

    def next_message_id(self) -> int:
        """Message ids in a private chat count up, shared by both sides."""
        self._last_message_id += 1
        return self._last_message_id

    def _describe(self) -> str:
        return repr([(m.message_id, m.text, m.button_texts, m.deleted) for m in self.received])

    def _send_file(self, kind: str, caption: str, **extra: Any) -> StoredMessage:
        file_id = self.fake.register_file(kind)
        file_object = self.fake.file_object(kind, file_id, **extra)
        body: dict[str, Any] = {kind: [file_object] if kind == "photo" else file_object}
        if caption:
            body["caption"] = caption
        message = StoredMessage(self.id, 0, False, 0.0, kind=kind, text=caption, file_id=file_id)
        return self._post(message, body)

    def _post(self, message: StoredMessage, body: dict[str, Any]) -> StoredMessage:
        message.message_id = self.next_message_id()
        message.date = self.fake.now()
        message.source_text = message.text
        message.payload = {**message.payload, **body}
        self.history.append(message)
        self._replies_seen = len(self.received)
        self.fake.push_update("message", self.fake.message_object(message))
        return message
