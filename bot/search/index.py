"""The search index: phrases of every language, pointing at categories and resources.

Each category's search terms (in all ten languages), each resource's names and keywords, and
each category's own name become *phrases*. A question matches a phrase when the question's
words (fuzzily) cover most of the phrase's informative words. Words carry weights by how
specific they are: "rent" points at one category, "help" at all of them.
"""

from __future__ import annotations

import itertools
import math
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from bot.catalogue.model import Catalogue
from bot.search.normalise import fold_term
from bot.search.vocabulary import Vocabulary

MIN_PHRASE_COVER = 0.5  # share of a phrase's weight a question must match (its key word at least)
MIN_NAME_COVER = 0.5  # a service's name counts when half of what makes it distinctive matches
KEY_SHARE = 0.9  # words weighing this share of a phrase's heaviest word are its key words
PHRASE_BONUS = 0.15  # extra strength per additional matched word of a phrase
OTHER_LANGUAGE = 0.9  # phrases of another language than the question's count a little less
COMMON_SHARE = 0.08  # words in more than this share of resources are skipped for resources
MAX_PHRASE_WORDS = 8
FUNCTION_WORD_WEIGHT = 0.15  # "my", "not", "for": glue, not need
EXTRA_WORD_SHARE = 0.5  # each further word of a message adds half its strength


@dataclass(frozen=True, slots=True)
class Phrase:
    owner: int  # a category index, or len(categories) + a resource index
    language: str
    words: tuple[int, ...]
    weights: tuple[float, ...]
    total: float
    keys: frozenset[int]  # positions of its most telling words: one of them must match
    glue: tuple[tuple[int, int], ...]  # (position, word id) of its function words


@dataclass(frozen=True, slots=True)
class Evidence:
    """How strongly a question points at each category and at each resource by name."""

    categories: dict[int, float]
    resources: dict[int, float]


def _phrase_words(text: str) -> tuple[str, ...]:
    return tuple(fold_term(text).split()[:MAX_PHRASE_WORDS])


