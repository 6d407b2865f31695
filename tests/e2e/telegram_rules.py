"""Telegram's rules for message content, applied as strictly as the Bot API applies them.

Pure functions, no server: the fake Bot API (fake_api.py) calls them and turns a `BadRequest`
into Telegram's 400 reply. They are stricter than Telegram in one place on purpose: a bare `&`
that starts no entity is refused, because a bot that leaves it unescaped will also mangle a
resident's `&lt;` one day.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any

MAX_TEXT_LENGTH = 4096
MAX_CAPTION_LENGTH = 1024
MAX_CALLBACK_DATA_BYTES = 64
MAX_INLINE_BUTTONS = 100

# Tag name -> entity type; `span` is a spoiler only with class="tg-spoiler" (checked below).
HTML_TAGS = {
    "b": "bold",
    "strong": "bold",
    "i": "italic",
    "em": "italic",
    "u": "underline",
    "ins": "underline",
    "s": "strikethrough",
    "strike": "strikethrough",
    "del": "strikethrough",
    "span": "spoiler",
    "tg-spoiler": "spoiler",
    "a": "text_link",
    "code": "code",
    "pre": "pre",
    "blockquote": "blockquote",
    "tg-emoji": "custom_emoji",
}
NAMED_HTML_ENTITIES = {"lt": "<", "gt": ">", "amp": "&", "quot": '"'}
INLINE_BUTTON_ACTIONS = (
    "callback_data",
    "url",
    "web_app",
    "login_url",
    "switch_inline_query",
    "switch_inline_query_current_chat",
    "switch_inline_query_chosen_chat",
    "copy_text",
    "callback_game",
    "pay",
)
_ENTITY = re.compile(r"&(#[0-9]{1,7}|#[xX][0-9a-fA-F]{1,6}|[a-zA-Z]+);")
_TAG_NAME = re.compile(r"[a-zA-Z0-9-]*")
_ATTRIBUTE_NAME = re.compile(r"[a-zA-Z0-9_-]*")
_BOT_COMMAND = re.compile(r"[a-z0-9_]{1,32}")


class BadRequest(Exception):
    """A request Telegram refuses with 400 and this description (without "Bad Request: ")."""

    def __init__(self, description: str) -> None:
        super().__init__(description)
        self.description = description


@dataclass
class FormattedText:
    """Text as Telegram stores it: plain characters plus entities with UTF-16 offsets."""

    text: str
    entities: list[dict[str, Any]] = field(default_factory=list)


_TAG_OR_ENTITY = re.compile(r"[&<]")


def utf16_length(text: str) -> int:
    """Length in UTF-16 code units, the unit of Telegram's entity offsets."""
    return len(text.encode("utf-16-le")) // 2


def _parse_error(message: str) -> BadRequest:
    return BadRequest(f"can't parse entities: {message}")


@dataclass
class _OpenTag:
    name: str
    offset: int
    source_offset: int
    attributes: dict[str, str]
    language: str = ""


