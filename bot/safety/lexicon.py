"""Crisis lexicons: the pattern language of resources/crisis/<lang>.yaml, compiled for matching.

A pattern is a short phrase of tokens; all must occur within (tokens + 3) words, in any order.
Token forms: `word` (typos forgiven by length), `stem*` (inflections), `*part*` (contains, for
Arabic-script clitics), `*end` (ends with), and `a|b|c` (alternatives for one slot).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path

from bot.catalogue.files import validate_document
from bot.catalogue.schema import LexiconFile
from bot.catalogue.yamlio import CatalogueError, load_document
from bot.search.normalise import fold

MIN_STEM = 3
WINDOW_SLACK = 3


class Section(StrEnum):
    CRISIS = "crisis"
    CONCERN = "concern"
    IDIOMS = "idioms"
    CONTEXT = "context"
    PRESENT = "present"


class Kind(StrEnum):
    EXACT = "exact"
    PREFIX = "prefix"
    CONTAINS = "contains"
    SUFFIX = "suffix"


@dataclass(frozen=True, slots=True)
class Matcher:
    kind: Kind
    core: str


@dataclass(frozen=True, slots=True)
class Pattern:
    language: str
    section: Section
    source: str
    slots: tuple[tuple[Matcher, ...], ...]

    @property
    def window(self) -> int:
        return len(self.slots) + WINDOW_SLACK


class LexiconError(ValueError):
    """A pattern that cannot work as written."""


def _matcher(token: str) -> list[Matcher]:
    """One alternative of a slot; a token that folds into several words yields several slots."""
    starts, ends = token.startswith("*"), token.endswith("*") and len(token) > 1
    core_words = fold(token.strip("*")).split()
    if not core_words:
        raise LexiconError(f"'{token}' has no letters")
    if starts and ends:
        kind = Kind.CONTAINS
    elif starts:
        kind = Kind.SUFFIX
    elif ends:
        kind = Kind.PREFIX
    else:
        kind = Kind.EXACT
    wildcard_word = core_words[0] if starts else core_words[-1]
    if kind is not Kind.EXACT and len(wildcard_word) < MIN_STEM:
        raise LexiconError(f"'{token}': a stem needs at least {MIN_STEM} letters")
    if len(core_words) == 1:
        return [Matcher(kind, core_words[0])]
    # "nu-mi" folds to "nu mi": the first words must match exactly, the last keeps the wildcard.
    if starts:
        raise LexiconError(f"'{token}': a leading * cannot go with punctuation inside the word")
    return [Matcher(Kind.EXACT, w) for w in core_words[:-1]] + [Matcher(kind, core_words[-1])]


def compile_pattern(text: str, *, language: str, section: Section) -> Pattern:
    slots: list[tuple[Matcher, ...]] = []
    for token in text.split():
        alternatives = token.split("|")
        if "" in alternatives:
            raise LexiconError(f"'{token}': an empty alternative (stray '|')")
        expanded = [_matcher(alt) for alt in alternatives]
        if len(expanded) == 1:
            slots.extend((m,) for m in expanded[0])
        else:
            # In an alternative, a multi-word form keeps only its most telling (longest) word.
            slots.append(tuple(max(group, key=lambda m: len(m.core)) for group in expanded))
    if not slots:
        raise LexiconError(f"'{text}': empty pattern")
    return Pattern(language=language, section=section, source=text, slots=tuple(slots))


def compile_lexicon_file(path: Path, languages: Sequence[str]) -> list[Pattern]:
    """Read, check and compile one lexicon file; a bad pattern stops with file:line."""
    document = load_document(path)
    spec = validate_document(document, LexiconFile, languages).crisis_lexicon
    patterns: list[Pattern] = []
    for section in Section:
        for index, text in enumerate(getattr(spec, section.value)):
            try:
                patterns.append(compile_pattern(text, language=spec.language, section=section))
            except LexiconError as exc:
                raise document.error(("crisis_lexicon", section.value, index), str(exc)) from None
    return patterns


def load_lexicons(directory: Path, languages: Sequence[str]) -> list[Pattern]:
    """Compile every lexicon in `directory`; any bad file or pattern stops with file:line."""
    files = sorted(directory.glob("*.yaml"))
    if not files:
        raise CatalogueError(directory, 1, "no crisis lexicon files found")
    return [pattern for path in files for pattern in compile_lexicon_file(path, languages)]
