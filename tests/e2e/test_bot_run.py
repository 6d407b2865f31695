"""The real `bot run`, as a subprocess, against the strict fake Bot API on 127.0.0.1.

Residents write in several languages, press buttons, send what the bot cannot read, and meet
the faults Telegram has (5xx, HTML error pages, slow replies, 429 storms, blocked users). Every
test ends the same way: no reply lost, none duplicated, and not one Bot API error provoked.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import signal
import socket
import sys
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import aiohttp
import pytest
import pytest_asyncio

from tests.e2e.fake_api import FakeTelegram
from tests.e2e.fake_chats import Resident, StoredMessage
from tests.integration.test_handlers import WELCOME, _seeded_database, translated

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.asyncio(loop_scope="module")
REPLY_TIMEOUT = 10.0


class BotProcess:
    """`python -m bot run` with only the settings the acceptance check gives it."""

    def __init__(self, fake: FakeTelegram, database: Path, log: Path, **env: str) -> None:
        self.fake = fake
        self.database = database
        self.log_path = log
        self.env = env
        self.process: asyncio.subprocess.Process | None = None

    async def start(self) -> None:
        if not self.database.exists():  # migrated and seeded once for the whole run (seconds)
            seeded, _ = await asyncio.to_thread(_seeded_database)
            shutil.copy(seeded, self.database)
        base = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "WEBHOOK_URL")}
        env = {
            **base,
            "BOT_TOKEN": self.fake.token,
            "TELEGRAM_API_URL": self.fake.url,
            "DATABASE_URL": f"sqlite:///{self.database}",
            **self.env,
        }
        polls_before = self.fake.calls["getUpdates"]
        with self.log_path.open("ab") as log:
            self.process = await asyncio.create_subprocess_exec(
                sys.executable, "-m", "bot", "run", cwd=ROOT, env=env, stdout=log, stderr=log
            )
        try:
            await self.fake.wait_for(
                lambda: self.fake.calls["getUpdates"] > polls_before or self.fake.webhook_url != "",
                timeout=60,
            )
        except AssertionError:
            raise AssertionError("bot run did not start:\n" + self.log()) from None

    async def stop(self, sig: int = signal.SIGTERM) -> int:
        assert self.process is not None
        if self.process.returncode is None:
            self.process.send_signal(sig)
            try:
                await asyncio.wait_for(self.process.wait(), timeout=30)
            except TimeoutError:
                self.process.kill()
                await self.process.wait()
        return int(self.process.returncode or 0)

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")[-5000:]

    @classmethod
    @asynccontextmanager
    async def serving(
        cls, fake: FakeTelegram, folder: Path, **env: str
    ) -> AsyncIterator[BotProcess]:
        """A `bot run` for a test module, with its database and log in `folder`; it must stop
        cleanly (exit 0) at the end."""
        process = cls(fake, folder / "bot.sqlite3", folder / "bot.log", **env)
        await process.start()
        yield process
        assert await process.stop() == 0, process.log()


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def fake() -> AsyncIterator[FakeTelegram]:
    async with FakeTelegram() as running:
        yield running


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def bot(
    fake: FakeTelegram, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[BotProcess]:
    async with BotProcess.serving(fake, tmp_path_factory.mktemp("bot-run")) as process:
        yield process


@pytest.fixture(autouse=True)
def no_bot_api_errors(request: pytest.FixtureRequest) -> Any:
    """Every test: faults switched off afterwards, and not one error the bot provoked.

    A test may list statuses it provokes on purpose (a 403 from a resident who blocked the bot
    cannot be known before trying) in the set this fixture yields.
    """
    allowed: set[int] = set()
    fake: FakeTelegram | None = None
    if "fake" in request.fixturenames:
        fake = request.getfixturevalue("fake")
        before = len(fake.provoked_errors)
    yield allowed
    if fake is not None:
        fake.clear_faults()
        assert [e for e in fake.provoked_errors[before:] if e.status not in allowed] == []


_ids = iter(range(10_001, 99_999))


def resident(fake: FakeTelegram, language: str) -> Resident:
    return fake.user(next(_ids), language_code=language)


async def reply(person: Resident) -> StoredMessage:
    return await person.wait_for_reply(timeout=REPLY_TIMEOUT)


async def settle(person: Resident, expected: int) -> None:
    """Wait a moment longer, then check nothing more (a duplicate) arrived."""
    await asyncio.sleep(0.5)
    assert len(person.received) == expected, [m.text for m in person.received]


async def press(person: Resident, message: StoredMessage, label: str) -> None:
    query = person.press(message, label)
    await person.fake.wait_for(lambda: query.answered, timeout=REPLY_TIMEOUT)


@pytest.mark.parametrize(
    ("language", "question"),
    [("pl", "Potrzebuję banku żywności"), ("ar", "أحتاج إلى بنك طعام"),
     ("es", "necesito un banco de alimentos")],
)  # fmt: skip
async def test_the_whole_conversation(
    fake: FakeTelegram, bot: BotProcess, language: str, question: str
) -> None:
    person = resident(fake, language)
    person.command("start")
    greeting = await reply(person)
    assert greeting.source_text == translated(language, WELCOME)

    person.send(question)
    cards = await reply(person)
    assert "01632 96" in cards.text  # a local food service with its phone number
    assert translated(language, "Free only") in " ".join(cards.button_texts)

    await press(person, cards, translated(language, "Free only"))
    filtered = await reply(person)
    assert filtered.text.startswith(translated(language, "Showing only what matches your filters."))

    await press(person, filtered, translated(language, "👍 Helpful"))
    person.command("language")
    picker = await reply(person)
    await press(person, picker, "English")
    done = await reply(person)
    assert done.text == "Done! I'll write to you in English from now on."
    await settle(person, 5)


async def test_a_crisis_gets_the_lines_within_a_second(fake: FakeTelegram, bot: BotProcess) -> None:
    person = resident(fake, "ur")
    person.send("میں آج رات اپنی جان لے لوں گا")
    started = fake.now()
    lines = await reply(person)
    assert fake.now() - started < 1.0
    assert "116 123" in lines.text and "999" in lines.text
    assert translated("ur", "If you can, stay with someone you trust while you reach out.") in (
        lines.text
    )
    await settle(person, 1)


@pytest.mark.parametrize("language", ["en", "uk", "ur"])
async def test_bad_input_gets_one_kind_reply_each(
    fake: FakeTelegram, bot: BotProcess, language: str
) -> None:
    person = resident(fake, language)
    sends: list[Callable[[], object]] = [
        person.send_sticker,
        person.send_photo,
        person.send_voice,
        person.send_document,
        lambda: person.send_location(51.5, -0.1),
        lambda: person.send("🙂🙂🙂"),
        lambda: person.send("\u200b\u2066\u0007"),
        lambda: person.send("where can I get help with rent " * 200),  # 6,200 characters
        lambda: person.command("nonsense"),
        lambda: person.send("<b>not really html</b> & friends"),
    ]
    for number, send in enumerate(sends, 1):
        send()
        await person.wait_for_messages(number, timeout=REPLY_TIMEOUT)
    await settle(person, len(sends))
    cannot_read = translated(
        language,
        "Thank you for sending that. I can only read written messages for now. Could you "
        "type what you're looking for, or choose a topic?",
    )
    assert [m.text for m in person.received[:5]] == [cannot_read] * 5


async def test_forged_and_stale_buttons_are_answered(fake: FakeTelegram, bot: BotProcess) -> None:
    person = resident(fake, "en")
    person.command("start")
    menu = await reply(person)
    for data in ("t:nowhere", "p:77:3", "l:xx", "x", "h:1:1"):
        message = person.message(menu.message_id)
        assert message is not None
        message.reply_markup = {"inline_keyboard": [[{"text": "?", "callback_data": data}]]}
        query = person.press(menu, data=data)
        await fake.wait_for(lambda q=query: q.answered, timeout=REPLY_TIMEOUT)  # type: ignore[misc]
        assert query.answer_text
    await settle(person, 1)


async def test_server_errors_and_html_pages_are_retried_without_duplicates(
    fake: FakeTelegram, bot: BotProcess
) -> None:
    person = resident(fake, "pl")
    fake.fail_next(2, method="sendMessage", status=502)
    person.command("start")
    await reply(person)
    fake.fail_next(1, method="sendMessage", status=502, html=True)
    person.send("Potrzebuję pomocy z czynszem")
    await reply(person)
    await settle(person, 2)


async def test_a_slow_telegram_gets_no_duplicates(fake: FakeTelegram, bot: BotProcess) -> None:
    person = resident(fake, "ro")
    fake.delay_replies(3.0, method="sendMessage")
    person.command("start")
    await reply(person)
    fake.clear_faults()
    await settle(person, 1)


async def test_a_429_storm_is_waited_out(fake: FakeTelegram, bot: BotProcess) -> None:
    people = [resident(fake, "en") for _ in range(5)]
    fake.storm(1.5, retry_after=1)
    for person in people:
        person.command("start")
    for person in people:
        await reply(person)
    for person in people:
        await settle(person, 1)


async def test_a_resident_who_blocked_the_bot_is_left_alone_until_they_return(
    fake: FakeTelegram, bot: BotProcess, no_bot_api_errors: set[int]
) -> None:
    no_bot_api_errors.add(403)
    person = resident(fake, "es")
    fake.delay_replies(0.5, method="getUpdates")  # they block the bot before it answers
    person.send("hola")
    person.block()
    await fake.wait_for(
        lambda: [e.status for e in fake.provoked_errors if e.at > 0][-1:] == [403],
        timeout=REPLY_TIMEOUT,
    )
    fake.clear_faults()
    blocked_errors = sum(e.status == 403 for e in fake.errors)
    await asyncio.sleep(1.0)
    assert sum(e.status == 403 for e in fake.errors) == blocked_errors  # no second try
    person.unblock()
    person.command("start")
    await reply(person)
    await settle(person, 1)


async def test_sigterm_finishes_in_flight_replies_and_a_restart_repeats_none(
    tmp_path: Path,
) -> None:
    async with FakeTelegram() as fake:
        process = BotProcess(fake, tmp_path / "bot.sqlite3", tmp_path / "bot.log")
        await process.start()
        people = [resident(fake, language) for language in ("en", "pl", "pt")]
        fake.delay_replies(1.5, method="sendMessage")  # replies are still in flight at SIGTERM
        for person in people:
            person.send("I need a food bank")
        await fake.wait_for(lambda: fake.calls["sendMessage"] >= 1, timeout=REPLY_TIMEOUT)
        assert await process.stop() == 0, process.log()
        fake.clear_faults()
        for person in people:
            assert len(person.received) == 1, process.log()
        await process.start()
        await asyncio.sleep(2)
        assert await process.stop() == 0, process.log()
        for person in people:
            assert len(person.received) == 1
        assert fake.provoked_errors == []


async def test_webhook_mode_checks_the_secret_on_every_request(tmp_path: Path) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    async with FakeTelegram() as fake:
        process = BotProcess(
            fake, tmp_path / "bot.sqlite3", tmp_path / "bot.log",
            WEBHOOK_URL="https://tapestry.example.org", WEBHOOK_PATH="/hook/abc",
            WEBHOOK_HOST="127.0.0.1", WEBHOOK_PORT=str(port),
        )  # fmt: skip
        await process.start()
        assert fake.webhook_url == "https://tapestry.example.org/hook/abc"
        assert fake.webhook_secret
        person = resident(fake, "pl")
        update = {
            "update_id": 1,
            "message": {
                "message_id": person.next_message_id(), "date": 0, "text": "/start",
                "chat": person.as_chat(), "from": person.as_user(),
            },
        }  # fmt: skip
        url = f"http://127.0.0.1:{port}/hook/abc"
        async with aiohttp.ClientSession() as client:
            for secret in ("", "wrong"):
                headers = {"X-Telegram-Bot-Api-Secret-Token": secret} if secret else {}
                async with client.post(url, json=update, headers=headers) as response:
                    assert response.status == 401
            headers = {"X-Telegram-Bot-Api-Secret-Token": fake.webhook_secret}
            async with client.post(url, json=update, headers=headers) as response:
                assert response.status == 200
        greeting = await reply(person)
        assert greeting.source_text == translated("pl", WELCOME)
        assert await process.stop() == 0, process.log()
        assert len(person.received) == 1
        assert fake.provoked_errors == []
