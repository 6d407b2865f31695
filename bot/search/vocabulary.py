"""Fuzzy word lookup: which known words a resident's word could be (typos, inflections)."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from functools import lru_cache

from rapidfuzz import process
from rapidfuzz.distance import OSA

PREFIX_LEN = 4  # inflections share at least this much of the word's start
MAX_SUFFIX_GAP = 3  # ...and differ by at most this many letters at the end
TYPO_PENALTY = 0.12  # similarity lost per typo
INFLECTION_PENALTY = 0.04  # similarity lost per letter of different ending


def common_prefix(a: str, b: str) -> int:
    n = min(len(a), len(b))
    i = 0
    while i < n and a[i] == b[i]:
        i += 1
    return i


def max_typos(length: int) -> int:
    """How many typos a word of this length may carry and still be recognised."""
    if length >= 9:
        return 2
    if length >= 5:
        return 1
    return 0


class Vocabulary:
    """Every word the catalogue knows, with fast fuzzy lookup."""

    def __init__(self, words: Iterable[str]) -> None:
        self.words: list[str] = sorted(set(words))
        self.ids: dict[str, int] = {word: i for i, word in enumerate(self.words)}
        by_start: dict[tuple[int, str], list[str]] = defaultdict(list)
        by_prefix: dict[str, list[str]] = defaultdict(list)
        by_letters: dict[str, list[str]] = defaultdict(list)
        for word in self.words:
            by_start[len(word), word[0]].append(word)
            if len(word) >= PREFIX_LEN:
                by_prefix[word[:PREFIX_LEN]].append(word)
            if len(word) == 4:
                by_letters["".join(sorted(word))].append(word)
        # Typos are looked for among words of similar length that start with the same letter
        # (or with the word's second letter, for "rnet"-style swaps): a wrong first letter is
        # rare, and comparing against every word would cost a millisecond per word.
        self._by_start = dict(by_start)
        self._by_prefix = dict(by_prefix)
        self._four_letter_anagrams = dict(by_letters)
        self.lookup = lru_cache(maxsize=50_000)(self._lookup)

    def _lookup(self, word: str) -> tuple[tuple[int, float], ...]:
        """(word id, similarity 0..1) for every known word `word` could be, best first."""
        found: dict[str, float] = {}
        if word in self.ids:
            found[word] = 1.0
        if len(word) >= PREFIX_LEN:
            for known in self._by_prefix.get(word[:PREFIX_LEN], ()):
                gap = abs(len(known) - len(word))
                if known == word or gap > MAX_SUFFIX_GAP:
                    continue
                shared = common_prefix(word, known)
                if shared >= min(len(word), len(known)) - 2:
                    similarity = 0.92 - INFLECTION_PENALTY * max(gap, 1)
                    found[known] = max(found.get(known, 0.0), similarity)
        typos = max_typos(len(word))
        if typos:
            starts = {word[0], word[1]}
            for length in range(len(word) - typos, len(word) + typos + 1):
                for start in starts:
                    bucket = self._by_start.get((length, start))
                    if not bucket:
                        continue
                    for known, distance, _ in process.extract(
                        word, bucket, scorer=OSA.distance, score_cutoff=typos, limit=None
                    ):
                        if distance <= 1 or known[0] == word[0]:  # two typos, not in letter one
                            similarity = 1.0 - TYPO_PENALTY * distance
                            found[known] = max(found.get(known, 0.0), similarity)
        elif len(word) == 4:
            # Four-letter words only forgive swapped letters ("rnet"); one wrong letter makes
            # another word too often (food, good, mood).
            for known in self._four_letter_anagrams.get("".join(sorted(word)), ()):
                if known != word and OSA.distance(word, known) == 1:
                    found[known] = 1.0 - TYPO_PENALTY
        return tuple(
            sorted(((self.ids[k], s) for k, s in found.items()), key=lambda item: -item[1])
        )
