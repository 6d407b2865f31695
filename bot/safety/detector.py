"""Deciding whether a message is a crisis, a concern, or neither, in any of the languages.

Every language's lexicon is applied to every message: people mix languages and a short
message's language is often unclear, and a missed crisis costs far more than a gentle question.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from functools import lru_cache

from rapidfuzz import process
from rapidfuzz.distance import OSA

from bot.safety.lexicon import Kind, Pattern, Section
from bot.safety.model import CrisisModel
from bot.search.normalise import tokens
from bot.search.vocabulary import max_typos

MAX_WORDS = 200  # a wall of text is still read, up to this many words
MIN_TYPO_STEM = 5  # stems shorter than this must match letter for letter
MODEL_ALARM = 0.8  # the model's probability that raises a crisis the lexicon did not see
MODEL_ASK = 0.7  # ... and that asks "are you safe right now?"
MODEL_DOUBT = 0.2  # below this, a lexicon alarm becomes the gentle question instead


class Level(StrEnum):
    NONE = "none"
    CONCERN = "concern"  # unclear risk: ask gently whether they are safe
    CRISIS = "crisis"  # act now: crisis lines and a human


@dataclass(frozen=True)
class Assessment:
    level: Level
    reasons: tuple[str, ...] = field(default=())  # "lang:section:pattern", for logs and tests

    @property
    def crisis(self) -> bool:
        return self.level is Level.CRISIS

    @property
    def concern(self) -> bool:
        return self.level is Level.CONCERN


SlotRef = tuple[int, int]  # (pattern index, slot index)


class CrisisDetector:
    """Finds crisis and concern patterns in a message, minus idioms and past/media mentions."""

    def __init__(
        self,
        patterns: Sequence[Pattern],
        model: CrisisModel | None = None,
        *,
        alarm: float = MODEL_ALARM,
        ask: float = MODEL_ASK,
        doubt: float = MODEL_DOUBT,
    ) -> None:
        if not any(p.section is Section.CRISIS for p in patterns):
            raise ValueError("no crisis patterns: refusing to run without a crisis lexicon")
        self.patterns = list(patterns)
        self.model = model
        self.alarm, self.ask, self.doubt = alarm, ask, doubt
        exact: dict[str, list[SlotRef]] = defaultdict(list)
        prefix: dict[str, list[SlotRef]] = defaultdict(list)
        self._contains: list[tuple[str, SlotRef]] = []
        self._suffix: list[tuple[str, SlotRef]] = []
        for p_index, pattern in enumerate(self.patterns):
            for s_index, slot in enumerate(pattern.slots):
                for matcher in slot:
                    ref = (p_index, s_index)
                    if matcher.kind is Kind.EXACT:
                        exact[matcher.core].append(ref)
                    elif matcher.kind is Kind.PREFIX:
                        prefix[matcher.core].append(ref)
                    elif matcher.kind is Kind.CONTAINS:
                        self._contains.append((matcher.core, ref))
                    else:
                        self._suffix.append((matcher.core, ref))
        self._exact = dict(exact)
        self._prefix = dict(prefix)
        self._exact_by_length = _by_length(self._exact)
        self._prefix_by_length = _by_length(self._prefix)
        # Typo tolerance may help find an alarm, never silence one: idioms and context
        # markers match only as written, or "raman" (ro, stay) would pass for a past marker.
        self._forgiving = [
            p.section not in (Section.IDIOMS, Section.CONTEXT) for p in self.patterns
        ]
        self.slots_of = lru_cache(maxsize=100_000)(self._slots_of)

    def _slots_of(self, word: str) -> frozenset[SlotRef]:
        """Every pattern slot this word can fill, forgiving typos by word length."""
        refs: set[SlotRef] = set(self._exact.get(word, ()))
        typos = max_typos(len(word))
        if typos:
            for length in range(len(word) - typos, len(word) + typos + 1):
                for core, _, _ in process.extract(
                    word, self._exact_by_length.get(length, ()), scorer=OSA.distance,
                    score_cutoff=typos, limit=None,
                ):  # fmt: skip
                    refs.update(r for r in self._exact[core] if self._forgiving[r[0]])
        for length, stems in self._prefix_by_length.items():
            if length > len(word):
                continue
            refs.update(self._prefix.get(word[:length], ()))
            if length < MIN_TYPO_STEM:
                continue
            # A typo may sit anywhere but in a stem's last two letters, where inflection
            # lives: "sucid" is "suicid*", but "cortava" (I used to cut) is not "cortar*".
            for head_length in (length - 1, length, length + 1):
                head = word[:head_length]
                if len(head) != head_length:
                    continue
                for stem, _, _ in process.extract(
                    head, stems, scorer=OSA.distance, score_cutoff=1, limit=None
                ):
                    if stem[-2:] == head[-2:]:
                        refs.update(r for r in self._prefix[stem] if self._forgiving[r[0]])
        for core, ref in self._contains:
            if core in word:
                refs.add(ref)
        for core, ref in self._suffix:
            if word.endswith(core):
                refs.add(ref)
        return frozenset(refs)

    def _matches(self, words: Sequence[str]) -> list[tuple[Pattern, frozenset[int]]]:
        """Patterns whose every slot is filled within the window, with the positions used."""
        filled: dict[int, dict[int, list[int]]] = defaultdict(lambda: defaultdict(list))
        for position, word in enumerate(words):
            for p_index, s_index in self.slots_of(word):
                filled[p_index][s_index].append(position)
        found = []
        for p_index, slots in filled.items():
            pattern = self.patterns[p_index]
            if len(slots) < len(pattern.slots):
                continue
            positions = _fit_window([slots[i] for i in range(len(pattern.slots))], pattern.window)
            if positions is not None:
                found.append((pattern, positions))
        return found

    def assess(self, text: str) -> Assessment:
        """Grade a message: crisis, concern or none.

        The lexicon decides first. Where it finds no crisis, the model may still raise one:
        at once when it is sure and nothing in the message reads as an idiom, the past, a film
        or a question about services; as a gentle question when it is fairly sure. Where the
        lexicon finds a crisis the model nearly rules out ("juro que me mato si ponen otra vez
        ese villancico"), the resident is still asked whether they are safe, with a button
        that brings the crisis lines at once.
        """
        words, clause_of = _words_and_clauses(text)
        if not words:
            return Assessment(Level.NONE)
        matches = self._matches(words)
        lexicon = self._assess_lexicon(matches, clause_of)
        if self.model is None:
            return lexicon
        probability = self.model.probability(text)
        reason = f"model:{probability:.2f}"
        if lexicon.crisis:
            if probability >= self.doubt:
                return lexicon
            # The words are there but the whole reads like a joke or a story: still ask.
            return Assessment(Level.CONCERN, (*lexicon.reasons, reason))
        guarded = any(p.section in (Section.IDIOMS, Section.CONTEXT) for p, _ in matches)
        if probability >= self.alarm and not guarded:
            return Assessment(Level.CRISIS, (*lexicon.reasons, reason))
        if probability >= self.ask and not lexicon.concern:
            return Assessment(Level.CONCERN, (reason,))
        return lexicon

    def _assess_lexicon(
        self, matches: list[tuple[Pattern, frozenset[int]]], clause_of: list[int]
    ) -> Assessment:
        """What the lexicons alone say, with idioms, mentions and the past taken out."""

        def positions_of(section: Section) -> set[int]:
            return {p for pattern, ps in matches if pattern.section is section for p in ps}

        idioms = positions_of(Section.IDIOMS)
        context = positions_of(Section.CONTEXT)
        present = positions_of(Section.PRESENT) - context  # "acum" in "acum doi ani" is the past
        context_clauses = {clause_of[p] for p in context}
        present_clauses = {clause_of[p] for p in present}
        crisis: list[str] = []
        concern: list[str] = []
        for pattern, positions in matches:
            if pattern.section not in (Section.CRISIS, Section.CONCERN):
                continue
            if positions & idioms or positions & context:
                continue  # "this queue is killing me", "a group for people bereaved by suicide"
            clauses = {clause_of[p] for p in positions}
            # A film, the news or the past in the same clause, with no "tonight" or "again"
            # there: a mention rather than a cry for help.
            mention = bool(clauses & context_clauses) and not clauses & present_clauses
            reason = f"{pattern.language}:{pattern.section}:{pattern.source}"
            # Hopelessness with a time that is now or tonight is acute: act, do not just ask.
            imminent = pattern.section is Section.CONCERN and bool(clauses & present_clauses)
            if (pattern.section is Section.CRISIS and not mention) or imminent:
                crisis.append(reason)
            elif pattern.section is Section.CRISIS or not mention:
                # A crisis phrase that may be a mention still earns "are you safe right now?"
                concern.append(reason)
        if crisis:
            return Assessment(Level.CRISIS, tuple(crisis))
        if concern:
            return Assessment(Level.CONCERN, tuple(concern))
        return Assessment(Level.NONE)


# Where one thought ends and the next begins, in the ten languages' scripts.
_CLAUSE_BREAKS = re.compile(r"[.,;:!?…\n¿¡،؛؟۔।॥]+")


def _words_and_clauses(text: str) -> tuple[list[str], list[int]]:
    """The folded words of a message, and for each the number of the clause it stands in."""
    words: list[str] = []
    clause_of: list[int] = []
    for number, clause in enumerate(_CLAUSE_BREAKS.split(text)):
        for word in tokens(clause):
            if len(words) >= MAX_WORDS:
                return words, clause_of
            words.append(word)
            clause_of.append(number)
    return words, clause_of


def _by_length(cores: Iterable[str]) -> dict[int, list[str]]:
    grouped: dict[int, list[str]] = defaultdict(list)
    for core in cores:
        grouped[len(core)].append(core)
    return dict(grouped)


def _fit_window(slot_positions: list[list[int]], window: int) -> frozenset[int] | None:
    """Distinct positions, one per slot, all within `window` words; None if impossible."""
    for start in sorted({p for positions in slot_positions for p in positions}):
        inside = [
            [p for p in positions if start <= p < start + window] for positions in slot_positions
        ]
        if all(inside):
            chosen = _distinct(sorted(inside, key=len), ())
            if chosen is not None:
                return frozenset(chosen)
    return None


def _distinct(options: list[list[int]], used: tuple[int, ...]) -> tuple[int, ...] | None:
    """One position per slot, no position used twice (slots are few, windows short)."""
    if not options:
        return used
    for position in options[0]:
        if position not in used:
            found = _distinct(options[1:], (*used, position))
            if found is not None:
                return found
    return None
