"""Crisis to volunteer, end to end: the real `bot run` with ADMIN_IDS and VOLUNTEER_IDS, against
the strict fake Bot API. Residents in crisis, volunteers pressing at once, a volunteer who
blocked the bot, a forged claim, the relay both ways, SIGKILL and restart, and the timers.
"""

from __future__ import annotations

import asyncio
import itertools
import signal
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import pytest
import pytest_asyncio

from bot.keyboards import TakeCase
from tests.e2e.fake_api import FakeTelegram
from tests.e2e.fake_chats import Resident, StoredMessage
from tests.e2e.test_bot_run import REPLY_TIMEOUT, BotProcess, no_bot_api_errors
from tests.integration.test_handlers import translated

__all__ = ["no_bot_api_errors"]  # the autouse fixture, reused
pytestmark = pytest.mark.asyncio(loop_scope="module")

ADMIN, SAM, ALEX, GONE = 700, 701, 702, 703  # GONE has blocked the bot
STAFF = {"ADMIN_IDS": str(ADMIN), "VOLUNTEER_IDS": f"{SAM},{ALEX},{GONE}"}
CRISIS = {
    "ar": "أريد أن أنهي حياتي الليلة",
    "pl": "Chcę się dziś zabić",
    "es": "Quiero quitarme la vida esta noche",
    "en": "I want to end it all tonight",
    "uk": "Я хочу покінчити з собою сьогодні",
    "ur": "میں آج رات اپنی جان لے لوں گا",
}
TAKE = "🙋 Take this case"
_ids = itertools.count(20_001)


