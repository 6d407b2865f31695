"""From a question to the resources to show: category evidence, direct name matches, filters."""

from __future__ import annotations

import datetime as dt
import math
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass, field
from zoneinfo import ZoneInfo

import numpy as np
from opening_hours import OpeningHours

from bot.catalogue.model import NATIONAL, Catalogue, Cost, Resource
from bot.search.detect import LanguageDetective
from bot.search.index import SearchIndex
from bot.search.normalise import tokens

MIN_CATEGORY_EVIDENCE = 0.5  # below this the question is not clearly about any category
MIN_NAME_EVIDENCE = 0.7  # a resource named outright ("samaritans") is enough on its own
KEEP_SHARE = 0.45  # results weaker than this share of the best one are noise
CATEGORY_POSITION_FACTOR = (1.0, 0.85, 0.75, 0.7, 0.65, 0.6)
SECOND_CATEGORY_SHARE = 0.3  # a resource that covers two needs of the question ranks higher
SPEAKS_LANGUAGE_BONUS = 0.04
FREE_BONUS = 0.02  # between equals, cost is the barrier residents name first
REPEAT_CATEGORY_FACTOR = 0.85  # each earlier result of the same category lowers the next one
MAX_QUERY_WORDS = 40


@dataclass(frozen=True)
class Filters:
    """What a resident can narrow results by."""

    area: str | None = None
    free_only: bool = False
    open_now: bool = False
    speaks: str | None = None


@dataclass(frozen=True)
class Match:
    resource: Resource
    score: float  # 0-100
    category: str | None  # the category through which it matched, if any


@dataclass(frozen=True)
class SearchResult:
    language: str
    matches: list[Match]
    categories: list[tuple[str, float]] = field(default_factory=list)  # best first

    @property
    def confident(self) -> bool:
        return bool(self.matches)


def to_score(strength: float) -> float:
    """A 0-100 score that grows with evidence and never quite reaches 100."""
    return round(100 * (1 - math.exp(-strength)), 1)


