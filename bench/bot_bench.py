"""Bot benchmark: the real bot (`python -m bot run`) against the fake Telegram Bot API.

Simulated residents in the ten languages ask ordinary questions (no crisis texts). Tapestry and
a bare aiogram echo bot (bench/echo_bot.py) run side by side, each a subprocess polling its own
fake (tests/e2e/fake_api.py, unlimited flood limits), in two phases:

- throughput: every resident's question pushed at once; updates/s until each has its reply.
  `--rounds` rounds, the two bots taking turns, each round with residents new to the bot (their
  first message, as after a launch). The machine's speed drifts over a minute by as much as
  the difference being measured, so the ratio is taken round by round, between neighbours in
  time, and the median round is reported;
- latency: updates pushed at a steady `--rate` for `--seconds`; for each, the time from the
  push to the bot's sendMessage arriving at the fake; p50, p95, p99.

Also each bot's peak memory (VmHWM), the API errors it provoked and what it logged.

Both bots keep an overall outgoing cap. By default it is the bot's as deployed (Settings'
outgoing_per_second, under Telegram's ~30 messages/s; `--telegram-limits`): it then bounds
throughput, and 100 updates/s is more than it can answer. `--no-telegram-limits` raises the
cap (OUTGOING_PER_SECOND) to measure the code itself.

    python3 dev.py run python -m bench.bot_bench [--residents 1000] [--rounds 3] [--rate 100]
                                                 [--seconds 15] [--no-telegram-limits]
"""

from __future__ import annotations

import argparse
import asyncio
import math
import os
import shutil
import signal
import sys
import tempfile
import time
from collections import defaultdict, deque
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from bot.config import Settings
from tests.e2e.fake_api import FakeTelegram, Limits, Resident

ROOT = Path(__file__).resolve().parent.parent
# Messages a second overall as deployed: the bot's default, kept under Telegram's limit.
DEPLOYED_CAP = float(Settings.model_fields["outgoing_per_second"].default)
UNCAPPED = 100_000.0  # --no-telegram-limits: far beyond what either bot can send
STARTUP_TIMEOUT = 300.0  # a first start migrates and seeds a new database
STOP_TIMEOUT = 5.0  # after SIGTERM, then SIGKILL
TARGET_RATIO = 0.5  # Tapestry's throughput at least half the echo bot's
TARGET_P95 = 0.250  # seconds, at 100 updates/s

# A few everyday questions per language (Telegram language_code); none reads as a crisis or a
# concern to the bot (`bot ask --json`), so each takes the search path and gets one reply.
QUESTIONS: dict[str, tuple[str, ...]] = {
    "en": (
        "I need a food bank",
        "Where can I get free legal advice?",
        "I can't pay my rent this month",
        "Can someone help me write a CV?",
    ),
    "pl": (
        "Potrzebuję pomocy z mieszkaniem",
        "Gdzie jest bank żywności?",
        "Szukam pracy, kto pomoże mi napisać CV?",
        "Potrzebuję darmowej porady prawnej",
    ),
    "ro": (
        "Am nevoie de ajutor cu chiria",
        "Unde găsesc o bancă de alimente?",
        "Caut un loc de muncă",
        "Am nevoie de un avocat gratuit",
    ),
    "pa": (
        "ਮੈਨੂੰ ਡਾਕਟਰ ਦੀ ਲੋੜ ਹੈ",
        "ਫੂਡ ਬੈਂਕ ਕਿੱਥੇ ਹੈ?",
        "ਨੌਕਰੀ ਲੱਭਣ ਵਿੱਚ ਮਦਦ ਚਾਹੀਦੀ ਹੈ",
        "ਮੁਫ਼ਤ ਵਕੀਲ ਚਾਹੀਦਾ ਹੈ",
    ),
    "ur": (
        "مجھے ڈاکٹر کی ضرورت ہے",
        "فوڈ بینک کہاں ہے؟",
        "مجھے نوکری چاہیے",
        "قانونی مشورہ کہاں سے ملے گا؟",
    ),
    "pt": (
        "Preciso de um banco alimentar",
        "Onde posso aprender inglês de graça?",
        "Ajuda para pagar a renda da casa",
        "Preciso de um advogado gratuito",
    ),
    "es": (
        "Necesito un banco de comida",
        "¿Dónde puedo aprender inglés gratis?",
        "No puedo pagar el alquiler",
        "Busco trabajo, ¿quién me ayuda con el CV?",
    ),
    "ar": (
        "أحتاج إلى طبيب",
        "أين أجد بنك طعام؟",
        "أبحث عن عمل",
        "أحتاج إلى محامي مجاني",
    ),
    "bn": (
        "ডাক্তার কোথায় পাব?",
        "ফুড ব্যাংক কোথায়?",
        "কাজ খোঁজার জন্য সাহায্য চাই",
        "বাড়ি ভাড়া দিতে সাহায্য দরকার",
    ),
    "uk": (
        "Мені потрібен лікар",
        "Де знайти банк їжі?",
        "Шукаю роботу",
        "Потрібна допомога з житлом",
    ),
}
LANGUAGES = tuple(QUESTIONS)


