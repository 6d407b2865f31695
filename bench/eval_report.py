"""Accuracy on a labelled set: top-3 category hits, language detection, crisis recall, false alarms.

python3 dev.py run python -m bench.eval_report [tests/eval | bench/heldout] [--misses]
"""

from __future__ import annotations

import argparse
from pathlib import Path

from bench.evaluation import (
    load_crisis_lines,
    load_lines,
    score_crisis,
    score_search,
    shipped_searcher,
)
from bot.config import Settings
from bot.core import build_crisis_detector, build_detective


def _row(values: dict[str, float]) -> str:
    return " ".join(f"{key}={value:.2f}" for key, value in values.items())


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("folder", type=Path, nargs="?", default=Path("tests/eval"))
    parser.add_argument("--misses", action="store_true", help="print every miss")
    args = parser.parse_args()
    settings = Settings()
    searcher = shipped_searcher(settings, build_detective(settings))

    questions = load_lines(args.folder / "questions.jsonl")
    search = score_search(searcher, questions)
    if args.misses:
        print("\n".join(f"MISS {line}" for line in search.misses))
    print(f"questions={len(questions)} top3-hit={search.hit_rate:.3f}")
    print(f"  by language: {_row(search.by_language())}")
    styles = {style: sum(v) / len(v) for style, v in sorted(search.styles.items())}
    print(f"  by style: {_row(styles)}")
    print(f"language detection={search.detection_rate:.3f}")

    detector = build_crisis_detector(settings)
    levels = [detector.assess(str(q["text"])).level.value for q in questions]
    print(
        f"questions graded crisis={levels.count('crisis') / len(levels):.3f} "
        f"concern={levels.count('concern') / len(levels):.3f} (resource questions: should be ~0)"
    )
    lines = load_crisis_lines(args.folder)
    if lines:
        crisis = score_crisis(detector, lines)
        if args.misses:
            print("\n".join(f"WRONG {line}" for line in crisis.misses))
        concern = sum(crisis.concern_flagged) / max(len(crisis.concern_flagged), 1)
        print(
            f"crisis lines={len(lines)} crisis recall={crisis.recall:.3f} "
            f"false alarms={crisis.false_alarm_rate:.3f} "
            f"(asked 'are you safe?' on {crisis.asked_when_fine} fine lines) "
            f"concern lines flagged={concern:.3f}"
        )
        print(f"  recall by language: {_row(crisis.recall_by_language())}")
        print(f"  false alarms by language: {_row(crisis.false_alarms_by_language())}")


if __name__ == "__main__":
    main()
