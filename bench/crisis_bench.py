"""Crisis benchmark: from a crisis message to the safety reply, and to the first volunteer alert.

The real bot (`python -m bot run`, with VOLUNTEER_IDS) against the fake Telegram Bot API with
Telegram's limits (about 30 messages/s overall, 1/s per chat), the bot at its deployed cap.
Two phases:

- alone: crisis messages from residents in the ten languages, one every `--gap` seconds;
- loaded: the same, while 1,000 other residents' questions (`--others`) are being answered.

For each crisis message: the time from the push to the first sendMessage to that resident
(the crisis lines) and to the first alert naming it at any volunteer; p50 and p99.
Targets: safety reply < 1 s, first alert < 2 s, in both phases.

    python3 dev.py run python -m bench.crisis_bench [--crises 20] [--others 1000] [--gap 0.5]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import math
import os
import shutil
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from bench.bot_bench import QUESTIONS, ROOT, log_problems, progress, tail
from tests.e2e.fake_api import FakeTelegram

VOLUNTEERS = tuple(range(900_001, 900_006))
CRISES = {
    "en": "I want to end it all tonight",
    "pl": "Chcę się dziś zabić",
    "ro": "Vreau să mă sinucid în seara asta",
    "pa": "ਮੈਂ ਅੱਜ ਰਾਤ ਆਪਣੀ ਜਾਨ ਲੈ ਲਵਾਂਗਾ",
    "ur": "میں آج رات اپنی جان لے لوں گا",
    "pt": "Quero acabar com a minha vida esta noite",
    "es": "Quiero quitarme la vida esta noche",
    "ar": "أريد أن أنهي حياتي الليلة",
    "bn": "আমি আজ রাতে আত্মহত্যা করব",
    "uk": "Я хочу покінчити з собою сьогодні",
}
TARGET_REPLY, TARGET_ALERT = 1.0, 2.0


class CrisisFake(FakeTelegram):
    """Notes when each resident first hears back, and when each alert reaches a volunteer."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.pushed: dict[int, float] = {}  # resident in crisis -> when they wrote
        self.replied: dict[int, float] = {}
        self.alerted: dict[int, float] = {}  # resident -> first alert naming their text
        self.texts: dict[str, int] = {}  # the crisis text sent -> resident
        self.others_answered = 0
        self.others: set[int] = set()

    async def _send_message(self, params: dict[str, Any]) -> Any:
        result = await super()._send_message(params)
        now = time.perf_counter()
        chat = int(params.get("chat_id", 0))
        if chat in self.pushed and chat not in self.replied:
            self.replied[chat] = now
        elif chat in self.others:
            self.others_answered += 1
            self.others.discard(chat)
        elif chat in VOLUNTEERS:
            text = str(params.get("text", ""))
            for crisis_text, resident in self.texts.items():
                if crisis_text in text and resident not in self.alerted:
                    self.alerted[resident] = now
        return result


def percentile(values: list[float], p: float) -> float:
    if not values:
        return math.nan
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, math.ceil(p / 100 * len(ordered)) - 1)]


async def crisis_phase(
    fake: CrisisFake, first_id: int, count: int, gap: float
) -> tuple[list[float], list[float], int]:
    ids = []
    for i in range(count):
        language = list(CRISES)[i % len(CRISES)]
        resident = fake.user(first_id + i, language_code=language)
        text = f"{CRISES[language]} ({first_id + i})"  # each alert names its own message
        fake.texts[text] = resident.id
        fake.pushed[resident.id] = time.perf_counter()
        resident.send(text)
        ids.append(resident.id)
        await asyncio.sleep(gap)
    with contextlib.suppress(AssertionError):  # what is still missing is reported
        await fake.wait_for(
            lambda: all(r in fake.replied and r in fake.alerted for r in ids), timeout=30
        )
    replies = [fake.replied[r] - fake.pushed[r] for r in ids if r in fake.replied]
    alerts = [fake.alerted[r] - fake.pushed[r] for r in ids if r in fake.alerted]
    missing = sum(1 for r in ids if r not in fake.replied or r not in fake.alerted)
    return replies, alerts, missing