class _HtmlParser:
    """Telegram's HTML parse mode, after tdlib's parse_html, errors worded the same way."""

    def __init__(self, source: str) -> None:
        self.source = source
        self.position = 0
        self.text: list[str] = []
        self.length = 0  # UTF-16 code units in `text`
        self.open_tags: list[_OpenTag] = []
        self.entities: list[dict[str, Any]] = []

    def byte_offset(self, position: int) -> int:
        return len(self.source[:position].encode("utf-8"))

    def emit(self, characters: str) -> None:
        self.text.append(characters)
        self.length += utf16_length(characters)

    def parse(self) -> FormattedText:
        source = self.source
        while self.position < len(source):
            character = source[self.position]
            if character == "&":
                self.emit(self.read_entity(self.position))
            elif character == "<" and source.startswith("</", self.position):
                self.read_end_tag()
            elif character == "<":
                self.read_start_tag()
            else:  # plain text up to the next tag or entity, in one piece
                following = _TAG_OR_ENTITY.search(source, self.position)
                end = following.start() if following else len(source)
                self.emit(source[self.position : end])
                self.position = end
        if self.open_tags:
            name = self.open_tags[-1].name
            raise _parse_error(f'Can\'t find end tag corresponding to start tag "{name}"')
        self.entities.sort(key=lambda entity: (entity["offset"], -entity["length"]))
        return FormattedText("".join(self.text), self.entities)

    def read_entity(self, start: int) -> str:
        """Decode one `&...;` at `start` and move past it; anything else is an error."""
        match = _ENTITY.match(self.source, start)
        decoded = _decode_entity(match.group(1)) if match else None
        if match is None or decoded is None:
            raise _parse_error(
                f"Character '&' at byte offset {self.byte_offset(start)} must be escaped "
                'as "&amp;"'
            )
        self.position = match.end()
        return decoded

    def read_start_tag(self) -> None:
        start = self.position
        name_match = _TAG_NAME.match(self.source, start + 1)
        assert name_match is not None  # the pattern matches the empty string
        name = name_match.group(0).lower()
        if name not in HTML_TAGS:
            raise _parse_error(
                f'Unsupported start tag "{name}" at byte offset {self.byte_offset(start)}'
            )
        self.position = name_match.end()
        attributes = self.read_attributes(name, start)
        tag = _OpenTag(name, self.length, start, attributes)
        if name == "span" and attributes.get("class") != "tg-spoiler":
            raise _parse_error('Tag "span" must have class "tg-spoiler"')
        if name == "tg-emoji" and not attributes.get("emoji-id"):
            raise _parse_error('Tag "tg-emoji" must have attribute "emoji-id"')
        self.open_tags.append(tag)

    def read_attributes(self, tag_name: str, tag_start: int) -> dict[str, str]:
        source = self.source
        attributes: dict[str, str] = {}
        unclosed = _parse_error(f"Unclosed start tag at byte offset {self.byte_offset(tag_start)}")
        while True:
            while self.position < len(source) and source[self.position].isspace():
                self.position += 1
            if self.position >= len(source):
                raise unclosed
            if source[self.position] == ">":
                self.position += 1
                return attributes
            name_match = _ATTRIBUTE_NAME.match(source, self.position)
            assert name_match is not None
            name = name_match.group(0).lower()
            if not name:
                raise _parse_error(
                    f'Empty attribute name in the tag "{tag_name}" at byte offset '
                    f"{self.byte_offset(self.position)}"
                )
            self.position = name_match.end()
            while self.position < len(source) and source[self.position].isspace():
                self.position += 1
            if self.position >= len(source):
                raise unclosed
            if source[self.position] != "=":
                attributes[name] = ""  # a bare attribute such as <blockquote expandable>
                continue
            self.position += 1
            while self.position < len(source) and source[self.position].isspace():
                self.position += 1
            if self.position >= len(source):
                raise unclosed
            attributes[name] = self.read_attribute_value(unclosed)

    def read_attribute_value(self, unclosed: BadRequest) -> str:
        source = self.source
        quote = source[self.position]
        value: list[str] = []
        if quote in "\"'":
            self.position += 1
            while self.position < len(source) and source[self.position] != quote:
                if source[self.position] == "&":
                    value.append(self.read_entity(self.position))
                else:
                    value.append(source[self.position])
                    self.position += 1
            if self.position >= len(source):
                raise unclosed
            self.position += 1
            return "".join(value)
        while self.position < len(source) and not (
            source[self.position].isspace() or source[self.position] == ">"
        ):
            if source[self.position] == "&":
                value.append(self.read_entity(self.position))
            else:
                value.append(source[self.position])
                self.position += 1
        return "".join(value)

    def read_end_tag(self) -> None:
        start = self.position
        name_match = _TAG_NAME.match(self.source, start + 2)
        assert name_match is not None
        name = name_match.group(0).lower()
        end = name_match.end()
        while end < len(self.source) and self.source[end].isspace():
            end += 1
        if end >= len(self.source) or self.source[end] != ">":
            raise _parse_error(f"Unclosed end tag at byte offset {self.byte_offset(start)}")
        if not self.open_tags:
            raise _parse_error(f"Unexpected end tag at byte offset {self.byte_offset(start)}")
        tag = self.open_tags[-1]
        if tag.name != name:
            raise _parse_error(
                f"Unmatched end tag at byte offset {self.byte_offset(start)}, "
                f'expected "</{tag.name}>", found "</{name}>"'
            )
        self.position = end + 1
        self.open_tags.pop()
        self.close(tag)

    def close(self, tag: _OpenTag) -> None:
        parent = self.open_tags[-1] if self.open_tags else None
        code_class = tag.attributes.get("class", "")
        if tag.name == "code" and parent and parent.name == "pre" and code_class:
            # <pre><code class="language-x"> is one pre entity with a language.
            parent.language = code_class.removeprefix("language-")
            return
        length = self.length - tag.offset
        if length == 0:
            return
        entity: dict[str, Any] = {"type": HTML_TAGS[tag.name], "offset": tag.offset}
        entity["length"] = length
        if tag.name == "a":
            href = tag.attributes.get("href", "")
            if not href:
                return  # Telegram keeps the text and drops a link without a target
            entity["url"] = href
        elif tag.name == "pre" and tag.language:
            entity["language"] = tag.language
        elif tag.name == "tg-emoji":
            entity["custom_emoji_id"] = tag.attributes["emoji-id"]
        elif tag.name == "blockquote" and "expandable" in tag.attributes:
            entity["type"] = "expandable_blockquote"
        self.entities.append(entity)


