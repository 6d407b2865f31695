"""Search benchmark: shipped catalogue, then +1,000 and +10,000 synthetic resources.

For each size it prints: index build time, in-index latency (p50, p99) and throughput, peak
memory of a process that loaded it, `bot ask --batch` throughput on one core with start-up
subtracted, and the same questions through a naive rapidfuzz peer (WRatio over each
resource's whole text) with both methods' top-3 category hit rate on the labelled questions.

    python3 dev.py run python -m bench.search_bench [--sizes 0 1000 10000]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

QUESTION_FILES = [Path("tests/eval/questions.jsonl"), Path("bench/heldout/questions.jsonl")]
ONE_CORE = ["taskset", "-c", "0"] if shutil.which("taskset") else []


def questions() -> list[dict[str, object]]:
    items = []
    for path in QUESTION_FILES:
        if path.exists():
            items += [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
    return items


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


def measure_in_process(database: str) -> dict[str, float]:
    """Runs in a child process pinned to one core, apart from the benchmark driver."""
    import asyncio

    from rapidfuzz import fuzz, process

    from bot.catalogue.model import Resource
    from bot.config import Settings
    from bot.core import open_tapestry
    from bot.search.ranking import Searcher

    settings = Settings(database_url=database)
    app = asyncio.run(open_tapestry(settings))
    catalogue = app.searcher.index.catalogue
    started = time.perf_counter()
    searcher = Searcher(catalogue, app.detective)
    build_s = time.perf_counter() - started
    items = questions()
    texts = [str(q["text"]) for q in items]
    for text in texts[:50]:
        searcher.search(text)  # warm the detector
    searcher.index.vocabulary.lookup.cache_clear()
    latencies = []
    hits = 0
    for item in items:
        started = time.perf_counter()
        result = searcher.search(str(item["text"]))
        latencies.append(time.perf_counter() - started)
        top = {c for m in result.matches[:3] for c in m.resource.categories}
        hits += bool(top & set(item["expect"]))  # type: ignore[call-overload]

    # The naive peer: WRatio of the question against each resource's whole text.
    def whole_text(r: Resource) -> str:
        keywords = [word for words in r.keywords.values() for word in words]
        return " ".join([*r.name.values(), *r.summary.values(), *keywords, *r.categories])

    whole = [whole_text(r) for r in catalogue.resources]
    naive_latencies = []
    naive_hits = 0
    sample = items if len(catalogue.resources) < 2000 else items[:100]
    for item in sample:
        started = time.perf_counter()
        best = process.extract(str(item["text"]), whole, scorer=fuzz.WRatio, limit=3)
        naive_latencies.append(time.perf_counter() - started)
        top = {c for _, _, i in best for c in catalogue.resources[i].categories}
        naive_hits += bool(top & set(item["expect"]))  # type: ignore[call-overload]
    asyncio.run(app.close())
    return {
        "resources": len(catalogue.resources),
        "build_s": build_s,
        "p50_ms": percentile(latencies, 0.5) * 1000,
        "p99_ms": percentile(latencies, 0.99) * 1000,
        "qps_in_index": len(latencies) / sum(latencies),
        "hit3": hits / len(items),
        "naive_p50_ms": percentile(naive_latencies, 0.5) * 1000,
        "naive_p99_ms": percentile(naive_latencies, 0.99) * 1000,
        "naive_hit3": naive_hits / len(sample),
        "questions": len(items),
    }


def batch_throughput(database: str, workdir: Path, repeat: int) -> tuple[float, float, float]:
    """Queries/s through `bot ask --batch` on one core, start-up (a 1-line batch) subtracted,
    and the peak memory (MB) of that process."""
    lines = [json.dumps({"text": q["text"]}, ensure_ascii=False) for q in questions()] * repeat
    big, small = workdir / "big.jsonl", workdir / "small.jsonl"
    big.write_text("\n".join(lines) + "\n")
    small.write_text(lines[0] + "\n")

    peak_mb = 0.0

    def run(path: Path) -> float:
        nonlocal peak_mb
        started = time.perf_counter()
        process = subprocess.Popen(
            [*ONE_CORE, sys.executable, "-m", "bot", "ask", "--batch", str(path), "--json",
             "--database", database],
            stdout=subprocess.DEVNULL,
        )  # fmt: skip
        _, status, usage = os.wait4(process.pid, 0)
        process.returncode = os.waitstatus_to_exitcode(status)
        if process.returncode:
            raise SystemExit(f"bot ask --batch failed with {process.returncode}")
        peak_mb = max(peak_mb, usage.ru_maxrss / 1024)
        return time.perf_counter() - started

    startup = min(run(small) for _ in range(2))
    total = run(big)
    return len(lines) / max(total - startup, 1e-9), startup, peak_mb


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sizes", type=int, nargs="+", default=[0, 1000, 10000])
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(measure_in_process(args.child)))
        return

    from bench.synthetic import write_synthetic

    with tempfile.TemporaryDirectory() as tmp:
        workdir = Path(tmp)
        print(
            f"questions: {len(questions())} (labelled, ten languages); one core: {bool(ONE_CORE)}"
        )
        for size in args.sizes:
            database = f"sqlite:///{workdir / f'bench-{size}.sqlite3'}"
            paths = ["resources"]
            if size:
                paths.append(str(write_synthetic(workdir, size)))
            command = [sys.executable, "-m", "bot", "catalogue", "import", *paths]
            subprocess.run(
                [*command, "--database", database], check=True, stdout=subprocess.DEVNULL
            )
            child = subprocess.run(
                [*ONE_CORE, sys.executable, "-m", "bench.search_bench", "--child", database],
                check=True, capture_output=True, text=True, env={**os.environ},
            )  # fmt: skip
            m = json.loads(child.stdout.strip().splitlines()[-1])
            qps, startup, batch_mb = batch_throughput(database, workdir, repeat=2)
            print(
                f"resources={m['resources']} build={m['build_s']:.2f}s "
                f"p50={m['p50_ms']:.2f}ms p99={m['p99_ms']:.2f}ms "
                f"in-index={m['qps_in_index']:.0f}q/s "
                f"batch={qps:.0f}q/s (startup {startup:.1f}s, peak {batch_mb:.0f}MB) "
                f"top3-hit={m['hit3']:.3f} | naive WRatio p50={m['naive_p50_ms']:.2f}ms "
                f"p99={m['naive_p99_ms']:.2f}ms top3-hit={m['naive_hit3']:.3f}"
            )


if __name__ == "__main__":
    main()
