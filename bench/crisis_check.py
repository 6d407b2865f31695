"""Grade labelled lines with the real crisis detector and show what fired, for lexicon work.

    python3 dev.py run python -m bench.crisis_check FILE.jsonl [FILE.jsonl ...] [--all]

Each line: {"text": ..., "lang": ..., "label": "crisis" | "concern" | "none", "kind": ...}.
Prints every line graded differently from its label (or every line with --all), with the
patterns that fired, then the totals.
"""

from __future__ import annotations

import argparse
from collections import Counter
from pathlib import Path

from bench.evaluation import load_lines
from bot.config import Settings
from bot.core import build_crisis_detector
from bot.safety.detector import _words_and_clauses


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("files", type=Path, nargs="+")
    parser.add_argument("--all", action="store_true", help="show right answers too")
    args = parser.parse_args()
    detector = build_crisis_detector(Settings())
    totals: Counter[str] = Counter()
    for path in args.files:
        for item in load_lines(path):
            text, label = str(item["text"]), str(item["label"])
            level = detector.assess(text).level.value
            ok = level == label or (label == "concern" and level == "crisis")
            totals["right" if ok else "wrong"] += 1
            totals[f"{label}->{level}"] += 1
            if ok and not args.all:
                continue
            words, _ = _words_and_clauses(text)
            matches = detector._matches(words)
            fired = [f"{p.language}:{p.section.value}:{p.source[:60]}" for p, _ in matches]
            mark = "ok " if ok else "BAD"
            print(f"{mark} {label}->{level} {item.get('lang')} {item.get('kind')}: {text}")
            print(f"      words={words}")
            print(f"      fired={fired}")
    print(dict(sorted(totals.items())))


if __name__ == "__main__":
    main()