class Searcher:
    """Answers questions against one catalogue snapshot (rebuild it when the catalogue changes)."""

    def __init__(
        self, catalogue: Catalogue, detective: LanguageDetective, *, timezone: str = "Europe/London"
    ) -> None:
        self.index = SearchIndex(catalogue, detective.function_words)
        self.catalogue = catalogue
        self.detective = detective
        self.timezone = ZoneInfo(timezone)
        self._parents = {area.slug: area.part_of for area in catalogue.areas}
        # category -> its resources' indexes, and a factor for the category's place in each
        # resource's own list (a food bank that also gives debt advice is mainly about food).
        members: dict[str, tuple[list[int], list[float]]] = {}
        for index, resource in enumerate(self.index.resources):
            for position, slug in enumerate(resource.categories):
                factor = CATEGORY_POSITION_FACTOR[min(position, len(CATEGORY_POSITION_FACTOR) - 1)]
                indexes, factors = members.setdefault(slug, ([], []))
                indexes.append(index)
                factors.append(factor)
        self._members = {
            slug: (np.array(indexes, dtype=np.int64), np.array(factors))
            for slug, (indexes, factors) in members.items()
        }
        self._hours = {
            r.slug: OpeningHours(r.hours) for r in catalogue.resources if r.hours is not None
        }

    def search(
        self,
        text: str,
        *,
        language: str | None = None,
        filters: Filters = Filters(),
        limit: int = 5,
        now: dt.datetime | None = None,
    ) -> SearchResult:
        """The best resources for `text`; `language` is the resident's chosen language."""
        detected = self.detective.detect(text, fallback=language)
        words = tokens(text)[:MAX_QUERY_WORDS]
        evidence = self.index.evidence(words, detected)
        ranked_categories = sorted(evidence.categories.items(), key=lambda item: -item[1])
        categories = [(self.index.categories[i], round(s, 3)) for i, s in ranked_categories]
        best_category = ranked_categories[0][1] if ranked_categories else 0.0
        best_name = max(evidence.resources.values(), default=0.0)
        if best_category < MIN_CATEGORY_EVIDENCE and best_name < MIN_NAME_EVIDENCE:
            return SearchResult(language=detected, matches=[], categories=categories)

        strong = {
            slug: score
            for slug, score in categories
            if score >= max(MIN_CATEGORY_EVIDENCE, KEEP_SHARE * best_category)
        }
        # Only resources in a category the question points to, or named by it, are scored:
        # each by its best category evidence plus a share of its second best (vectorised, as
        # a strong category can hold thousands of resources).
        total = len(self.index.resources)
        first, second = np.zeros(total), np.zeros(total)
        via = np.full(total, -1, dtype=np.int64)
        for slug, score in strong.items():
            if slug not in self._members:
                continue
            indexes, factors = self._members[slug]
            values = score * factors
            current = first[indexes]
            better = values > current
            second[indexes] = np.where(better, current, np.maximum(second[indexes], values))
            first[indexes] = np.where(better, values, current)
            via[indexes] = np.where(better, self.index.category_ids[slug], via[indexes])
        strength = first + SECOND_CATEGORY_SHARE * second
        eligible = first > 0
        for index, own in evidence.resources.items():
            strength[index] += own
            eligible[index] |= own >= MIN_NAME_EVIDENCE
        strength[~eligible] = 0.0
        if not eligible.any():
            return SearchResult(language=detected, matches=[], categories=categories)
        floor = KEEP_SHARE * float(strength.max())
        ranked = np.flatnonzero(strength >= floor)
        ranked = ranked[np.lexsort((ranked, -strength[ranked]))]  # strongest first, then stable

        now = now or dt.datetime.now(self.timezone)
        # Filters apply to the strongest first; small preferences then decide between equals.
        # (Python numbers from here: reading numpy scalars one by one costs more than the loop.)
        candidates: list[tuple[float, int, str | None]] = []
        rows = zip(ranked.tolist(), strength[ranked].tolist(), via[ranked].tolist(), strict=True)
        for index, score, category_id in rows:
            resource = self.index.resources[index]
            if self.passes(resource, filters, now):
                category = self.index.categories[category_id] if category_id >= 0 else None
                candidates.append((score + self._bonus(index, detected), index, category))
                if len(candidates) >= limit * 8:
                    break
        candidates.sort(key=lambda item: (-item[0], item[1]))
        matches = [
            Match(resource=self.index.resources[index], score=to_score(strength), category=via)
            for strength, index, via in _interleave_categories(candidates, limit)
        ]
        return SearchResult(language=detected, matches=matches, categories=categories)

    def browse(
        self,
        category: str,
        *,
        language: str,
        filters: Filters = Filters(),
        limit: int = 5,
        now: dt.datetime | None = None,
    ) -> list[Match]:
        """A category's resources, as for a resident who picked it from the menu.

        Those mainly about the category come first, then free ones and those whose staff speak
        the resident's language; the catalogue's order breaks ties.
        """
        if category not in self._members:
            return []
        now = now or dt.datetime.now(self.timezone)
        indexes, factors = self._members[category]
        ranked = sorted(
            (
                (float(factor) + self._bonus(int(index), language), int(index))
                for index, factor in zip(indexes, factors, strict=True)
            ),
            key=lambda item: (-item[0], item[1]),
        )
        matches = []
        for strength, index in ranked:
            resource = self.index.resources[index]
            if self.passes(resource, filters, now):
                matches.append(Match(resource, to_score(strength), category))
                if len(matches) >= limit:
                    break
        return matches

    def _bonus(self, index: int, language: str) -> float:
        """Small preferences between equals: staff who speak the question's language, no cost."""
        resource = self.index.resources[index]
        bonus = FREE_BONUS if resource.cost is Cost.FREE else 0.0
        if language != "en" and language in resource.languages:
            bonus += SPEAKS_LANGUAGE_BONUS
        return bonus

    def passes(self, resource: Resource, filters: Filters, now: dt.datetime) -> bool:
        """Whether a resource meets the resident's filters."""
        if filters.free_only and resource.cost is not Cost.FREE:
            return False
        if filters.speaks and filters.speaks not in resource.languages:
            return False
        if filters.area and not self._covers(resource.areas, filters.area):
            return False
        return not (filters.open_now and not self.is_open(resource, now))

    def is_open(self, resource: Resource, now: dt.datetime) -> bool:
        hours = self._hours.get(resource.slug)
        return hours is not None and bool(hours.is_open(now.astimezone(self.timezone)))

    def next_opening(self, resource: Resource, now: dt.datetime) -> dt.datetime | None:
        """When a closed resource opens next (None if unknown or always open)."""
        hours = self._hours.get(resource.slug)
        if hours is None:
            return None
        change = hours.next_change(now.astimezone(self.timezone))
        return change if isinstance(change, dt.datetime) else None

    def _covers(self, areas: Sequence[str], wanted: str) -> bool:
        if NATIONAL in areas:
            return True
        chain = wanted
        seen: set[str] = set()
        while chain and chain not in seen:
            if chain in areas:
                return True
            seen.add(chain)
            chain = self._parents.get(chain) or ""
        return False


def _interleave_categories(
    candidates: list[tuple[float, int, str | None]], limit: int
) -> list[tuple[float, int, str | None]]:
    """Best first, but a close second need gets a place near the top (a daughter *and* autism).

    `candidates` come strongest first, so each category's next result is the head of its queue;
    each pick is the strongest head once lowered for the results its category already has,
    the earlier candidate on a tie."""
    queues: dict[str | None, deque[tuple[int, tuple[float, int, str | None]]]] = {}
    for order, candidate in enumerate(candidates):
        queues.setdefault(candidate[2], deque()).append((order, candidate))
    chosen: list[tuple[float, int, str | None]] = []
    shown: dict[str | None, int] = {}
    while queues and len(chosen) < limit:
        best: tuple[float, int, str | None] | None = None
        for via, queue in queues.items():
            order, (strength, _, _) = queue[0]
            adjusted = strength * REPEAT_CATEGORY_FACTOR ** shown.get(via, 0)
            if best is None or (adjusted, -order) > (best[0], -best[1]):
                best = (adjusted, order, via)
        assert best is not None
        adjusted, _, via = best
        _, (_, index, _) = queues[via].popleft()
        if not queues[via]:
            del queues[via]
        shown[via] = shown.get(via, 0) + 1
        chosen.append((adjusted, index, via))  # adjusted scores never rise: best first holds
    return chosen