class TimedFake(FakeTelegram):
    """The fake Bot API, pairing each sendMessage with the oldest unanswered push to its chat."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.unanswered: dict[int, deque[float]] = defaultdict(deque)
        self.latencies: list[float] = []
        self.replied_at: list[float] = []
        self.extra = 0  # sendMessage with nothing unanswered in its chat
        self.last_reply_at = 0.0
        self.wanted = 0
        self.reached = asyncio.Event()

    def expect(self, count: int) -> None:
        """Start counting afresh: `reached` is set once `count` pushes have their replies."""
        self.unanswered.clear()
        self.latencies = []
        self.replied_at = []
        self.extra = 0
        self.wanted = count
        self.reached = asyncio.Event()

    def ask(self, resident: Resident, text: str) -> None:
        self.unanswered[resident.id].append(time.perf_counter())
        resident.send(text)

    async def _send_message(self, params: dict[str, Any]) -> Any:
        arrived = time.perf_counter()
        try:
            chat = int(params.get("chat_id", 0))
        except (TypeError, ValueError):
            chat = 0
        waiting = self.unanswered.get(chat)
        if waiting:
            self.latencies.append(arrived - waiting.popleft())
            self.replied_at.append(arrived)
            self.last_reply_at = arrived
            if len(self.latencies) >= self.wanted:
                self.reached.set()
        else:
            self.extra += 1
        return await super()._send_message(params)


@dataclass
class Round:
    """One throughput round: `updates` pushed at once, `answered` of them by the deadline."""

    updates: int
    answered: int
    seconds: float  # from the first push to the last reply
    cpu: float  # the bot's CPU seconds in the round (all its threads)
    driver_cpu: float  # this process's: the fake and the residents

    @property
    def rate(self) -> float:
        return self.updates / self.seconds if self.answered == self.updates else math.nan


@dataclass
class Figures:
    """What one bot did in both phases."""

    name: str
    startup: float = math.nan
    rounds: list[Round] = field(default_factory=list)
    latencies: list[float] = field(default_factory=list)  # seconds, of the answered updates
    late: list[float] = field(default_factory=list)  # unanswered: how long they had waited
    reply_rate: float = math.nan  # replies a second while updates came in
    latency_pushed: int = 0
    peak_rss_kib: int | None = None
    api_errors: list[str] = field(default_factory=list)
    extra_messages: int = 0
    log_problems: list[str] = field(default_factory=list)
    stopped: str = ""

    @property
    def throughput(self) -> float:
        """Updates/s of the median round (nan if any round left updates unanswered)."""
        return median([r.rate for r in self.rounds])

    def percentile(self, p: float) -> tuple[float, bool]:
        """Nearest rank, and whether it is exact: with unanswered updates (counted as late as
        they had waited) it may be only a lower bound."""
        ordered = sorted([(t, True) for t in self.latencies] + [(t, False) for t in self.late])
        if not ordered:
            return math.nan, True
        rank = max(1, math.ceil(p / 100 * len(ordered)))
        return ordered[rank - 1][0], all(exact for _, exact in ordered[:rank])

    def slowest(self) -> tuple[float, bool]:
        return self.percentile(100)


def median(values: Sequence[float]) -> float:
    """The middle value (the lower of the two middle ones); nan if any value is nan."""
    if not values or any(math.isnan(v) for v in values):
        return math.nan
    return sorted(values)[(len(values) - 1) // 2]


def residents(fake: FakeTelegram, count: int, first: int = 0) -> list[Resident]:
    """`count` residents, numbered from `first`, in the ten languages in turn."""
    return [
        fake.user(
            20_000_001 + i, language_code=LANGUAGES[i % len(LANGUAGES)], first_name=f"R{i + 1}"
        )
        for i in range(first, first + count)
    ]


def question(resident: Resident, turn: int) -> str:
    choices = QUESTIONS[resident.language_code or "en"]
    return choices[(resident.id + turn) % len(choices)]


def cpu_seconds(pid: int) -> float:
    """User plus system CPU time of a process so far (all its threads)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return math.nan
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def peak_rss_kib(pid: int) -> int | None:
    """VmHWM: the process's resident set high-water mark."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    except OSError:
        pass
    return None


def open_log(path: Path) -> IO[bytes]:
    return path.open("wb")


def log_problems(path: Path) -> list[str]:
    """Warnings, errors and tracebacks the bot logged, one line each (the most frequent first)."""
    counts: dict[str, int] = defaultdict(int)
    for line in path.read_text(errors="replace").splitlines():
        if line.startswith(("WARNING", "ERROR", "CRITICAL", "Traceback")):
            counts[line[:160]] += 1
    return [f"{n} x {line}" for line, n in sorted(counts.items(), key=lambda kv: -kv[1])]


def tail(path: Path, lines: int = 20) -> str:
    return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])


async def wait_for_replies(fake: TimedFake, timeout: float) -> bool:  # noqa: ASYNC109
    try:
        await asyncio.wait_for(fake.reached.wait(), timeout)
    except TimeoutError:
        return False
    return True


def progress(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


@dataclass
class Subject:
    """A bot under measurement: its process, its own fake and what was measured."""

    figures: Figures
    fake: TimedFake
    process: asyncio.subprocess.Process
    people: list[Resident] = field(default_factory=list)  # everyone who has written so far


@asynccontextmanager
async def running(
    name: str, command: Sequence[str], cap: float, args: argparse.Namespace
) -> AsyncIterator[Subject]:
    """Start the bot against its own fake; on leaving, stop it and read what it logged."""
    figures = Figures(name)
    loop = asyncio.get_running_loop()
    with tempfile.TemporaryDirectory(prefix=f"bench-{name}-") as tmp:
        log_path = Path(tmp) / "bot.log"
        async with TimedFake(limits=Limits.unlimited()) as fake:
            env = {
                **os.environ,
                "BOT_TOKEN": fake.token,
                "TELEGRAM_API_URL": fake.url,
                "DATABASE_URL": f"sqlite+aiosqlite:///{tmp}/bench.sqlite3",
                "OUTGOING_PER_SECOND": str(cap),
                "REDIS_URL": "",
                "WEBHOOK_URL": "",
                "PYTHONUNBUFFERED": "1",
            }
            log = open_log(log_path)
            started = time.perf_counter()
            progress(f"{name}: starting ({' '.join(command[1:])})")
            process = await asyncio.create_subprocess_exec(
                *command, cwd=ROOT, env=env, stdout=log, stderr=log
            )
            log.close()
            try:
                await fake.wait_for(
                    lambda: fake.calls["getUpdates"] > 0 or process.returncode is not None,
                    timeout=STARTUP_TIMEOUT,
                )
                if process.returncode is not None:
                    raise RuntimeError(
                        f"{name} exited with {process.returncode}:\n{tail(log_path)}"
                    )
                figures.startup = time.perf_counter() - started
                subject = Subject(figures, fake, process)
                yield subject
                figures.extra_messages = fake.extra
                figures.api_errors = [
                    f"{e.method} {e.status} {e.description}" for e in fake.provoked_errors
                ]
                figures.peak_rss_kib = peak_rss_kib(process.pid)
            finally:
                figures.stopped = await stop(process, loop)
        figures.log_problems = log_problems(log_path)
        if args.logs is not None:
            args.logs.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(log_path, args.logs / f"{name}.log")


async def throughput_round(subject: Subject, count: int, cap: float) -> None:
    """`count` residents new to the bot, each question pushed at once."""
    fake, figures = subject.fake, subject.figures
    number = len(figures.rounds) + 1
    progress(f"{figures.name}: throughput round {number}, {count} updates at once")
    people = residents(fake, count, first=len(subject.people))
    subject.people += people
    fake.expect(count)
    cpu, driver_cpu = cpu_seconds(subject.process.pid), time.process_time()
    started = time.perf_counter()
    for resident in people:
        fake.ask(resident, question(resident, 0))
    timeout = 60 + 2 * count / min(cap, 100.0)
    await wait_for_replies(fake, timeout)
    figures.rounds.append(
        Round(
            updates=count,
            answered=len(fake.latencies),
            seconds=fake.last_reply_at - started,
            cpu=cpu_seconds(subject.process.pid) - cpu,
            driver_cpu=time.process_time() - driver_cpu,
        )
    )


async def latency_phase(subject: Subject, args: argparse.Namespace) -> None:
    """The residents of the first round ask again, at a steady rate."""
    fake, figures = subject.fake, subject.figures
    people = subject.people[: args.residents]
    total = round(args.rate * args.seconds)
    progress(f"{figures.name}: latency, {args.rate:g} updates/s for {args.seconds:g} s")
    fake.expect(total)
    started = time.perf_counter()
    for k in range(total):
        delay = started + k / args.rate - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        resident = people[k % len(people)]
        fake.ask(resident, question(resident, 1 + k // len(people)))
    last_push = time.perf_counter()
    await wait_for_replies(fake, args.drain)
    ended = time.perf_counter()
    figures.latency_pushed = total
    figures.latencies = list(fake.latencies)
    figures.late = [ended - pushed for waiting in fake.unanswered.values() for pushed in waiting]
    pushing = last_push - started
    figures.reply_rate = sum(started <= t <= last_push for t in fake.replied_at) / pushing


async def stop(process: asyncio.subprocess.Process, loop: asyncio.AbstractEventLoop) -> str:
    if process.returncode is not None:
        return f"had exited ({process.returncode})"
    process.send_signal(signal.SIGTERM)
    sent = loop.time()
    try:
        code = await asyncio.wait_for(process.wait(), STOP_TIMEOUT)
    except TimeoutError:
        process.kill()
        await process.wait()
        return f"SIGTERM; killed after {STOP_TIMEOUT:g} s"
    return f"SIGTERM; exit {code} in {loop.time() - sent:.1f} s"


# ---------------------------------------------------------------- report


def rate(value: float) -> str:
    return "incomplete" if math.isnan(value) else f"{value:,.1f}"


def millis(value: tuple[float, bool]) -> str:
    """A latency in ms; a lower bound (some updates were never answered) is marked >=."""
    seconds, exact = value
    if math.isnan(seconds):
        return "-"
    return f"{'' if exact else '>= '}{seconds * 1000:,.0f}"


def report(tapestry: Figures, echo: Figures, cap: float, args: argparse.Namespace) -> None:
    mode = (
        f"outgoing cap {cap:g}/s as deployed (--telegram-limits)"
        if args.telegram_limits
        else f"outgoing cap raised to {cap:g}/s: the code itself (--no-telegram-limits)"
    )
    ratios = [
        ours.rate / theirs.rate for ours, theirs in zip(tapestry.rounds, echo.rounds, strict=True)
    ]
    ratio = median(ratios)
    ratio_text = "-" if math.isnan(ratio) else f"{ratio:.0%} of echo"
    ok_ratio = not math.isnan(ratio) and ratio >= TARGET_RATIO
    p95 = tapestry.percentile(95)
    ok_p95 = p95[1] and p95[0] < TARGET_P95
    rows: list[tuple[str, str, str, str]] = [
        ("start-up until polling (s)", f"{tapestry.startup:.1f}", f"{echo.startup:.1f}", ""),
        (
            f"throughput: {args.residents} at once, {len(tapestry.rounds)} rounds",
            answered(tapestry),
            answered(echo),
            "each round residents new to the bot; the bots take turns",
        ),
        ("  updates/s, round by round", per_round(tapestry), per_round(echo), ""),
        (
            "  updates/s, median round",
            rate(tapestry.throughput),
            rate(echo.throughput),
            f"{ratio_text}  (target >= {TARGET_RATIO:.0%}: {'met' if ok_ratio else 'NOT met'})",
        ),
        ("  ratio, round by round", "", " ".join(f"{r:.0%}" for r in ratios), "median above"),
        (
            "  bot CPU per update (ms)",
            cpu_per_round(tapestry),
            cpu_per_round(echo),
            "round by round; all the bot's threads",
        ),
        (
            "  CPU busy: bot / fake (%)",
            busy(tapestry),
            busy(echo),
            "fake = this process: fake API and residents",
        ),
        (
            f"latency at {args.rate:g}/s for {args.seconds:g} s",
            f"{len(tapestry.latencies)}/{tapestry.latency_pushed} answered",
            f"{len(echo.latencies)}/{echo.latency_pushed} answered",
            f"(waited {args.drain:g} s after the last push)",
        ),
        (
            "  replies/s while pushing",
            rate(tapestry.reply_rate),
            rate(echo.reply_rate),
            "",
        ),
        ("  p50 (ms)", millis(tapestry.percentile(50)), millis(echo.percentile(50)), ""),
        (
            "  p95 (ms)",
            millis(p95),
            millis(echo.percentile(95)),
            f"target < {TARGET_P95 * 1000:.0f} ms: {'met' if ok_p95 else 'NOT met'}",
        ),
        ("  p99 (ms)", millis(tapestry.percentile(99)), millis(echo.percentile(99)), ""),
        (
            "  max (ms)",
            millis(tapestry.slowest()),
            millis(echo.slowest()),
            "",
        ),
        (
            "peak RSS, VmHWM (MiB)",
            f"{(tapestry.peak_rss_kib or 0) / 1024:.0f}",
            f"{(echo.peak_rss_kib or 0) / 1024:.0f}",
            "",
        ),
        ("API errors provoked", str(len(tapestry.api_errors)), str(len(echo.api_errors)), ""),
        ("unpaired sendMessage", str(tapestry.extra_messages), str(echo.extra_messages), ""),
        ("log warnings/errors", str(sum_counts(tapestry)), str(sum_counts(echo)), ""),
        ("stopped", tapestry.stopped, echo.stopped, ""),
    ]
    widths = [max(len(row[i]) for row in rows) for i in range(3)]
    widths = [max(w, len(h)) for w, h in zip(widths, ("", "Tapestry", "echo"), strict=True)]
    print()
    print(f"Bot benchmark: {args.residents} residents in {len(LANGUAGES)} languages; {mode}")
    print(f"{'':<{widths[0]}}  {'Tapestry':>{widths[1]}}  {'echo':>{widths[2]}}")
    for label, ours, theirs, note in rows:
        print(f"{label:<{widths[0]}}  {ours:>{widths[1]}}  {theirs:>{widths[2]}}  {note}".rstrip())
    if args.telegram_limits and args.rate > DEPLOYED_CAP:
        print(
            f"note: {args.rate:g} updates/s is more than the {DEPLOYED_CAP:g} messages/s either "
            "bot may send, so replies queue and latency grows through the run; "
            "--no-telegram-limits measures the code itself."
        )
    for figures in (tapestry, echo):
        for problem in figures.api_errors[:5]:
            print(f"{figures.name} API error: {problem}")
        for problem in figures.log_problems[:5]:
            print(f"{figures.name} log: {problem}")


def busy(figures: Figures) -> str:
    seconds = sum(r.seconds for r in figures.rounds)
    bot = sum(r.cpu for r in figures.rounds) / seconds
    fake = sum(r.driver_cpu for r in figures.rounds) / seconds
    return f"{bot:.0%} / {fake:.0%}"


def answered(figures: Figures) -> str:
    done, pushed = (sum(r.answered for r in figures.rounds), sum(r.updates for r in figures.rounds))
    return f"{done}/{pushed} answered"


def cpu_per_round(figures: Figures) -> str:
    return " ".join(f"{r.cpu / r.updates * 1000:.2f}" for r in figures.rounds)


def per_round(figures: Figures) -> str:
    return " ".join(rate(r.rate) for r in figures.rounds)


def sum_counts(figures: Figures) -> int:
    return sum(int(line.split(" x ", 1)[0]) for line in figures.log_problems)


async def main_async(args: argparse.Namespace) -> None:
    cap = DEPLOYED_CAP if args.telegram_limits else UNCAPPED
    async with (
        running("tapestry", [sys.executable, "-m", "bot", "run"], cap, args) as tapestry,
        running("echo", [sys.executable, "-m", "bench.echo_bot"], cap, args) as echo,
    ):
        for _ in range(args.rounds):
            for subject in (tapestry, echo):
                await throughput_round(subject, args.residents, cap)
        for subject in (tapestry, echo):
            await latency_phase(subject, args)
    report(tapestry.figures, echo.figures, cap, args)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument(
        "--residents", type=int, default=1000, help="simulated residents a throughput round"
    )
    parser.add_argument("--rounds", type=int, default=3, help="throughput rounds for each bot")
    parser.add_argument("--rate", type=float, default=100.0, help="updates/s, latency phase")
    parser.add_argument("--seconds", type=float, default=15.0, help="length of latency phase")
    parser.add_argument(
        "--drain", type=float, default=3.0, help="seconds to wait for replies after the last push"
    )
    parser.add_argument("--logs", type=Path, metavar="DIR", help="keep the bots' logs here")
    parser.add_argument(
        "--telegram-limits",
        action=argparse.BooleanOptionalAction,
        default=True,
        help=f"keep the bots' outgoing cap as deployed, {DEPLOYED_CAP:g}/s (default: yes)",
    )
    args = parser.parse_args(argv)
    if args.residents < 1 or args.rounds < 1 or args.rate <= 0 or args.seconds <= 0:
        parser.error("--residents, --rounds, --rate and --seconds must be positive")
    asyncio.run(main_async(args))
    return 0


if __name__ == "__main__":
    sys.exit(main())
