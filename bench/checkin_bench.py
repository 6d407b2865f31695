"""Check-in benchmark: a broadcast of nudges, with crisis messages arriving in the middle of it.

`--residents` (10,000) residents have opted in and are all due in the same minute. The real
bot (`python -m bot run`, at its deployed outgoing cap) sends their nudges through the fake
Telegram Bot API, which enforces Telegram's limits (30 messages/s overall, about 1/s a chat)
and answers anything beyond them with 429 and `retry_after`. While the broadcast runs, other
residents write crisis messages, one every `--gap` seconds; each must get its safety reply
at once, ahead of the queued nudges.

Counted at the fake, from the messages it accepted:
- sent: nudges delivered (a sendMessage carrying the mood buttons, accepted by the fake);
- duplicates: nudges beyond the first to the same resident;
- lost: residents due who got none;
- rate: nudges delivered per second, from the first to the last;
- 429s: Too Many Requests answers the bot provoked (any method);
- crisis_p99_s: 99th percentile of the time from a crisis message's push to its safety reply.

Targets: 0 duplicates, 0 lost, rate >= 27/s, 429s < 1% of sends, crisis_p99_s < 1.

The residents' zone is one where it is daytime now (quiet hours would rightly hold every
nudge back at night), so the benchmark can run at any hour; the line above the last says
which.

    python3 dev.py run python -m bench.checkin_bench [--residents 10000] [--gap 2]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import datetime as dt
import math
import os
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from sqlalchemy import insert

from bench.bot_bench import ROOT, log_problems, progress, tail
from bench.crisis_bench import CRISES, percentile
from bot.config import DEFAULT_LANGUAGES
from bot.db import migrate
from bot.db.engine import make_engine
from bot.db.tables import CheckIn
from tests.e2e.checkin_rows import daytime_zone, due_check_in
from tests.e2e.fake_api import FakeTelegram

FIRST_RESIDENT = 50_000_001
FIRST_IN_CRISIS = 60_000_001
STALL = 60.0  # seconds without a nudge delivered: the broadcast is over (or stuck)
DUE_IN = 20.0  # seconds from now to the minute everyone is due: the bot starts meanwhile


class BroadcastFake(FakeTelegram):
    """Counts the nudges each resident receives, and when crisis messages are answered."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.nudges: Counter[int] = Counter()
        self.nudge_times: list[float] = []
        self.pushed: dict[int, float] = {}  # resident in crisis -> when they wrote
        self.replied: dict[int, float] = {}

    async def _send_message(self, params: dict[str, Any]) -> Any:
        result = await super()._send_message(params)  # raises if refused: then not counted
        now = time.perf_counter()
        chat = int(params.get("chat_id", 0))
        if '"n:' in str(params.get("reply_markup", "")):  # the mood buttons: a nudge
            self.nudges[chat] += 1
            self.nudge_times.append(now)
        elif chat in self.pushed and chat not in self.replied:
            self.replied[chat] = now
        return result


async def prepare_database(url: str, residents: int, zone: str, due: dt.datetime) -> None:
    """A migrated database where every resident has opted in and is due at `due`."""
    engine = make_engine(url)
    await migrate.upgrade(engine)
    rows = [
        due_check_in(FIRST_RESIDENT + i, due=due, zone=zone,
                     language=DEFAULT_LANGUAGES[i % len(DEFAULT_LANGUAGES)])
        for i in range(residents)
    ]  # fmt: skip
    async with engine.begin() as connection:
        for start in range(0, len(rows), 1000):
            await connection.execute(insert(CheckIn), rows[start : start + 1000])
    await engine.dispose()


async def push_crises(fake: BroadcastFake, gap: float, until: asyncio.Event) -> None:
    """A crisis message every `gap` seconds from a new resident, in the ten languages."""
    languages = list(CRISES)
    i = 0
    while not until.is_set():
        language = languages[i % len(languages)]
        resident = fake.user(FIRST_IN_CRISIS + i, language_code=language)
        fake.pushed[resident.id] = time.perf_counter()
        resident.send(CRISES[language])
        i += 1
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(until.wait(), timeout=gap)


