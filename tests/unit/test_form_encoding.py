"""Form bodies: bot.session's encoder gives what urllib gives, byte for byte."""

from __future__ import annotations

from urllib.parse import urlencode as urllib_urlencode

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.session import urlencode

CARD = (
    '<b>Food bank</b>\n📞 <a href="tel:+441234567890">01234 567890</a> · '
    "مفتوح الآن، حتى ١٧:٠٠ · খোলা আছে · 50% off & more = ok ~_.-"
)


@pytest.mark.parametrize(
    "fields",
    [
        [],
        [("chat_id", "42"), ("text", CARD)],
        [("text", "")],
        [("text", "a b+c"), ("reply_markup", '{"inline_keyboard": [[{"text": "\\u2705"}]]}')],
        [("text", "\x00\x7f\r\n\t")],
    ],
)
def test_the_same_bytes_as_urllib(fields: list[tuple[str, str]]) -> None:
    assert urlencode(fields) == urllib_urlencode(fields).encode()


@given(st.lists(st.tuples(st.text(max_size=12), st.text()), max_size=5))
def test_the_same_bytes_as_urllib_for_any_text(fields: list[tuple[str, str]]) -> None:
    assert urlencode(fields) == urllib_urlencode(fields).encode()
