"""Check-ins with the real `bot run`: a resident opts in with the buttons, the nudge comes when
due and its answers are acted on, a resident who blocked the bot is dropped, and two `bot run`
replicas (webhook mode, as several replicas are deployed) on one database send each nudge
exactly once (on PostgreSQL too when configured).

The tests move a resident's next due time in the database (the bot's truth) to now, rather
than waiting for a real morning; the scheduler looks every half second here.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import socket
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import pytest_asyncio
from sqlalchemy import insert, update
from sqlmodel import col

from bot.db import migrate
from bot.db.engine import make_engine
from bot.db.tables import CheckIn
from tests.e2e.checkin_rows import daytime_zone, due_check_in
from tests.e2e.fake_api import FakeTelegram
from tests.e2e.fake_chats import Resident, StoredMessage
from tests.e2e.fake_errors import Limits
from tests.e2e.test_bot_run import REPLY_TIMEOUT, BotProcess, fake, no_bot_api_errors
from tests.integration.test_handlers import translated

__all__ = ["fake", "no_bot_api_errors"]  # fixtures, reused
pytestmark = pytest.mark.asyncio(loop_scope="module")
FAST = {"CHECKIN_POLL_SECONDS": "0.5"}
NUDGE = "Hello 👋 Just checking in. How are you feeling today?"


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def bot(
    fake: FakeTelegram, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[BotProcess]:
    async with BotProcess.serving(fake, tmp_path_factory.mktemp("checkin-run"), **FAST) as process:
        yield process


async def _due_now(database: str, *residents: int) -> None:
    """As if their next check-in time had come (in a zone where it is daytime now: quiet
    hours would rightly hold the nudge back)."""
    engine = make_engine(database)
    async with engine.begin() as connection:
        await connection.execute(
            update(CheckIn).where(col(CheckIn.resident_id).in_(residents))
            .values(next_due=dt.datetime.now(dt.UTC), timezone=daytime_zone())
        )  # fmt: skip
    await engine.dispose()


async def _reply(person: Resident) -> StoredMessage:
    return await person.wait_for_reply(timeout=REPLY_TIMEOUT)


async def _opt_in(person: Resident, language: str) -> None:
    person.command("checkin")
    intro = await _reply(person)
    person.press(intro, translated(language, "Every day"))
    when = await _reply(person)
    person.press(when, translated(language, "In the evening"))
    zones = await _reply(person)
    person.press(zones, zones.button_texts[0])
    done = await _reply(person)
    assert done.text.startswith(translated(language, "Thank you. Check-ins are on."))


def _nudges(person: Resident, language: str) -> list[StoredMessage]:
    return [m for m in person.received if m.text.startswith(translated(language, NUDGE))]


async def test_an_arabic_resident_opts_in_gets_the_nudge_and_a_low_answer_is_met(
    fake: FakeTelegram, bot: BotProcess
) -> None:
    person = fake.user(7001, language_code="ar")
    await _opt_in(person, "ar")
    await _due_now(f"sqlite+aiosqlite:///{bot.database}", person.id)
    nudge = await _reply(person)
    assert nudge.text == translated("ar", NUDGE) and len(nudge.button_texts) == 7
    person.press(nudge, nudge.button_texts[1])  # 🙁 Low
    answer = await _reply(person)
    assert answer.text == translated(
        "ar",
        "I'm sorry today is hard. Thank you for telling me: you don't have to manage it on "
        "your own. Would any of these help?",
    )
    await person.wait_until(lambda p: p.message(nudge.message_id).button_texts == [])  # type: ignore[union-attr]
    assert len(_nudges(person, "ar")) == 1


async def test_a_resident_who_blocked_the_bot_is_tried_once_then_dropped(
    fake: FakeTelegram, bot: BotProcess, no_bot_api_errors: set[int]
) -> None:
    no_bot_api_errors.add(403)
    person = fake.user(7002, language_code="pl")
    await _opt_in(person, "pl")
    person.block()
    database = f"sqlite+aiosqlite:///{bot.database}"
    await _due_now(database, person.id)
    await fake.wait_for(lambda: any(e.status == 403 for e in fake.errors), timeout=REPLY_TIMEOUT)
    engine = make_engine(database)
    for _ in range(50):  # the row goes as soon as the 403 is handled
        async with engine.connect() as connection:
            left = (await connection.execute(
                CheckIn.__table__.select().where(CheckIn.__table__.c.resident_id == person.id)  # type: ignore[attr-defined]
            )).all()  # fmt: skip
        if not left:
            break
        await asyncio.sleep(0.1)
    await engine.dispose()
    assert left == []


async def test_two_bot_processes_on_one_database_send_each_nudge_once(
    database_url: str, tmp_path: Path
) -> None:
    residents = range(8001, 8301)
    async with FakeTelegram(limits=Limits.unlimited()) as fake:
        for resident in residents:
            fake.user(resident, language_code="en")
        first, second = (
            BotProcess(fake, tmp_path / "unused.sqlite3", tmp_path / f"{name}.log",
                       DATABASE_URL=database_url, WEBHOOK_URL="https://tapestry.example.org",
                       WEBHOOK_HOST="127.0.0.1", WEBHOOK_PORT=str(_free_port()), **FAST)
            for name in ("first", "second")
        )  # fmt: skip
        await first.start()  # migrates and seeds; then the second finds it done
        await second.start()
        await fake.wait_for(lambda: fake.calls["setWebhook"] == 2, timeout=60)  # both up
        try:
            engine = make_engine(database_url)
            await migrate.upgrade(engine)  # a no-op: both are running on it
            due = dt.datetime.now(dt.UTC) + dt.timedelta(seconds=1)
            zone = daytime_zone()
            async with engine.begin() as connection:
                await connection.execute(
                    insert(CheckIn),
                    [due_check_in(r, due=due, zone=zone, language="en") for r in residents],
                )
            await engine.dispose()
            people = [fake.user(r) for r in residents]
            await fake.wait_for(
                lambda: all(_nudges(p, "en") for p in people), timeout=60,
                describe=lambda: f"{sum(bool(_nudges(p, 'en')) for p in people)} nudged",
            )  # fmt: skip
            await asyncio.sleep(2)  # a second nudge to anyone would have come by now
        finally:
            assert await first.stop() == 0, first.log()
            assert await second.stop() == 0, second.log()
    assert [len(_nudges(p, "en")) for p in people] == [1] * len(people)
    assert fake.provoked_errors == []


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])