def _decode_entity(body: str) -> str | None:
    if not body.startswith("#"):
        return NAMED_HTML_ENTITIES.get(body)
    code = int(body[2:], 16) if body[1:2] in ("x", "X") else int(body[1:])
    if code == 0 or code > 0x10FFFF or 0xD800 <= code <= 0xDFFF:
        return None
    return chr(code)


def parse_html(source: str) -> FormattedText:
    """Telegram's reading of `source` in parse_mode HTML, or `BadRequest` as Telegram words it."""
    return _HtmlParser(source).parse()


def strip_formatted(formatted: FormattedText) -> FormattedText:
    """Drop leading and trailing whitespace as Telegram does, moving entities to match."""
    stripped = formatted.text.strip()
    if not stripped:
        return FormattedText("")
    lead = utf16_length(formatted.text[: len(formatted.text) - len(formatted.text.lstrip())])
    end = utf16_length(stripped)
    entities = []
    for entity in formatted.entities:
        start = max(entity["offset"] - lead, 0)
        stop = min(entity["offset"] + entity["length"] - lead, end)
        if stop > start:
            entities.append({**entity, "offset": start, "length": stop - start})
    return FormattedText(stripped, entities)


def format_text(
    text: str, parse_mode: str | None, entities: Any, *, caption: bool = False
) -> FormattedText:
    """Text, parse mode and explicit entities of a request as the message Telegram would store."""
    if parse_mode:
        mode = parse_mode.lower()
        if mode == "html":
            formatted = parse_html(text)
        elif mode in ("markdown", "markdownv2"):
            raise BadRequest(f"the fake Bot API does not implement parse_mode {parse_mode}")
        else:
            raise BadRequest(f"unsupported parse_mode {parse_mode}")
    else:
        explicit = json.loads(entities) if isinstance(entities, str) else entities
        formatted = FormattedText(text, list(explicit or []))
    formatted = strip_formatted(formatted)
    if caption:
        if len(formatted.text) > MAX_CAPTION_LENGTH:
            raise BadRequest("message caption is too long")
        return formatted
    if not formatted.text:
        raise BadRequest("message text is empty")
    if len(formatted.text) > MAX_TEXT_LENGTH:
        raise BadRequest("message is too long")
    return formatted


