"""Accuracy on labelled sets: top-3 category hits, language detection, crisis recall, false alarms.

python3 dev.py run python -m bench.eval_report [tests/eval | bench/heldout] [--misses]
"""

from __future__ import annotations

import argparse
import json
from collections import Counter, defaultdict
from pathlib import Path

from bot.catalogue.files import read_catalogue_files
from bot.catalogue.model import Catalogue
from bot.config import Settings
from bot.core import build_crisis_detector, build_detective
from bot.search.ranking import Searcher


def load(path: Path) -> list[dict[str, object]]:
    return [
        json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()
    ]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("folder", type=Path, nargs="?", default=Path("tests/eval"))
    parser.add_argument("--misses", action="store_true", help="print every miss")
    args = parser.parse_args()
    settings = Settings()
    files = read_catalogue_files([settings.resources_dir], languages=settings.languages)
    catalogue = Catalogue(
        tuple(files.categories or ()), tuple(files.resources), tuple(files.areas or ())
    )
    searcher = Searcher(catalogue, build_detective(settings))

    questions = load(args.folder / "questions.jsonl")
    hits: dict[str, list[bool]] = defaultdict(list)
    by_style: dict[str, list[bool]] = defaultdict(list)
    language_ok: dict[str, list[bool]] = defaultdict(list)
    for q in questions:
        result = searcher.search(str(q["text"]))  # no language hint: detection must work
        top = {c for m in result.matches[:3] for c in m.resource.categories}
        hit = bool(top & set(q["expect"]))  # type: ignore[arg-type]
        hits[str(q["lang"])].append(hit)
        by_style[str(q.get("style"))].append(hit)
        language_ok[str(q["lang"])].append(result.language == q["lang"])
        if args.misses and not hit:
            print(
                f"MISS {q['lang']} {q['expect']} {q['text']!r} -> {[m.resource.slug for m in result.matches[:3]]} {result.categories[:3]}"
            )
    total = [h for values in hits.values() for h in values]
    print(f"questions={len(total)} top3-hit={sum(total) / len(total):.3f}")
    print(
        "  by language: " + " ".join(f"{k}={sum(v) / len(v):.2f}" for k, v in sorted(hits.items()))
    )
    print(
        "  by style: " + " ".join(f"{k}={sum(v) / len(v):.2f}" for k, v in sorted(by_style.items()))
    )
    detected = [ok for values in language_ok.values() for ok in values]
    print(
        f"language detection={sum(detected) / len(detected):.3f} "
        + " ".join(f"{k}={sum(v) / len(v):.2f}" for k, v in sorted(language_ok.items()))
    )

    crisis_path = args.folder / "crisis.jsonl"
    if not crisis_path.exists():
        return
    detector = build_crisis_detector(settings)
    outcomes: Counter[tuple[str, str]] = Counter()
    per_language: dict[str, Counter[str]] = defaultdict(Counter)
    for line in load(crisis_path):
        level = detector.assess(str(line["text"])).level.value
        label = str(line["label"])
        outcomes[(label, level)] += 1
        lang = str(line["lang"])
        if label == "crisis":
            per_language[lang]["crisis"] += 1
            per_language[lang]["caught"] += level == "crisis"
        if label == "none":
            per_language[lang]["none"] += 1
            per_language[lang]["alarm"] += level == "crisis"
        wrong = (label == "crisis" and level != "crisis") or (label == "none" and level != "none")
        if args.misses and wrong:
            print(f"{label.upper()}->{level} {lang} {line.get('kind')}: {line['text']!r}")
    crisis_total = sum(n for (label, _), n in outcomes.items() if label == "crisis")
    none_total = sum(n for (label, _), n in outcomes.items() if label == "none")
    concern_total = sum(n for (label, _), n in outcomes.items() if label == "concern")
    print(
        f"crisis recall={outcomes[('crisis', 'crisis')] / crisis_total:.3f} "
        f"(as concern {outcomes[('crisis', 'concern')]}, missed {outcomes[('crisis', 'none')]} of {crisis_total}) "
        f"false alarms={outcomes[('none', 'crisis')] / none_total:.3f} "
        f"(concern asked {outcomes[('none', 'concern')]} of {none_total}) "
        f"concern lines flagged={(outcomes[('concern', 'crisis')] + outcomes[('concern', 'concern')]) / max(concern_total, 1):.3f}"
    )
    print(
        "  recall by language: "
        + " ".join(
            f"{k}={c['caught'] / max(c['crisis'], 1):.2f}" for k, c in sorted(per_language.items())
        )
    )
    print(
        "  false alarms by language: "
        + " ".join(
            f"{k}={c['alarm'] / max(c['none'], 1):.2f}" for k, c in sorted(per_language.items())
        )
    )


if __name__ == "__main__":
    main()
