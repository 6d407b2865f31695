"""Which of the configured languages a short message is written in.

Script decides most cases (Gurmukhi, Bengali, Cyrillic). Within a script, Lingua's offline
models and each language's everyday words (resources/languages.yaml) weigh in together; the
words are also what recognises romanised Urdu, Punjabi and Bengali. Short or unclear text
falls back to the language the resident chose.
"""

from __future__ import annotations

import unicodedata
from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from lingua import IsoCode639_1, Language, LanguageDetector, LanguageDetectorBuilder

from bot.catalogue.files import validate_document
from bot.catalogue.schema import LanguagesFile
from bot.catalogue.yamlio import load_document
from bot.search.normalise import fold

MIN_LETTERS = 8  # below this, text is too short to judge: keep the resident's language
MIN_NATIVE_LETTERS = 3  # this many letters of another script outvote English loanwords
MIN_EVIDENCE = 0.5
ROMANISED_MIN_HITS = 1.5  # romanised text needs this many (weighted) everyday words
# In chat-length text a language's own everyday words are better evidence than character
# statistics, which Lingua's fast mode reports with too much confidence.
WORD_WEIGHT = 2.0
LINGUA_WEIGHT = 0.6


@dataclass(frozen=True)
class LanguageProfile:
    code: str
    script: str
    latin_words: frozenset[str]
    function_words: frozenset[str] = frozenset()


def load_profiles(path: Path, languages: Sequence[str]) -> list[LanguageProfile]:
    """The profiles of the configured languages from resources/languages.yaml."""
    spec = validate_document(load_document(path), LanguagesFile, languages)
    profiles = []
    for code in languages:
        entry = spec.languages[code]
        function_words = _folded_words(entry.function_words)
        # Function words typed in Latin letters are good evidence of the language too.
        latin = {w for w in function_words if script_of(w[0]) == "LATIN"}
        profiles.append(
            LanguageProfile(
                code=code,
                script=entry.script,
                latin_words=_folded_words(entry.latin_words) | latin,
                function_words=function_words,
            )
        )
    return profiles


def _folded_words(words: Sequence[str]) -> frozenset[str]:
    return frozenset(fold(" ".join(words)).split())


@lru_cache(maxsize=4096)
def script_of(char: str) -> str | None:
    """The Unicode script of a letter or vowel sign (first word of its name: LATIN, ARABIC...)."""
    if not (char.isalpha() or unicodedata.category(char) in ("Mn", "Mc")):
        return None
    try:
        return unicodedata.name(char).split(" ", 1)[0]
    except ValueError:
        return None


def _lingua_language(code: str) -> Language | None:
    try:
        return Language.from_iso_code_639_1(getattr(IsoCode639_1, code.upper()))
    except (AttributeError, ValueError):
        return None


class LanguageDetective:
    """Detects the language of residents' messages among the configured languages."""

    def __init__(self, profiles: Sequence[LanguageProfile]) -> None:
        if not profiles:
            raise ValueError("at least one language is needed")
        self.profiles = {p.code: p for p in profiles}
        self.function_words: frozenset[str] = frozenset().union(
            *(p.function_words for p in profiles)
        )
        self._lingua_codes: dict[Language, str] = {}
        for profile in profiles:
            language = _lingua_language(profile.code)
            if language is not None:
                self._lingua_codes[language] = profile.code
        self._detector: LanguageDetector | None = None
        if len(self._lingua_codes) >= 2:
            self._detector = (
                LanguageDetectorBuilder.from_languages(*self._lingua_codes)
                .with_low_accuracy_mode()
                .with_preloaded_language_models()
                .build()
            )
        owners: Counter[str] = Counter()
        for profile in profiles:
            owners.update(profile.latin_words)
        # A word several languages share is weaker evidence for each of them.
        self._word_weights: dict[str, dict[str, float]] = defaultdict(dict)
        for profile in profiles:
            for word in profile.latin_words:
                self._word_weights[word][profile.code] = 1 / owners[word]

    def detect(self, text: str, fallback: str | None = None) -> str:
        """The language code of `text`; `fallback` (the resident's language) when unsure."""
        default = fallback if fallback in self.profiles else next(iter(self.profiles))
        scripts = Counter(s for s in map(script_of, text) if s is not None)
        if not scripts:
            return default
        letters = sum(scripts.values())
        script = scripts.most_common(1)[0][0]
        if script == "LATIN":
            # "ਮੇਰਾ PIP reject ਹੋ ਗਿਆ": English loanwords inside native-script text.
            others = [(n, s) for s, n in scripts.items() if s not in ("LATIN", "INHERITED")]
            if others and max(others)[0] >= MIN_NATIVE_LETTERS:
                script = max(others)[1]
        native = [p.code for p in self.profiles.values() if p.script == script]
        romanisable = [p.code for p in self.profiles.values() if p.latin_words]
        candidates = list(dict.fromkeys(native + romanisable)) if script == "LATIN" else native
        if not candidates:
            return default
        if len(candidates) == 1:
            return candidates[0]
        fallback_fits = fallback in candidates
        if letters < MIN_LETTERS and fallback_fits:
            return default
        evidence = self._evidence(text, candidates, native)
        # Ties go to the resident's language, then to the configured order (English first).
        best, score = max(evidence.items(), key=lambda item: (item[1], item[0] == fallback))
        if score < MIN_EVIDENCE and fallback_fits:
            return default
        if score == 0:
            return default if default in candidates else candidates[0]
        return best

    def _evidence(self, text: str, candidates: list[str], native: list[str]) -> dict[str, float]:
        """Lingua's confidence plus the share of the text's words that are the language's own.

        Romanised text (Urdu, Punjabi, Bengali in Latin letters) fools character statistics, so
        when such a language's own words clearly outnumber any Latin language's, it wins outright.
        """
        evidence = dict.fromkeys(candidates, 0.0)
        words = fold(text).split()
        hits: dict[str, float] = defaultdict(float)
        for word in words:
            for code, weight in self._word_weights.get(word, {}).items():
                hits[code] += weight
        romanised = [c for c in candidates if c not in native]
        if romanised:
            best = max(romanised, key=lambda c: hits[c])
            native_best = max((hits[c] for c in native), default=0.0)
            if hits[best] >= ROMANISED_MIN_HITS and hits[best] > native_best:
                evidence[best] = 1.0 + hits[best]
                return evidence
        for code in native:
            evidence[code] += WORD_WEIGHT * hits[code] / max(len(words), 1)
        if self._detector is not None:
            for result in self._detector.compute_language_confidence_values(text):
                lingua_code = self._lingua_codes.get(result.language)
                if lingua_code in native:
                    evidence[lingua_code] += LINGUA_WEIGHT * float(result.value)
        return evidence
