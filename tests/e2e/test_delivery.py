"""`Delivery` keeps a real aiogram Bot within Telegram's limits and through its faults.

The bot talks real HTTP to the strict fake Bot API on 127.0.0.1; the assertions are on what the
residents received there, and on the fake having had no reason to refuse anything.
"""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Any

import pytest
from aiogram import Bot
from aiogram.client.telegram import TelegramAPIServer
from aiogram.exceptions import TelegramNetworkError, TelegramServerError
from aiogram.types import BotCommand, Message

from bot.delivery import Delivery, Priority, RecipientBlocked, priority
from bot.session import Session
from tests.e2e.fake_api import FakeTelegram

SMALL_BACKOFF = 0.2


@pytest.fixture
async def fake() -> AsyncIterator[FakeTelegram]:
    async with FakeTelegram() as running:
        yield running


@asynccontextmanager
async def connected(
    fake: FakeTelegram,
    delivery: Delivery,
    *,
    timeout: float = 10,  # noqa: ASYNC109
) -> AsyncIterator[Bot]:
    """A real Bot whose every request goes through `delivery`, as `make_bot` builds it."""
    session = Session(api=TelegramAPIServer.from_base(fake.url), timeout=timeout)
    session.middleware(delivery)
    bot = Bot(fake.token, session=session)
    try:
        yield bot
    finally:
        await bot.session.close()


def send_times(fake: FakeTelegram, chat_id: int | None = None) -> list[float]:
    """When the fake received each sendMessage (to `chat_id`, or to anyone)."""
    return [
        call.at
        for call in fake.log
        if call.method == "sendMessage" and chat_id in (None, int(call.params["chat_id"]))
    ]


def order_of_sends(fake: FakeTelegram) -> list[int]:
    """The chats sendMessage went to, in the order the fake received them."""
    return [int(call.params["chat_id"]) for call in fake.log if call.method == "sendMessage"]


def elapsed_since(start: float) -> float:
    return asyncio.get_running_loop().time() - start


async def test_overall_limit_spreads_sends_to_30_a_second(fake: FakeTelegram) -> None:
    residents = [fake.user(chat_id) for chat_id in range(1, 91)]
    async with connected(fake, Delivery(max_backoff=SMALL_BACKOFF)) as bot:
        start = asyncio.get_running_loop().time()
        await asyncio.gather(*(bot.send_message(r.id, f"news for {r.id}") for r in residents))
        took = elapsed_since(start)
    assert fake.errors == []  # no 429: never more than 30 in any second
    for resident in residents:
        assert resident.texts == [f"news for {resident.id}"]
    assert fake.calls["sendMessage"] == 90
    times = send_times(fake)
    assert times[-1] - times[0] >= 2.8 and took < 4.5  # 89 gaps of 1/30 s or a little more
    first_second = [t for t in times if t < times[0] + 1.0]
    assert 25 <= len(first_second) <= 30


async def test_per_chat_limit_paces_after_the_burst_and_keeps_order(fake: FakeTelegram) -> None:
    alice = fake.user(1)
    async with connected(fake, Delivery(max_backoff=SMALL_BACKOFF)) as bot:
        await asyncio.gather(*(bot.send_message(1, f"part {n}") for n in range(8)))
    assert fake.errors == []
    assert alice.texts == [f"part {n}" for n in range(8)]
    times = send_times(fake, 1)
    assert times[2] - times[0] < 0.5  # the burst of three goes at once
    gaps = [later - earlier for earlier, later in itertools.pairwise(times[2:])]
    assert all(0.85 <= gap <= 1.5 for gap in gaps), gaps  # then about one a second
    assert 4.8 <= times[-1] - times[0] <= 6.5


async def test_crisis_then_replies_go_before_bulk_sends(fake: FakeTelegram) -> None:
    bulk_chats = list(range(1, 46))
    reply_chats = list(range(101, 106))
    for chat_id in [*bulk_chats, *reply_chats, 999]:
        fake.user(chat_id)
    async with connected(fake, Delivery(max_backoff=SMALL_BACKOFF)) as bot:
        with priority(Priority.BULK):  # tasks copy the context, so each is sent as bulk
            bulk = [asyncio.create_task(bot.send_message(c, "check-in")) for c in bulk_chats]
        await fake.wait_for(lambda: fake.calls["sendMessage"] >= 5)
        bulk_sent_before = fake.calls["sendMessage"]
        replies = [asyncio.create_task(bot.send_message(c, "reply")) for c in reply_chats]
        with priority(Priority.CRISIS):
            crisis = asyncio.create_task(bot.send_message(999, "crisis lines"))
        await crisis
        assert sum(not task.done() for task in bulk) > 20  # the bulk is still waiting
        await asyncio.gather(*replies, *bulk)
    assert fake.errors == []
    order = order_of_sends(fake)
    # Those already on their way may land first; then the crisis, the replies, the rest.
    after = order[bulk_sent_before:]
    head = after.index(999)
    assert head <= 1
    assert sorted(after[head + 1 : head + 6]) == reply_chats
    assert set(after[head + 6 :]) <= set(bulk_chats)
    assert len(order) == len(set(order)) == 51  # each exactly once
    assert fake.residents[999].texts == ["crisis lines"]


async def test_a_429_is_waited_out_and_the_message_sent_once(fake: FakeTelegram) -> None:
    alice = fake.user(1)
    fake.storm(0.5, retry_after=1)
    async with connected(fake, Delivery(max_backoff=SMALL_BACKOFF)) as bot:
        start = asyncio.get_running_loop().time()
        await bot.send_message(1, "after the storm")
        took = elapsed_since(start)
    assert took >= 1.0  # it waited retry_after, not less
    assert alice.texts == ["after the storm"]
    assert [(e.status, e.retry_after) for e in fake.errors] == [(429, 1)]
    assert fake.calls["sendMessage"] == 2