def staff(fake: FakeTelegram) -> tuple[Resident, Resident, Resident]:
    gone = fake.user(GONE)
    gone.block()
    return fake.user(SAM), fake.user(ALEX), fake.user(ADMIN)


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def fake() -> AsyncIterator[FakeTelegram]:
    async with FakeTelegram() as running:
        staff(running)
        yield running


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def bot(
    fake: FakeTelegram, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[BotProcess]:
    async with BotProcess.serving(fake, tmp_path_factory.mktemp("crisis-run"), **STAFF) as process:
        yield process


def alerts(volunteer: Resident, text: str) -> list[StoredMessage]:
    """The alerts this volunteer got about a message with `text` (as first sent)."""
    return [m for m in volunteer.received if m.source_text and text in m.source_text
            and "Case: Resident #" in m.source_text]  # fmt: skip


async def alerted(volunteer: Resident, text: str) -> StoredMessage:
    await volunteer.fake.wait_for(lambda: bool(alerts(volunteer, text)), timeout=REPLY_TIMEOUT,
                                  describe=lambda: f"an alert to {volunteer.id}")  # fmt: skip
    [alert] = alerts(volunteer, text)
    return alert


async def said(person: Resident, matches: Callable[[StoredMessage], bool]) -> StoredMessage:
    """The first message the bot sent `person` that matches, once it has arrived."""
    await person.fake.wait_for(lambda: any(matches(m) for m in person.received),
                               timeout=REPLY_TIMEOUT)  # fmt: skip
    return next(m for m in person.received if matches(m))


async def in_crisis(fake: FakeTelegram, language: str) -> tuple[Resident, StoredMessage]:
    person = fake.user(next(_ids), language_code=language)
    person.send(CRISIS[language])
    started = fake.now()
    lines = await person.wait_for_reply(timeout=REPLY_TIMEOUT)
    assert fake.now() - started < 1.0, "the crisis lines took more than a second"
    return person, lines


@pytest.mark.parametrize("language", ["ar", "pl"])
async def test_a_resident_in_crisis_gets_the_lines_and_volunteers_are_alerted(
    fake: FakeTelegram, bot: BotProcess, no_bot_api_errors: set[int], language: str
) -> None:
    no_bot_api_errors.add(403)  # the volunteer who blocked the bot is tried once
    person, lines = await in_crisis(fake, language)
    assert "116 123" in lines.text and "999" in lines.text
    assert translated(language, "If you can, stay with someone you trust while you reach out.") in (
        lines.text
    )
    told = await person.wait_for_reply(timeout=REPLY_TIMEOUT)
    assert told.text == translated(language, "I've let our volunteers know. A person will join "
        "you here as soon as one is free. You can keep writing to me in the meantime.")  # fmt: skip
    for volunteer in (fake.user(SAM), fake.user(ALEX)):
        alert = await alerted(volunteer, CRISIS[language])
        assert "Someone may be in crisis" in alert.text
        assert {"ar": "Arabic (العربية)", "pl": "Polish (Polski)"}[language] in alert.text
        assert alert.button_texts == [TAKE]
    assert fake.user(GONE).received == []


async def test_two_volunteers_press_at_once_one_takes_it_and_they_talk(
    fake: FakeTelegram, bot: BotProcess, no_bot_api_errors: set[int]
) -> None:
    no_bot_api_errors.add(403)
    sam, alex, _ = staff(fake)
    person, _ = await in_crisis(fake, "es")
    await person.wait_for_reply(timeout=REPLY_TIMEOUT)  # "I've let our volunteers know"
    presses = [sam.press(await alerted(sam, CRISIS["es"]), TAKE),
               alex.press(await alerted(alex, CRISIS["es"]), TAKE)]  # fmt: skip
    await fake.wait_for(lambda: all(q.answered for q in presses), timeout=REPLY_TIMEOUT)
    answers = sorted(q.answer_text or "" for q in presses)
    assert answers[0].startswith("Someone else took it first")
    assert answers[1] == "The case is yours. Thank you."
    winner, loser = (sam, alex) if presses[0].answer_text == answers[1] else (alex, sam)

    joined = await said(person, lambda m: "/end" in m.text)  # "<alias> is joining you now"
    assert "<b>" not in joined.text
    await fake.wait_for(lambda: "✅ Taken by" in (alerts(loser, CRISIS["es"])[0].text or ""),
                        timeout=REPLY_TIMEOUT)  # fmt: skip
    assert alerts(loser, CRISIS["es"])[0].button_texts == []

    # Resident -> volunteer, anonymously.
    before = len(winner.received)
    person.send("Estoy sola en casa")
    await winner.wait_for_messages(before + 1, timeout=REPLY_TIMEOUT)
    relayed = winner.received[-1]
    assert relayed.text.endswith("Estoy sola en casa") and "Resident #" in relayed.text
    assert str(person.id) not in relayed.text
    # Volunteer -> resident, under the volunteer's alias only.
    winner.send("Estoy aquí contigo. ¿Estás en un lugar seguro?")
    back = await said(person, lambda m: m.text.endswith("¿Estás en un lugar seguro?"))
    assert str(winner.id) not in back.text
    # A voice message is copied, not forwarded: no sender shown.
    before = len(winner.received)
    person.send_voice()
    await winner.wait_for_messages(before + 2, timeout=REPLY_TIMEOUT)
    assert winner.received[-1].kind == "voice"

    # The volunteer closes the case; the resident gets the lines again.
    controls = next(m for m in reversed(winner.received) if "✅ Close the case" in m.button_texts)
    query = winner.press(controls, "✅ Close the case")
    await fake.wait_for(lambda: query.answered, timeout=REPLY_TIMEOUT)
    outcomes = await winner.wait_for_reply(timeout=REPLY_TIMEOUT)
    query = winner.press(outcomes, "Safe for now")
    await fake.wait_for(lambda: query.answered, timeout=REPLY_TIMEOUT)
    closing = await said(person, lambda m: "116 123" in m.text and m.message_id > back.message_id)
    await asyncio.sleep(0.5)
    assert person.received[-1] is closing  # nothing duplicated


async def test_a_forged_claim_by_a_resident_changes_nothing(
    fake: FakeTelegram, bot: BotProcess, no_bot_api_errors: set[int]
) -> None:
    no_bot_api_errors.add(403)
    person, lines = await in_crisis(fake, "en")
    alert = await alerted(fake.user(SAM), CRISIS["en"])
    data = next(b.callback_data for row in alert.buttons for b in row)
    assert data is not None and data.startswith("k:")
    forged = person.press_forged(lines, data)
    await fake.wait_for(lambda: forged.answered, timeout=REPLY_TIMEOUT)
    assert forged.answer_text == "This button is only for volunteers."
    other = person.press_forged(lines, TakeCase(case=1).pack())
    await fake.wait_for(lambda: other.answered, timeout=REPLY_TIMEOUT)
    assert other.answer_text == "This button is only for volunteers."
    # The case is still there for a volunteer to take.
    query = fake.user(SAM).press(alert, TAKE)
    await fake.wait_for(lambda: query.answered, timeout=REPLY_TIMEOUT)
    assert query.answer_text == "The case is yours. Thank you."


async def test_the_alert_survives_sigkill_and_goes_out_once(tmp_path: Path) -> None:
    async with FakeTelegram() as fake:
        sam, alex, _ = staff(fake)
        process = BotProcess(fake, tmp_path / "bot.sqlite3", tmp_path / "bot.log", **STAFF)
        await process.start()
        person = fake.user(next(_ids), language_code="ur")
        # Telegram takes the crisis reply but answers slowly: the bot is killed while waiting,
        # before it has stored the case. The update was not confirmed, so it comes again.
        fake.delay_replies(3.0, method="sendMessage")
        person.send(CRISIS["ur"])
        await fake.wait_for(lambda: len(person.received) >= 1, timeout=REPLY_TIMEOUT)
        await process.stop(signal.SIGKILL)
        fake.clear_faults()
        assert alerts(sam, CRISIS["ur"]) == [] and alerts(alex, CRISIS["ur"]) == []
        await process.start()
        await alerted(sam, CRISIS["ur"])
        await alerted(alex, CRISIS["ur"])
        await asyncio.sleep(3)  # and no second alert (the restart did not raise it twice)
        assert len(alerts(sam, CRISIS["ur"])) == 1 and len(alerts(alex, CRISIS["ur"])) == 1
        assert "116 123" in person.received[0].text
        assert await process.stop() == 0, process.log()
        assert [e for e in fake.provoked_errors if e.status != 403] == []


async def test_timers_realert_and_tell_the_resident_even_across_a_restart(tmp_path: Path) -> None:
    timers = {"REALERT_MINUTES": "0.05", "NO_VOLUNTEER_MINUTES": "0.1",
              "TIMER_CHECK_SECONDS": "0.5"}  # 3 s and 6 s  # fmt: skip
    async with FakeTelegram() as fake:
        sam, _, admin = staff(fake)
        process = BotProcess(fake, tmp_path / "bot.sqlite3", tmp_path / "bot.log",
                             **STAFF, **timers)  # fmt: skip
        await process.start()
        person, _ = await in_crisis(fake, "pl")
        await alerted(sam, CRISIS["pl"])
        assert alerts(admin, CRISIS["pl"]) == []
        await process.stop(signal.SIGKILL)  # the timers live in the database, not the process
        await process.start()
        await fake.wait_for(lambda: len(alerts(sam, CRISIS["pl"])) == 2, timeout=REPLY_TIMEOUT)
        realert = alerts(admin, CRISIS["pl"])
        assert len(realert) == 1 and "Still nobody on it after" in realert[0].text
        honest = translated("pl", "I'm sorry: no volunteer is free right now. I'm still trying, "
                            "and your request stays open. Please don't wait for us if you need "
                            "help now:")  # fmt: skip
        await fake.wait_for(lambda: any(honest in m.text for m in person.received),
                            timeout=REPLY_TIMEOUT)  # fmt: skip
        await asyncio.sleep(1.5)
        assert sum(honest in m.text for m in person.received) == 1
        assert len(alerts(sam, CRISIS["pl"])) == 2
        assert await process.stop() == 0, process.log()
        assert [e for e in fake.provoked_errors if e.status != 403] == []