def parse_reply_markup(raw: Any) -> dict[str, Any] | None:
    """The reply markup of a request, checked as Telegram checks it, or None when absent."""
    if raw is None or raw == "":
        return None
    if isinstance(raw, str):
        try:
            raw = json.loads(raw)
        except ValueError as error:
            raise BadRequest("can't parse reply keyboard markup JSON object") from error
    if not isinstance(raw, dict):
        raise BadRequest("can't parse reply keyboard markup JSON object")
    if "inline_keyboard" in raw:
        _check_inline_keyboard(raw["inline_keyboard"])
    elif "keyboard" in raw:
        _check_reply_keyboard(raw["keyboard"])
    elif not (raw.get("remove_keyboard") or raw.get("force_reply")):
        raise BadRequest('can\'t find field "inline_keyboard"')
    return raw


def _check_inline_keyboard(rows: Any) -> None:
    def refuse(reason: str) -> BadRequest:
        return BadRequest(f"can't parse inline keyboard button: {reason}")

    if not isinstance(rows, list):
        raise BadRequest('field "inline_keyboard" must be an Array')
    count = 0
    for row in rows:
        if not isinstance(row, list):
            raise BadRequest('field "inline_keyboard" must be an Array of Arrays')
        for button in row:
            count += 1
            if not isinstance(button, dict):
                raise refuse("InlineKeyboardButton must be an Object")
            if not isinstance(button.get("text"), str):
                raise refuse('Field "text" must be of type String')
            if not button["text"].strip():
                raise BadRequest("BUTTON_TEXT_INVALID")
            actions = [name for name in INLINE_BUTTON_ACTIONS if name in button]
            if not actions:
                raise refuse("Text buttons are unallowed in the inline keyboard")
            if "callback_data" in button:
                data = button["callback_data"]
                if not isinstance(data, str):
                    raise refuse('Field "callback_data" must be of type String')
                if not data or len(data.encode("utf-8")) > MAX_CALLBACK_DATA_BYTES:
                    raise BadRequest("BUTTON_DATA_INVALID")
            if "url" in button and not _looks_like_url(button["url"]):
                raise BadRequest("BUTTON_URL_INVALID")
    if count > MAX_INLINE_BUTTONS:
        raise BadRequest("reply markup is too long")


def _check_reply_keyboard(rows: Any) -> None:
    if not isinstance(rows, list) or not all(isinstance(row, list) for row in rows):
        raise BadRequest('field "keyboard" must be an Array of Arrays')
    for row in rows:
        for button in row:
            text = button.get("text") if isinstance(button, dict) else button
            if not isinstance(text, str) or not text.strip():
                raise BadRequest('can\'t parse keyboard button: Field "text" must be non-empty')


def _looks_like_url(url: Any) -> bool:
    return isinstance(url, str) and re.match(r"(https?|tg)://[^\s]+$", url) is not None


def check_bot_commands(commands: Any) -> list[dict[str, str]]:
    """setMyCommands' list, each command 1-32 of a-z, 0-9 and _, each description 1-256."""
    if isinstance(commands, str):
        commands = json.loads(commands)
    if not isinstance(commands, list) or len(commands) > 100:
        raise BadRequest("can't parse commands JSON object")
    checked = []
    for command in commands:
        name = command.get("command", "") if isinstance(command, dict) else ""
        description = command.get("description", "") if isinstance(command, dict) else ""
        if not isinstance(name, str) or not _BOT_COMMAND.fullmatch(name):
            raise BadRequest("BOT_COMMAND_INVALID")
        if not isinstance(description, str) or not 1 <= len(description.strip()) <= 256:
            raise BadRequest("command description must be non-empty")
        checked.append({"command": name, "description": description})
    return checked
