"""The fake Bot API behaves like Telegram for a real aiogram Bot: it accepts what Telegram
accepts and refuses what Telegram refuses, with the error aiogram raises for Telegram's reply."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import aiohttp
import pytest
from aiogram import Bot, Dispatcher, F
from aiogram.client.default import DefaultBotProperties
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer
from aiogram.exceptions import (
    ClientDecodeError,
    TelegramBadRequest,
    TelegramConflictError,
    TelegramForbiddenError,
    TelegramNetworkError,
    TelegramRetryAfter,
    TelegramServerError,
)
from aiogram.types import (
    BotCommand,
    BufferedInputFile,
    CallbackQuery,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    Message,
)

from tests.e2e.fake_api import FakeTelegram, Limits

NOT_MODIFIED = "message is not modified: specified new message content and reply markup"
STALE_QUERY = "query is too old and response timeout expired or query ID is invalid"


def keyboard(*labels_and_data: tuple[str, str]) -> InlineKeyboardMarkup:
    """One row of callback buttons."""
    row = [InlineKeyboardButton(text=text, callback_data=data) for text, data in labels_and_data]
    return InlineKeyboardMarkup(inline_keyboard=[row])


@pytest.fixture
async def fake() -> AsyncIterator[FakeTelegram]:
    async with FakeTelegram() as running:
        yield running


def connect(fake: FakeTelegram, parse_mode: str | None = None) -> Bot:
    """A real aiogram Bot pointed at the fake, as the bot process will be."""
    session = AiohttpSession(api=TelegramAPIServer.from_base(fake.url))
    return Bot(fake.token, session=session, default=DefaultBotProperties(parse_mode=parse_mode))


@pytest.fixture
async def bot(fake: FakeTelegram) -> AsyncIterator[Bot]:
    client = connect(fake, parse_mode="HTML")
    yield client
    await client.session.close()


async def test_serves_loopback_only_and_stops_on_exit() -> None:
    async with FakeTelegram() as fake:
        assert fake.url.startswith("http://127.0.0.1:")
        client = connect(fake)
        me = await client.get_me()
        assert me.is_bot and me.id == 123456789
    with pytest.raises(TelegramNetworkError):
        await client.get_me()
    await client.session.close()


async def test_stops_promptly_with_requests_in_flight() -> None:
    loop = asyncio.get_running_loop()
    async with FakeTelegram() as fake:
        client = connect(fake)
        fake.delay_replies(30, method="getMe")
        polling = asyncio.create_task(client.get_updates(timeout=30))
        slow = asyncio.create_task(client.get_me())
        await asyncio.sleep(0.1)
        leaving = loop.time()
    assert loop.time() - leaving < 1.5
    assert await polling == []
    assert (await slow).is_bot  # a slow reply is cut short, not lost
    await client.session.close()


async def test_routes_like_telegram(fake: FakeTelegram) -> None:
    base = f"{fake.url}/bot{fake.token}"
    fake.user(1)
    async with aiohttp.ClientSession() as http:
        async with http.post(f"{base}/SENDMESSAGE", json={"chat_id": 1, "text": "hi"}) as reply:
            assert reply.status == 200
            assert (await reply.json())["result"]["text"] == "hi"
        async with http.get(f"{base}/getMe") as reply:
            assert (await reply.json())["result"]["username"] == "tapestry_test_bot"
        async with http.post(f"{base}/sendTelepathy", data={"chat_id": "1"}) as reply:
            assert reply.status == 404
            assert await reply.json() == {
                "ok": False,
                "error_code": 404,
                "description": "Not Found",
            }
        async with http.post(f"{fake.url}/bot1:wrong/getMe") as reply:
            assert reply.status == 401
    assert fake.calls["sendMessage"] == 1
    assert fake.calls["getMe"] == 2  # the call with a wrong token counts too


async def test_sends_are_stored_as_a_person_sees_them(fake: FakeTelegram, bot: Bot) -> None:
    alice = fake.user(1001, language_code="pl", first_name="Alicja")
    bob = fake.user(1002)
    first = await bot.send_message(1001, "<b>Food</b> &amp; <i>shelter</i>")
    second = await bot.send_message(
        1001, "Choose:", reply_markup=keyboard(("Open now", "open"), ("Map", "map"))
    )
    elsewhere = await bot.send_message(1002, "hello", parse_mode=None)
    assert (first.message_id, second.message_id, elsewhere.message_id) == (1, 2, 1)
    assert first.text == "Food & shelter"
    assert [e.type for e in first.entities or []] == ["bold", "italic"]
    assert alice.texts == ["Food & shelter", "Choose:"]
    assert alice.last.button_texts == ["Open now", "Map"]
    assert alice.last.buttons[0][1].callback_data == "map"
    assert alice.messages[0].source_text == "<b>Food</b> &amp; <i>shelter</i>"
    assert alice.messages[0].parse_mode == "HTML"
    assert bob.texts == ["hello"]
    assert fake.errors == []


async def test_accepts_every_html_telegram_allows(fake: FakeTelegram, bot: Bot) -> None:
    fake.user(1)
    allowed = [
        "<strong>a</strong><em>b</em><ins>c</ins><s>d</s><strike>e</strike><del>f</del>",
        '<span class="tg-spoiler">x</span> <tg-spoiler>y</tg-spoiler>',
        '<a href="https://example.org/?a=1&amp;b=2">link</a> <code>x &lt; y</code>',
        '<pre><code class="language-python">print(1)</code></pre>',
        "<blockquote expandable>quote</blockquote> <blockquote>q</blockquote>",
        '<tg-emoji emoji-id="5368324170671202286">👍</tg-emoji> &#128077; &#x1F44D; &quot;',
        "<B>upper-case tags</B>",
    ]
    for text in allowed:
        fake.advance(1.0)  # stay under the flood limit of one private chat
        await bot.send_message(1, text)
    fake.advance(1.0)
    entities = (await bot.send_message(1, allowed[3])).entities or []
    assert [(e.type, e.language) for e in entities] == [("pre", "python")]
    assert fake.errors == []


async def test_entities_are_counted_in_utf16_units_as_telegram_does(
    fake: FakeTelegram, bot: Bot
) -> None:
    fake.user(1)
    text = '😀 <b>bold</b> &amp; مرحبا <a href="https://x.org">link</a>\n<i>𝕏</i>'
    sent = await bot.send_message(1, text)
    assert sent.text == "😀 bold & مرحبا link\n𝕏"
    assert [(e.type, e.offset, e.length) for e in sent.entities or []] == [
        ("bold", 3, 4),  # the emoji is two UTF-16 units
        ("text_link", 16, 4),
        ("italic", 21, 2),  # and so is the double-struck X
    ]


async def test_refuses_malformed_html(fake: FakeTelegram, bot: Bot) -> None:
    fake.user(1)
    malformed = {
        "<p>paragraph</p>": 'Unsupported start tag "p" at byte offset 0',
        "<b>bold": 'Can\'t find end tag corresponding to start tag "b"',
        "<b><i>x</b></i>": 'Unmatched end tag at byte offset 7, expected "</i>", found "</b>"',
        "x</b>": "Unexpected end tag at byte offset 1",
        "1 < 2": 'Unsupported start tag "" at byte offset 2',
        "Tom & Jerry": "Character '&' at byte offset 4 must be escaped",
        "&nbsp;": "Character '&' at byte offset 0",
        '<span class="x">s</span>': 'Tag "span" must have class "tg-spoiler"',
        "<b": "Unclosed start tag at byte offset 0",
    }
    for text, reason in malformed.items():
        with pytest.raises(TelegramBadRequest) as refused:
            await bot.send_message(1, text)
        assert f"Bad Request: can't parse entities: {reason}" in refused.value.message, text
    assert len(fake.errors) == len(malformed)
    assert {error.status for error in fake.errors} == {400}
    assert fake.residents[1].messages == []


async def test_refuses_empty_and_overlong_text(fake: FakeTelegram, bot: Bot) -> None:
    fake.user(1)
    for empty in ("<b> </b>", "  \n ", "<i></i>"):
        with pytest.raises(TelegramBadRequest, match="Bad Request: message text is empty"):
            await bot.send_message(1, empty)
    await bot.send_message(1, "<b>" + "x" * 4096 + "</b>")  # tags do not count
    with pytest.raises(TelegramBadRequest, match="Bad Request: message is too long"):
        await bot.send_message(1, "&lt;" * 4097)
    with pytest.raises(TelegramBadRequest, match="Bad Request: message caption is too long"):
        await bot.send_photo(1, fake.register_file("photo"), caption="c" * 1025)


async def test_refuses_bad_inline_keyboards(fake: FakeTelegram, bot: Bot) -> None:
    fake.user(1)
    await bot.send_message(1, "ok", reply_markup=keyboard(("64 bytes", "é" * 32)))
    for data in ("é" * 32 + "x", ""):
        with pytest.raises(TelegramBadRequest, match="Bad Request: BUTTON_DATA_INVALID"):
            await bot.send_message(1, "x", reply_markup=keyboard(("b", data)))
    no_action = InlineKeyboardMarkup(inline_keyboard=[[InlineKeyboardButton(text="mute")]])
    with pytest.raises(TelegramBadRequest, match="can't parse inline keyboard button: Text"):
        await bot.send_message(1, "x", reply_markup=no_action)
    bad_url = InlineKeyboardMarkup(inline_keyboard=[[InlineKeyboardButton(text="u", url="x y")]])
    with pytest.raises(TelegramBadRequest, match="Bad Request: BUTTON_URL_INVALID"):
        await bot.send_message(1, "x", reply_markup=bad_url)


async def test_edits_and_deletions_follow_telegram(fake: FakeTelegram, bot: Bot) -> None:
    alice = fake.user(1)
    sent = await bot.send_message(1, "<b>Pick</b>", reply_markup=keyboard(("A", "a")))
    with pytest.raises(TelegramBadRequest, match=NOT_MODIFIED):
        await bot.edit_message_text(
            "<b>Pick</b>", chat_id=1, message_id=sent.message_id, reply_markup=keyboard(("A", "a"))
        )
    with pytest.raises(TelegramBadRequest, match=NOT_MODIFIED):
        await bot.edit_message_reply_markup(
            chat_id=1, message_id=sent.message_id, reply_markup=keyboard(("A", "a"))
        )
    # The same text in another format is a change; no reply_markup removes the keyboard.
    await bot.edit_message_text("Pick", chat_id=1, message_id=sent.message_id)
    assert (alice.last.text, alice.last.buttons, alice.last.edits) == ("Pick", [], 1)
    await bot.edit_message_reply_markup(
        chat_id=1, message_id=sent.message_id, reply_markup=keyboard(("B", "b"))
    )
    assert alice.last.button_texts == ["B"]
    with pytest.raises(TelegramBadRequest, match="Bad Request: message to edit not found"):
        await bot.edit_message_text("new", chat_id=1, message_id=99)
    own = alice.send("mine")
    with pytest.raises(TelegramBadRequest, match="Bad Request: message can't be edited"):
        await bot.edit_message_text("new", chat_id=1, message_id=own.message_id)
    assert await bot.delete_message(1, sent.message_id)
    assert alice.messages == [] and alice.received[0].deleted
    with pytest.raises(TelegramBadRequest, match="Bad Request: message to delete not found"):
        await bot.delete_message(1, sent.message_id)
    with pytest.raises(TelegramBadRequest, match="Bad Request: message to edit not found"):
        await bot.edit_message_text("gone", chat_id=1, message_id=sent.message_id)


async def test_callback_queries_are_answered_once_and_in_time(fake: FakeTelegram, bot: Bot) -> None:
    alice = fake.user(1)
    await bot.send_message(1, "Pick", reply_markup=keyboard(("Yes", "y"), ("No", "n")))
    first = alice.press(alice.last, "Yes")
    updates = await bot.get_updates(timeout=0)
    query = updates[-1].callback_query
    assert query is not None and query.id == first.id and query.data == "y"
    assert query.from_user.id == 1 and query.message is not None
    assert await bot.answer_callback_query(first.id, text="Saved")
    assert first.answered and first.answer_text == "Saved"
    with pytest.raises(TelegramBadRequest, match=STALE_QUERY):
        await bot.answer_callback_query(first.id)
    with pytest.raises(TelegramBadRequest, match=STALE_QUERY):
        await bot.answer_callback_query("404")
    late = alice.press(alice.last, data="n")
    fake.advance(15.5)
    with pytest.raises(TelegramBadRequest, match=STALE_QUERY):
        await bot.answer_callback_query(late.id)
    with pytest.raises(AssertionError, match="no callback button"):
        alice.press(alice.last, "Maybe")


async def test_unknown_and_blocked_chats(fake: FakeTelegram, bot: Bot) -> None:
    with pytest.raises(TelegramBadRequest, match="Bad Request: chat not found"):
        await bot.send_message(404, "anyone?")
    alice = fake.user(1)
    alice.block()
    with pytest.raises(TelegramForbiddenError, match="Forbidden: bot was blocked by the user"):
        await bot.send_message(1, "hello")
    with pytest.raises(TelegramForbiddenError):
        await bot.send_chat_action(1, "typing")
    alice.unblock()
    await bot.send_message(1, "hello again")
    assert [(e.method, e.status) for e in fake.errors] == [
        ("sendMessage", 400),
        ("sendMessage", 403),
        ("sendChatAction", 403),
    ]


async def test_flood_limit_per_private_chat(fake: FakeTelegram, bot: Bot) -> None:
    alice = fake.user(1)
    for number in range(3):
        await bot.send_message(1, f"burst {number}")
    with pytest.raises(TelegramRetryAfter) as refused:
        await bot.send_message(1, "one too many")
    assert refused.value.retry_after == 1
    assert "Too Many Requests: retry after 1" in refused.value.message
    fake.advance(1.0)
    await bot.send_message(1, "after a second")
    with pytest.raises(TelegramRetryAfter):
        await bot.send_message(1, "and again at once")
    assert len(alice.messages) == 4
    assert fake.errors[-1].retry_after == 1 and not fake.errors[-1].injected


async def test_flood_limit_overall(fake: FakeTelegram, bot: Bot) -> None:
    for chat_id in range(1, 32):
        fake.user(chat_id)
    for chat_id in range(1, 31):
        await bot.send_message(chat_id, "news")
    with pytest.raises(TelegramRetryAfter) as refused:
        await bot.send_message(31, "news")
    assert refused.value.retry_after == 1
    fake.advance(1.0)
    await bot.send_message(31, "news")


async def test_limits_can_be_lifted() -> None:
    async with FakeTelegram(limits=Limits.unlimited()) as fake:
        alice = fake.user(1)
        client = connect(fake)
        for number in range(40):
            await client.send_message(1, f"message {number}")
        await client.session.close()
    assert len(alice.messages) == 40 and fake.errors == []


async def test_long_polling_delivers_updates(fake: FakeTelegram, bot: Bot) -> None:
    alice = fake.user(1001, language_code="uk", first_name="Olena")
    loop = asyncio.get_running_loop()
    started = loop.time()
    poll = asyncio.create_task(bot.get_updates(timeout=5))
    await asyncio.sleep(0.1)
    assert not poll.done()
    alice.send("Потрібна допомога")
    updates = await poll
    assert loop.time() - started < 1.0
    message = updates[0].message
    assert message is not None and message.text == "Потрібна допомога"
    assert message.from_user is not None and message.from_user.language_code == "uk"
    # Without confirmation the update comes again; an offset confirms it.
    assert (await bot.get_updates(timeout=0))[0].update_id == updates[0].update_id
    assert await bot.get_updates(offset=updates[0].update_id + 1, timeout=0) == []
    alice.command("start", "pl")
    alice.send_sticker()
    alice.send_photo(caption="flyer")
    alice.send_voice()
    alice.send_document("leaflet.pdf")
    alice.send_location(52.23, 21.01)
    batch = await bot.get_updates(timeout=0, limit=3)
    assert [(u.message.text, u.message.caption) for u in batch if u.message] == [
        ("/start pl", None),
        (None, None),
        (None, "flyer"),
    ]
    rest = await bot.get_updates(offset=batch[-1].update_id + 1, timeout=0)
    kinds = [u.message for u in rest if u.message]
    assert kinds[0].voice and kinds[1].document and kinds[2].location
    assert kinds[1].document.file_name == "leaflet.pdf"
    assert [m.message_id for m in alice.history] == [1, 2, 3, 4, 5, 6, 7]


async def test_a_second_poller_ends_the_first(fake: FakeTelegram, bot: Bot) -> None:
    first = asyncio.create_task(bot.get_updates(timeout=5))
    await asyncio.sleep(0.1)
    second = asyncio.create_task(bot.get_updates(timeout=1))
    with pytest.raises(TelegramConflictError, match="terminated by other getUpdates"):
        await first
    fake.user(1).send("hi")
    assert len(await second) == 1


async def test_webhook_and_commands(fake: FakeTelegram, bot: Bot) -> None:
    assert await bot.set_webhook("https://example.org/hook")
    assert (await bot.get_webhook_info()).url == "https://example.org/hook"
    with pytest.raises(TelegramConflictError, match="webhook is active"):
        await bot.get_updates()
    fake.user(1).send("pending")
    assert await bot.delete_webhook(drop_pending_updates=True)
    assert await bot.get_updates(timeout=0) == []
    with pytest.raises(TelegramBadRequest, match="An HTTPS URL must be provided"):
        await bot.set_webhook("http://example.org/hook")
    commands = [BotCommand(command="start", description="Початок")]
    assert await bot.set_my_commands(commands, language_code="uk")
    assert fake.commands[('{"type": "default"}', "uk")][0]["command"] == "start"
    assert (await bot.get_my_commands(language_code="uk"))[0].description == "Початок"
    with pytest.raises(TelegramBadRequest, match="BOT_COMMAND_INVALID"):
        await bot.set_my_commands([BotCommand(command="Start!", description="x")])
    assert await bot.delete_my_commands(language_code="uk")
    assert fake.commands == {}
    assert await bot.close() and await bot.log_out()


async def test_files_actions_and_copies(fake: FakeTelegram, bot: Bot) -> None:
    alice = fake.user(1)
    sticker = fake.register_file("sticker", "CAACAgIAAxk-calm")
    await bot.send_sticker(1, sticker)
    await bot.send_photo(1, BufferedInputFile(b"\x89PNG", "map.png"), caption="<b>Map</b>")
    assert [(m.kind, m.text) for m in alice.messages] == [("sticker", ""), ("photo", "Map")]
    with pytest.raises(TelegramBadRequest, match="wrong file identifier/HTTP URL specified"):
        await bot.send_voice(1, "no-such-file")
    with pytest.raises(TelegramBadRequest, match="can't use file of type Sticker as Document"):
        await bot.send_document(1, sticker)
    assert await bot.send_chat_action(1, "typing")
    with pytest.raises(TelegramBadRequest, match="wrong parameter action"):
        await bot.send_chat_action(1, "dancing")
    voice = alice.send_voice()
    copied = await bot.copy_message(1, from_chat_id=1, message_id=voice.message_id)
    assert alice.last.kind == "voice" and alice.last.message_id == copied.message_id
    with pytest.raises(TelegramBadRequest, match="message to copy not found"):
        await bot.copy_message(1, from_chat_id=1, message_id=999)


async def test_injected_server_errors(fake: FakeTelegram, bot: Bot) -> None:
    fake.user(1)
    fake.fail_next(1)
    with pytest.raises(TelegramServerError, match="Bad Gateway"):
        await bot.send_message(1, "x")
    fake.fail_next(1, method="sendMessage", status=503, html=True)
    await bot.get_me()  # another method is untouched
    # An HTML page is no Bot API reply: aiogram cannot decode it.
    with pytest.raises(ClientDecodeError):
        await bot.send_message(1, "x")
    await bot.send_message(1, "x")
    assert [(e.status, e.injected) for e in fake.errors] == [(502, True), (503, True)]
    assert fake.provoked_errors == []
    assert fake.residents[1].texts == ["x"]


async def test_slow_replies_act_before_they_answer(fake: FakeTelegram, bot: Bot) -> None:
    alice = fake.user(1)
    fake.delay_replies(1.5, method="sendMessage")
    with pytest.raises(TelegramNetworkError, match="timeout"):
        await bot.send_message(1, "once", request_timeout=1)
    assert alice.texts == ["once"]  # a retry now would say it twice
    fake.delay_replies(0, method="sendMessage")
    await bot.send_message(1, "fast")
    assert alice.texts == ["once", "fast"]


async def test_storm_of_429(fake: FakeTelegram, bot: Bot) -> None:
    fake.user(1)
    fake.storm(30, retry_after=7)
    with pytest.raises(TelegramRetryAfter) as refused:
        await bot.send_message(1, "x")
    assert refused.value.retry_after == 7
    await bot.get_me()  # only sends are refused
    fake.advance(30)
    await bot.send_message(1, "after the storm")
    fake.storm(30)
    fake.clear_faults()
    await bot.send_message(1, "storm switched off")


async def test_a_real_dispatcher_talks_to_residents(fake: FakeTelegram) -> None:
    dispatcher = Dispatcher()

    @dispatcher.message(F.text)
    async def echo(message: Message) -> None:
        await message.answer(f"echo: {message.text}", reply_markup=keyboard(("Again", "again")))

    @dispatcher.callback_query(F.data == "again")
    async def again(query: CallbackQuery) -> None:
        await query.answer("Done")
        if isinstance(query.message, Message):
            await query.message.edit_text("echo: again")

    client = connect(fake, parse_mode="HTML")
    polling = asyncio.create_task(
        dispatcher.start_polling(client, polling_timeout=1, handle_signals=False)
    )
    alice = fake.user(1, first_name="Alicja")
    alice.send("<hello> & bye")  # the resident's text reaches the bot unescaped...
    with pytest.raises(AssertionError, match=r"waited 0\.5 s in vain"):
        await alice.wait_for_reply(timeout=0.5)  # ...and the bot's reply breaks the HTML
    assert "can't parse entities" in fake.errors[0].description
    alice.send("hi")
    reply = await alice.wait_for_reply()
    assert reply.text == "echo: hi" and reply.button_texts == ["Again"]
    query = alice.press(reply, "Again")
    await alice.wait_until(lambda chat: chat.last.text == "echo: again")
    await fake.wait_for(lambda: query.answered)
    assert query.answer_text == "Done"
    assert (await alice.wait_for_messages(1))[-1].text == "echo: again"
    assert fake.calls["getUpdates"] >= 2
    await dispatcher.stop_polling()
    await polling
