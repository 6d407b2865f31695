"""Cross-validate the crisis model together with the lexicons, to choose its thresholds.

    python3 dev.py run python -m bench.crisis_cv [--folds 5] [--batch b]

The examples of one batch in `resources/crisis/examples/` (files `<lang>-<batch>.jsonl`; use a
batch the lexicons were not developed against) are split into folds. For each fold the model is
trained on every other example and the full detector (lexicon first, then model) grades the
fold; every line is graded once by a model that never saw it. Prints, for a grid of
thresholds, crisis recall, false alarms (crisis on a `none` line), gentle questions on `none`
lines, and the share of `concern` lines that got at least a gentle question; then the lexicon
alone for comparison.
"""

from __future__ import annotations

import argparse
import zlib
from collections import defaultdict

from bot.config import Settings
from bot.core import build_crisis_detector
from bot.safety.model import CrisisModel, Example, read_examples

ALARMS = (0.75, 0.8, 0.85, 0.9)
ASKS = (0.6, 0.7, 0.8)


def fold_of(example: Example, folds: int) -> int:
    return zlib.crc32(example.text.encode()) % folds


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--folds", type=int, default=5)
    parser.add_argument("--batch", default="b", help="the batch to fold (default: b)")
    args = parser.parse_args()
    settings = Settings()
    examples = read_examples(settings.crisis_dir / "examples", settings.languages)
    detector = build_crisis_detector(settings)
    graded: dict[tuple[float, float] | None, list[tuple[str, str]]] = defaultdict(list)

    def held_out(example: Example, fold: int) -> bool:
        in_batch = example.batch == f"{example.lang}-{args.batch}"
        return in_batch and fold_of(example, args.folds) == fold

    for fold in range(args.folds):
        test = [e for e in examples if held_out(e, fold)]
        detector.model = None
        graded[None] += [(e.label, detector.assess(e.text).level.value) for e in test]
        detector.model = CrisisModel.train([e for e in examples if not held_out(e, fold)])
        for alarm in ALARMS:
            for ask in ASKS:
                detector.alarm, detector.ask = alarm, ask
                graded[alarm, ask] += [(e.label, detector.assess(e.text).level.value) for e in test]
    print(f"{len(graded[None])} examples of batch {args.batch} in {args.folds} folds")
    print("alarm  ask   recall  false-alarms  asked-when-fine  concern-flagged")
    for key, pairs in graded.items():
        crisis = [level == "crisis" for label, level in pairs if label == "crisis"]
        alarms = [level == "crisis" for label, level in pairs if label == "none"]
        asked = [level == "concern" for label, level in pairs if label == "none"]
        flagged = [level != "none" for label, level in pairs if label == "concern"]
        name = "lexicon only" if key is None else f"{key[0]:.2f}   {key[1]:.2f}"
        print(
            f"{name:12}  {_rate(crisis)}   {_rate(alarms)}         {_rate(asked)}"
            f"            {_rate(flagged)}"
        )


def _rate(values: list[bool]) -> str:
    return f"{sum(values) / len(values):.3f}" if values else "  -  "


if __name__ == "__main__":
    main()
