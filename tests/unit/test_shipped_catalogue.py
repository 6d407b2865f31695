"""What the shipped catalogue promises: every category reachable in every language, real
national lines, and clearly fictional local examples."""

from __future__ import annotations

import re
from collections import Counter
from functools import cache
from pathlib import Path

import pytest

from bot.catalogue.files import CatalogueFiles, read_catalogue_files
from bot.catalogue.model import CATEGORY_SLUGS, NATIONAL
from bot.config import DEFAULT_LANGUAGES

RESOURCES = Path(__file__).resolve().parents[2] / "resources"
DRAMA_PHONE = re.compile(r"^01632 960\d{3}$")  # Ofcom's range reserved for fiction


@cache
def shipped() -> CatalogueFiles:
    return read_catalogue_files([RESOURCES], languages=DEFAULT_LANGUAGES)


@pytest.mark.parametrize("language", DEFAULT_LANGUAGES)
def test_every_category_has_a_name_and_25_terms_in_every_language(language: str) -> None:
    for category in shipped().categories or ():
        assert category.names.get(language), (category.slug, language)
        assert len(set(category.terms.get(language, ()))) >= 25, (category.slug, language)


def test_every_category_has_at_least_two_local_example_services() -> None:
    examples = [r for r in shipped().resources if r.example]
    assert len(examples) >= 60
    covered = Counter(slug for r in examples for slug in r.categories)
    assert {slug: covered[slug] for slug in CATEGORY_SLUGS if covered[slug] < 2} == {}


def test_examples_are_clearly_fictional_and_fully_translated() -> None:
    for resource in (r for r in shipped().resources if r.example):
        assert NATIONAL not in resource.areas, resource.slug
        for number in filter(None, (resource.phone, resource.sms)):
            assert DRAMA_PHONE.match(number), (resource.slug, number)
        if resource.website:
            assert ".example.org" in resource.website, resource.slug
        assert set(resource.summary) == set(DEFAULT_LANGUAGES), resource.slug
        assert set(resource.eligibility) == set(DEFAULT_LANGUAGES), resource.slug


@pytest.mark.parametrize(
    ("slug", "field", "number"),
    [
        ("samaritans", "phone", "116 123"),
        ("shout", "sms", "85258"),
        ("nhs-111-mental-health", "phone", "111"),
        ("childline", "phone", "0800 1111"),
        ("national-domestic-abuse-helpline", "phone", "0808 2000 247"),
        ("emergency-999", "phone", "999"),
    ],
)
def test_the_national_crisis_lines_are_shipped_with_their_real_numbers(
    slug: str, field: str, number: str
) -> None:
    by_slug = {r.slug: r for r in shipped().resources}
    resource = by_slug[slug]
    assert getattr(resource, field) == number
    assert resource.areas == (NATIONAL,) and not resource.example
    assert set(resource.summary) == set(DEFAULT_LANGUAGES)


def test_every_language_has_a_crisis_lexicon() -> None:
    assert sorted(p.stem for p in shipped().lexicons) == sorted(DEFAULT_LANGUAGES)
