"""Form bodies: what bot.session encodes, any form decoder reads back exactly."""

from __future__ import annotations

from urllib.parse import parse_qsl

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.session import urlencode

CARD = (
    '<b>Food bank</b>\n📞 <a href="tel:+441234567890">01234 567890</a> · '
    "مفتوح الآن، حتى ١٧:٠٠ · খোলা আছে · 50% off &amp; more = ok ~_.-#;/?:@!$'()*,"
)


def decoded(body: bytes) -> list[tuple[str, str]]:
    return parse_qsl(body.decode("ascii"), keep_blank_values=True, strict_parsing=bool(body))


@pytest.mark.parametrize(
    "fields",
    [
        [],
        [("chat_id", "42"), ("text", CARD)],
        [("text", "")],
        [("text", "a b+c"), ("reply_markup", '{"inline_keyboard": [[{"text": "\\u2705"}]]}')],
        [("text", "\x00\x7f\r\n\t%20+&=")],
    ],
)
def test_fields_read_back_as_sent(fields: list[tuple[str, str]]) -> None:
    assert decoded(urlencode(fields)) == fields


def test_only_safe_characters_are_left_as_they_are() -> None:
    body = urlencode([("text", CARD)]).decode("ascii")
    assert body.startswith("text=%3Cb%3EFood+bank%3C/b%3E%0A%F0%9F%93%9E+")
    assert not set(body) & set(' \n"#<>[]\\^`{|}') and body.count("=") == 1


@given(st.lists(st.tuples(st.text(min_size=1, max_size=12), st.text()), max_size=5))
def test_any_text_reads_back_as_sent(fields: list[tuple[str, str]]) -> None:
    assert decoded(urlencode(fields)) == fields