async def main_async(args: argparse.Namespace) -> str:
    zone = daytime_zone()
    with tempfile.TemporaryDirectory(prefix="bench-checkin-") as tmp:
        url = f"sqlite+aiosqlite:///{tmp}/bench.sqlite3"
        due = dt.datetime.now(dt.UTC).replace(microsecond=0) + dt.timedelta(seconds=DUE_IN)
        progress(f"preparing {args.residents} residents due at {due:%H:%M:%S} UTC ({zone})")
        await prepare_database(url, args.residents, zone, due)
        log_path = Path(tmp) / "bot.log"
        async with BroadcastFake() as fake:  # Telegram's limits: 30/s overall, ~1/s a chat
            everyone = range(FIRST_RESIDENT, FIRST_RESIDENT + args.residents)
            for resident in everyone:
                fake.user(resident, language_code=None)
            env = {
                **os.environ, "BOT_TOKEN": fake.token, "TELEGRAM_API_URL": fake.url,
                "DATABASE_URL": url, "REDIS_URL": "", "WEBHOOK_URL": "", "PYTHONUNBUFFERED": "1",
            }  # fmt: skip
            with log_path.open("wb") as log:
                process = await asyncio.create_subprocess_exec(
                    sys.executable, "-m", "bot", "run", cwd=ROOT, env=env, stdout=log, stderr=log
                )
            stop_crises = asyncio.Event()
            try:
                progress("starting bot run")
                await fake.wait_for(lambda: bool(fake.nudge_times), timeout=300)
                progress(f"broadcast started; a crisis message every {args.gap} s meanwhile")
                crises = asyncio.create_task(push_crises(fake, args.gap, stop_crises))
                expected = len(everyone)
                last_seen, stalled_since = -1, time.perf_counter()
                while sum(fake.nudges.values()) < expected:  # until all are in, or it stalls
                    await asyncio.sleep(1)
                    delivered = sum(fake.nudges.values())
                    if delivered // 1000 != last_seen // 1000:
                        progress(f"  {delivered} nudges delivered")
                    if delivered != last_seen:
                        last_seen, stalled_since = delivered, time.perf_counter()
                    elif time.perf_counter() - stalled_since > STALL:
                        break
                stop_crises.set()
                await crises
                await asyncio.sleep(args.settle)  # anything sent twice would arrive now
                await fake.wait_for(lambda: all(r in fake.replied for r in fake.pushed), timeout=10)
            finally:
                stop_crises.set()
                process.terminate()
                await process.wait()

        sent = sum(fake.nudges.values())
        duplicates = sum(count - 1 for count in fake.nudges.values() if count > 1)
        lost = sum(1 for resident in everyone if fake.nudges[resident] == 0)
        span = max(fake.nudge_times) - min(fake.nudge_times) if len(fake.nudge_times) > 1 else 0
        rate = (sent - 1) / span if span else math.nan
        too_many = [e for e in fake.provoked_errors if e.status == 429]
        sends = fake.calls["sendMessage"]
        latencies = [fake.replied[r] - fake.pushed[r] for r in fake.pushed if r in fake.replied]
        crisis_p99 = percentile(latencies, 99)
        lines = [
            f"Check-in benchmark: {args.residents} residents due at once; the fake enforces "
            "Telegram's limits",
            f"  nudges: {sent} delivered in {span:.1f} s; sendMessage calls {sends}, 429 "
            f"answers {len(too_many)} ({100 * len(too_many) / max(sends, 1):.2f}% of sends)",
            f"  crisis messages during the broadcast: {len(fake.pushed)}, answered "
            f"{len(latencies)}; safety reply p50 {percentile(latencies, 50) * 1000:.0f} ms, "
            f"p99 {crisis_p99 * 1000:.0f} ms, max {max(latencies, default=math.nan) * 1000:.0f} ms",
            f"  other API errors provoked: {len(fake.provoked_errors) - len(too_many)}",
        ]
        # Expected here: the crisis cases raised, and re-alerted as no volunteer is configured.
        expected_here = ("crisis message", "raised", "still unclaimed", "SIGTERM")
        problems = [p for p in log_problems(log_path) if not any(e in p for e in expected_here)]
        if problems:
            lines += ["  log: " + "; ".join(problems[:5]), tail(log_path, 5)]
        lines.append(f"  residents' zone: {zone}")
        lines.append(
            f"sent={sent} duplicates={duplicates} lost={lost} rate={rate:.1f}/s "
            f"429s={len(too_many)} crisis_p99_s={crisis_p99:.3f}"
        )
        return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0] if __doc__ else None)
    parser.add_argument("--residents", type=int, default=10_000, help="residents due at once")
    parser.add_argument("--gap", type=float, default=2.0, help="seconds between crisis messages")
    parser.add_argument(
        "--settle", type=float, default=15.0, help="seconds to watch for duplicates at the end"
    )
    args = parser.parse_args(argv)
    if args.residents < 1 or args.gap <= 0:
        parser.error("--residents and --gap must be positive")
    print(asyncio.run(main_async(args)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