class SearchIndex:
    """Built once from the catalogue; answers in well under a millisecond per question."""

    def __init__(self, catalogue: Catalogue, function_words: frozenset[str] = frozenset()) -> None:
        self.catalogue = catalogue
        self.categories = [c.slug for c in catalogue.categories]
        self.category_ids = {slug: i for i, slug in enumerate(self.categories)}
        self.resources = list(catalogue.resources)
        owners = len(self.categories) + len(self.resources)

        raw: list[tuple[int, str, tuple[str, ...]]] = []
        for i, category in enumerate(catalogue.categories):
            for language, name in category.names.items():
                raw.append((i, language, _phrase_words(name)))
            for language, terms in category.terms.items():
                raw.extend((i, language, _phrase_words(term)) for term in terms)
        base = len(self.categories)
        for j, resource in enumerate(self.resources):
            for language, name in resource.name.items():
                raw.append((base + j, language, _phrase_words(name)))
            for language, words in resource.keywords.items():
                raw.extend((base + j, language, _phrase_words(word)) for word in words)
        raw.extend(_joined_forms(raw))
        raw = [entry for entry in dict.fromkeys(raw) if entry[2]]

        self.vocabulary = Vocabulary(word for _, _, words in raw for word in words)
        # Function words never make a phrase match on their own (they are never its key
        # word), so their long postings lists are only consulted for phrases already matched.
        self.light = [word in function_words for word in self.vocabulary.words]
        weights = _specificity(raw, base, owners - base, function_words)
        self.phrases: list[Phrase] = []
        self.postings: list[list[tuple[int, int]]] = [[] for _ in self.vocabulary.words]
        common_for_resources = self._common_resource_words(raw, base)
        for owner, language, words in raw:
            ids = tuple(self.vocabulary.ids[w] for w in words)
            kind = 0 if owner < base else 1
            word_weights = tuple(weights[kind][w] for w in words)
            top = max(word_weights)
            keys = frozenset(i for i, w in enumerate(word_weights) if w >= KEY_SHARE * top)
            glue = tuple((p, word_id) for p, word_id in enumerate(ids) if self.light[word_id])
            index = len(self.phrases)
            self.phrases.append(
                Phrase(owner, language, ids, word_weights, sum(word_weights), keys, glue)
            )
            for position, word_id in enumerate(ids):
                if kind == 1 and words[position] in common_for_resources:
                    continue  # "millbrook", "centre": in thousands of names, worth nothing alone
                self.postings[word_id].append((index, position))

    def _common_resource_words(
        self, raw: Sequence[tuple[int, str, tuple[str, ...]]], base: int
    ) -> set[str]:
        owners_by_word: dict[str, set[int]] = defaultdict(set)
        for owner, _, words in raw:
            if owner >= base:
                for word in words:
                    owners_by_word[word].add(owner)
        limit = max(50, COMMON_SHARE * len(self.resources))
        return {word for word, owners in owners_by_word.items() if len(owners) > limit}

    def evidence(self, words: Sequence[str], language: str) -> Evidence:
        """Score categories and resources (by their own names and keywords) for a question."""
        query = list(dict.fromkeys(words))
        query += [a + b for a, b in itertools.pairwise(words) if len(a + b) >= 6]
        # phrase index -> position -> (similarity, query word index)
        matched: dict[int, dict[int, tuple[float, int]]] = defaultdict(dict)
        light: dict[int, tuple[float, int]] = {}  # function word id -> best (similarity, word)
        for q_index, word in enumerate(query):
            for word_id, similarity in self.vocabulary.lookup(word):
                if self.light[word_id]:
                    if similarity > light.get(word_id, (0.0, 0))[0]:
                        light[word_id] = (similarity, q_index)
                    continue
                for phrase_index, position in self.postings[word_id]:
                    positions = matched[phrase_index]
                    previous = positions.get(position)
                    if previous is None or previous[0] < similarity:
                        positions[position] = (similarity, q_index)
        if light:
            for phrase_index, positions in matched.items():
                for position, word_id in self.phrases[phrase_index].glue:
                    if position not in positions and word_id in light:
                        positions[position] = light[word_id]

        # owner -> query word -> best contribution, so one word counts once per owner
        contributions: dict[int, dict[int, float]] = defaultdict(dict)
        for phrase_index, positions in matched.items():
            phrase = self.phrases[phrase_index]
            if phrase.keys.isdisjoint(positions):
                continue  # "can't find" is not "can't find a job"
            covered = sum(phrase.weights[p] * sim for p, (sim, _) in positions.items())
            cover = covered / phrase.total if phrase.total else 0.0
            if cover < (
                MIN_PHRASE_COVER if phrase.owner < len(self.categories) else MIN_NAME_COVER
            ):
                continue
            strength = cover * (1 + PHRASE_BONUS * (len(positions) - 1))
            if phrase.language not in (language, "en"):
                strength *= OTHER_LANGUAGE
            owner = contributions[phrase.owner]
            for position, (_, q_index) in positions.items():
                value = strength * phrase.weights[position]  # similarity is already in `cover`
                if value > owner.get(q_index, 0.0):
                    owner[q_index] = value

        base = len(self.categories)
        categories: dict[int, float] = {}
        resources: dict[int, float] = {}
        for owner_id, per_word in contributions.items():
            total = _combine(per_word.values())
            if owner_id < base:
                categories[owner_id] = total
            else:
                resources[owner_id - base] = total
        return Evidence(categories=categories, resources=resources)


def _combine(contributions: Iterable[float]) -> float:
    """The strongest word counts fully; each further word adds a share of its own strength.

    Plain summing would let a long message win a category through many weak words."""
    ordered = sorted(contributions, reverse=True)
    return ordered[0] + EXTRA_WORD_SHARE * sum(ordered[1:]) if ordered else 0.0


def _joined_forms(
    raw: Iterable[tuple[int, str, tuple[str, ...]]],
) -> list[tuple[int, str, tuple[str, ...]]]:
    """'food bank' is also written 'foodbank': two-word phrases get their joined form too."""
    return [
        (owner, language, (words[0] + words[1],))
        for owner, language, words in raw
        if len(words) == 2 and len(words[0] + words[1]) >= 6
    ]


def _specificity(
    raw: Sequence[tuple[int, str, tuple[str, ...]]],
    base: int,
    resources: int,
    function_words: frozenset[str],
) -> tuple[dict[str, float], dict[str, float]]:
    """Word weights 0..1: rarer across categories (or across resources) means more telling;
    a language's function words weigh little wherever they appear."""
    category_owners: dict[str, set[int]] = defaultdict(set)
    resource_owners: dict[str, set[int]] = defaultdict(set)
    for owner, _, words in raw:
        target = category_owners if owner < base else resource_owners
        for word in words:
            target[word].add(owner)

    def weights(owners_by_word: dict[str, set[int]], total: int) -> dict[str, float]:
        scale = math.log(1 + max(total, 1))
        return {
            word: math.log(1 + max(total, 1) / len(owners))
            / scale
            * (FUNCTION_WORD_WEIGHT if word in function_words else 1.0)
            for word, owners in owners_by_word.items()
        }

    return weights(category_owners, base), weights(resource_owners, resources)