def report(name: str, replies: list[float], alerts: list[float], missing: int) -> list[str]:
    def met(values: list[float], target: float) -> str:
        ok = values and percentile(values, 99) < target and not missing
        return "met" if ok else "NOT met"

    return [
        f"{name}: {len(replies)} crisis messages, {missing} without a reply or an alert",
        f"  safety reply   p50 {percentile(replies, 50) * 1000:6.0f} ms   p99 "
        f"{percentile(replies, 99) * 1000:6.0f} ms   (target < 1 s: {met(replies, TARGET_REPLY)})",
        f"  first alert    p50 {percentile(alerts, 50) * 1000:6.0f} ms   p99 "
        f"{percentile(alerts, 99) * 1000:6.0f} ms   (target < 2 s: {met(alerts, TARGET_ALERT)})",
    ]


async def main_async(args: argparse.Namespace) -> None:
    with tempfile.TemporaryDirectory(prefix="bench-crisis-") as tmp:
        log_path = Path(tmp) / "bot.log"
        async with CrisisFake() as fake:  # Telegram's limits: ~30/s overall, ~1/s a chat
            for volunteer in VOLUNTEERS:
                fake.user(volunteer)
            env = {
                **os.environ, "BOT_TOKEN": fake.token, "TELEGRAM_API_URL": fake.url,
                "DATABASE_URL": f"sqlite+aiosqlite:///{tmp}/bench.sqlite3",
                "VOLUNTEER_IDS": ",".join(map(str, VOLUNTEERS)),
                "REDIS_URL": "", "WEBHOOK_URL": "", "PYTHONUNBUFFERED": "1",
            }  # fmt: skip
            with log_path.open("wb") as log:
                process = await asyncio.create_subprocess_exec(
                    sys.executable, "-m", "bot", "run", cwd=ROOT, env=env, stdout=log, stderr=log
                )
            try:
                progress("starting bot run")
                await fake.wait_for(lambda: fake.calls["getUpdates"] > 0, timeout=300)
                progress(f"alone: {args.crises} crisis messages, one every {args.gap} s")
                alone = await crisis_phase(fake, 30_000_001, args.crises, args.gap)
                progress(f"loaded: the same while {args.others} replies are being sent")
                languages = list(QUESTIONS)
                for i in range(args.others):
                    language = languages[i % len(languages)]
                    other = fake.user(40_000_001 + i, language_code=language)
                    fake.others.add(other.id)
                    other.send(QUESTIONS[language][i % len(QUESTIONS[language])])
                # One crisis arrives in the same instant, queued at Telegram behind them all.
                together = await crisis_phase(fake, 32_000_001, 1, 0)
                # The rest once the bot has taken them in, while it is answering them at ~28/s.
                await fake.wait_for(lambda: not fake.pending_updates, timeout=60)
                queued = len(fake.others)
                loaded = await crisis_phase(fake, 31_000_001, args.crises, args.gap)
                backlog = len(fake.others)
            finally:
                process.terminate()
                await process.wait()
        lines = [
            f"Crisis benchmark: {len(VOLUNTEERS)} volunteers; Telegram's limits at the fake",
            *report("alone", *alone),
            *report(
                f"while {args.others} other replies are being sent ({queued} still to "
                "send when the first of these crises came)",
                *loaded,
            ),
            f"  other residents still waiting when the last crisis was alerted: {backlog}",
            f"one crisis sent in the same instant as the {args.others} others (queued at "
            f"Telegram behind them): safety reply {together[0][0] * 1000:.0f} ms, first alert "
            f"{together[1][0] * 1000:.0f} ms"
            if together[0] and together[1]
            else "",
            f"API errors provoked: {len(fake.provoked_errors)}",
            *sorted({f"  {e.method} {e.status} {e.description}" for e in fake.provoked_errors}),
        ]
        problems = [p for p in log_problems(log_path) if "crisis message" not in p
                    and "raised" not in p and "SIGTERM" not in p]  # fmt: skip
        if problems:
            lines.append("log: " + "; ".join(problems[:5]))
            lines.append(tail(log_path, 5))
        if os.environ.get("BENCH_KEEP_LOG"):  # where to keep the bot's log, to read later
            shutil.copy(log_path, os.environ["BENCH_KEEP_LOG"])
        print("\n".join(lines))


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--crises", type=int, default=20, help="crisis messages per phase")
    parser.add_argument("--others", type=int, default=1000, help="other messages, loaded phase")
    # One alert per volunteer a crisis; Telegram allows about one message a second per chat.
    parser.add_argument("--gap", type=float, default=1.5, help="seconds between crisis messages")
    args = parser.parse_args(argv)
    asyncio.run(main_async(args))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
