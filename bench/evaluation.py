"""Scoring search, language detection and crisis detection against labelled JSON Lines sets.

Used by `bench/eval_report.py` (prints the figures) and `tests/eval/test_eval.py` (fails
below the thresholds).
"""

from __future__ import annotations

import json
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

from bot.catalogue.files import read_catalogue_files
from bot.catalogue.model import Catalogue
from bot.config import Settings
from bot.safety.detector import CrisisDetector
from bot.search.detect import LanguageDetective
from bot.search.ranking import Searcher


def shipped_searcher(settings: Settings, detective: LanguageDetective) -> Searcher:
    """Search over the shipped catalogue, read straight from resources/ (no database)."""
    files = read_catalogue_files([settings.resources_dir], languages=settings.languages)
    catalogue = Catalogue(
        tuple(files.categories or ()), tuple(files.resources), tuple(files.areas or ())
    )
    return Searcher(catalogue, detective, timezone=settings.timezone)


def load_lines(path: Path) -> list[dict[str, object]]:
    lines = path.read_text(encoding="utf-8").splitlines()
    return [json.loads(line) for line in lines if line.strip()]


def load_crisis_lines(folder: Path) -> list[dict[str, object]]:
    """crisis.jsonl and any further crisis-*.jsonl files of a labelled set."""
    return [line for path in sorted(folder.glob("crisis*.jsonl")) for line in load_lines(path)]


def _rate(values: list[bool]) -> float:
    return sum(values) / len(values) if values else 0.0


@dataclass
class SearchScores:
    hits: dict[str, list[bool]] = field(default_factory=lambda: defaultdict(list))
    styles: dict[str, list[bool]] = field(default_factory=lambda: defaultdict(list))
    detected: dict[str, list[bool]] = field(default_factory=lambda: defaultdict(list))
    misses: list[str] = field(default_factory=list)

    @property
    def hit_rate(self) -> float:
        return _rate([h for values in self.hits.values() for h in values])

    @property
    def detection_rate(self) -> float:
        return _rate([d for values in self.detected.values() for d in values])

    def by_language(self) -> dict[str, float]:
        return {lang: _rate(values) for lang, values in sorted(self.hits.items())}


def score_search(searcher: Searcher, questions: list[dict[str, object]]) -> SearchScores:
    """Top-3 category hits: any of the first three results in an expected category."""
    scores = SearchScores()
    for item in questions:
        text, lang = str(item["text"]), str(item["lang"])
        expected = set(item["expect"])  # type: ignore[call-overload]
        result = searcher.search(text)  # no hint: detection has to work as well
        top = {c for match in result.matches[:3] for c in match.resource.categories}
        hit = bool(top & expected)
        scores.hits[lang].append(hit)
        scores.styles[str(item.get("style"))].append(hit)
        scores.detected[lang].append(result.language == lang)
        if not hit:
            found = [m.resource.slug for m in result.matches[:3]]
            scores.misses.append(f"{lang} {sorted(expected)} {text!r} -> {found}")
    return scores


@dataclass
class CrisisScores:
    caught: dict[str, list[bool]] = field(default_factory=lambda: defaultdict(list))
    alarms: dict[str, list[bool]] = field(default_factory=lambda: defaultdict(list))
    concern_flagged: list[bool] = field(default_factory=list)
    asked_when_fine: int = 0
    misses: list[str] = field(default_factory=list)

    @property
    def recall(self) -> float:
        return _rate([c for values in self.caught.values() for c in values])

    @property
    def false_alarm_rate(self) -> float:
        return _rate([a for values in self.alarms.values() for a in values])

    def recall_by_language(self) -> dict[str, float]:
        return {lang: _rate(values) for lang, values in sorted(self.caught.items())}

    def false_alarms_by_language(self) -> dict[str, float]:
        return {lang: _rate(values) for lang, values in sorted(self.alarms.items())}


def score_crisis(detector: CrisisDetector, lines: list[dict[str, object]]) -> CrisisScores:
    """Crisis recall on `crisis` lines; false alarms (graded crisis) on `none` lines."""
    scores = CrisisScores()
    for item in lines:
        text, lang, label = str(item["text"]), str(item["lang"]), str(item["label"])
        level = detector.assess(text).level.value
        if label == "crisis":
            scores.caught[lang].append(level == "crisis")
        elif label == "none":
            scores.alarms[lang].append(level == "crisis")
            scores.asked_when_fine += level == "concern"
        else:
            scores.concern_flagged.append(level != "none")
        if (label == "crisis" and level != "crisis") or (label == "none" and level != "none"):
            scores.misses.append(f"{label}->{level} {lang} {item.get('kind')}: {text!r}")
    return scores