async def test_a_429_from_another_sender_sharing_the_chat_is_waited_out(
    fake: FakeTelegram,
) -> None:
    """Another replica used up the chat's burst: the fake's own limiter says wait."""
    alice = fake.user(1)
    other = Bot(fake.token, session=Session(api=TelegramAPIServer.from_base(fake.url)))
    for number in range(3):
        await other.send_message(1, f"other {number}")
    await other.session.close()
    async with connected(fake, Delivery(max_backoff=SMALL_BACKOFF)) as bot:
        start = asyncio.get_running_loop().time()
        await bot.send_message(1, "mine")
        took = elapsed_since(start)
    assert took >= 1.0
    assert alice.texts == ["other 0", "other 1", "other 2", "mine"]
    assert [(e.status, e.retry_after) for e in fake.errors] == [(429, 1)]


@pytest.mark.parametrize(("status", "html"), [(502, False), (503, True)])
async def test_server_errors_are_retried_with_backoff_and_sent_once(
    fake: FakeTelegram, status: int, html: bool
) -> None:
    alice = fake.user(1)
    fake.fail_next(2, method="sendMessage", status=status, html=html)
    async with connected(fake, Delivery(max_backoff=SMALL_BACKOFF)) as bot:
        start = asyncio.get_running_loop().time()
        sent = await bot.send_message(1, "hello")
        took = elapsed_since(start)
    assert isinstance(sent, Message) and sent.text == "hello"
    assert alice.texts == ["hello"]
    assert fake.calls["sendMessage"] == 3
    assert took >= 2 * SMALL_BACKOFF  # it backed off before each retry
    assert [(e.status, e.injected) for e in fake.errors] == [(status, True)] * 2
    assert fake.provoked_errors == []


async def test_server_errors_end_after_max_attempts(fake: FakeTelegram) -> None:
    alice = fake.user(1)
    fake.fail_next(10, method="sendMessage", status=502)
    delivery = Delivery(max_attempts=3, max_backoff=0.05)
    async with connected(fake, delivery) as bot:
        with pytest.raises(TelegramServerError, match="Bad Gateway"):
            await bot.send_message(1, "hello")
    assert fake.calls["sendMessage"] == 3 and alice.texts == []
    assert fake.provoked_errors == []


async def test_a_send_whose_reply_timed_out_is_not_repeated(fake: FakeTelegram) -> None:
    alice = fake.user(1)
    fake.delay_replies(2, method="sendMessage")
    async with connected(fake, Delivery(max_backoff=SMALL_BACKOFF), timeout=1) as bot:
        with pytest.raises(TelegramNetworkError, match="timeout"):
            await bot.send_message(1, "only once")
        await asyncio.sleep(SMALL_BACKOFF + 0.1)  # no retry is on its way either
        with pytest.raises(TelegramNetworkError, match="timeout"):  # nor with a call's own
            await bot.send_message(1, "and once more", request_timeout=1)
    assert fake.calls["sendMessage"] == 2
    # They did arrive: a retry would have said them twice.
    assert alice.texts == ["only once", "and once more"]
    assert fake.provoked_errors == []


async def test_a_timed_out_idempotent_call_is_retried(fake: FakeTelegram) -> None:
    fake.delay_replies(2, method="setMyCommands")
    commands = [BotCommand(command="start", description="Start")]
    async with connected(fake, Delivery(max_backoff=SMALL_BACKOFF), timeout=1) as bot:
        setting = asyncio.create_task(bot.set_my_commands(commands))
        await fake.wait_for(lambda: fake.calls["setMyCommands"] == 1)
        fake.delay_replies(0, method="setMyCommands")  # the first reply stays slow
        assert await setting is True
    assert fake.calls["setMyCommands"] == 2
    assert fake.commands[('{"type": "default"}', "")][0]["command"] == "start"
    assert fake.provoked_errors == []


async def test_a_resident_who_blocked_the_bot_is_not_sent_to(fake: FakeTelegram) -> None:
    alice = fake.user(1)
    bob = fake.user(2)
    marked: list[int] = []

    async def on_blocked(chat_id: int) -> None:
        marked.append(chat_id)

    delivery = Delivery(max_backoff=SMALL_BACKOFF, on_blocked=on_blocked)
    alice.block()
    async with connected(fake, delivery) as bot:
        with pytest.raises(RecipientBlocked) as refused:
            await bot.send_message(1, "hello")
        assert refused.value.chat_id == 1
        assert delivery.blocked == {1} and marked == [1]
        calls = sum(fake.calls.values())
        attempts: list[Callable[[], Awaitable[Any]]] = [
            lambda: bot.send_message(1, "are you there?"),
            lambda: bot.send_chat_action(1, "typing"),
        ]
        for attempt in attempts:
            with pytest.raises(RecipientBlocked):
                await attempt()
        assert sum(fake.calls.values()) == calls  # not even attempted
        assert marked == [1]  # marked once
        await bot.send_message(2, "others still get theirs")
        alice.unblock()
        delivery.unblock(1)  # they wrote again
        await bot.send_message(1, "welcome back")
    assert alice.texts == ["welcome back"]
    assert bob.texts == ["others still get theirs"]
    assert [(e.method, e.status) for e in fake.errors] == [("sendMessage", 403)]
