"""Search on a small, hand-made catalogue: the mechanism, independent of the shipped data."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest

from bot.catalogue.model import Area, Catalogue, Category, Cost, Resource
from bot.search.detect import LanguageDetective
from bot.search.ranking import Filters, Searcher

LONDON = ZoneInfo("Europe/London")
TUESDAY_NOON = dt.datetime(2026, 11, 24, 12, 0, tzinfo=LONDON)
TUESDAY_NIGHT = dt.datetime(2026, 11, 24, 23, 0, tzinfo=LONDON)

CATEGORIES = (
    Category("food", {"en": "Food", "pl": "Jedzenie"},
             {"en": ("food bank", "hungry", "free meals", "food parcel"),
              "pl": ("bank żywności", "głodny", "nie mam co jeść", "jedzenie")}),
    Category("housing", {"en": "Housing", "pl": "Mieszkanie"},
             {"en": ("rent", "eviction", "homeless", "landlord", "help with rent"),
              "pl": ("czynsz", "eksmisja", "bezdomny", "mieszkanie", "wynajem")}),
    Category("money", {"en": "Money", "pl": "Pieniądze"},
             {"en": ("debt", "bills", "cost of living", "help with bills"),
              "pl": ("długi", "zadłużenie", "rachunki")}),
)  # fmt: skip


def resource(slug: str, categories: tuple[str, ...], **fields: object) -> Resource:
    values: dict[str, object] = {
        "name": {"en": slug.replace("-", " ").title()},
        "summary": {"en": f"About {slug}."},
    }
    values.update(fields)
    return Resource(slug=slug, categories=categories, **values)  # type: ignore[arg-type]


RESOURCES = (
    resource("st-marys-food-bank", ("food",), hours="Tu,Th 10:00-14:00", languages=("en", "pl"),
             areas=("mb1",)),
    resource("community-pantry", ("food", "money"), cost=Cost.LOW_COST, hours="Mo-Sa 09:00-17:00",
             areas=("millbrook",)),
    resource("housing-advice-line", ("housing",), hours="24/7", languages=("en",)),
    resource("debt-clinic", ("money", "housing"), hours="We 18:00-20:00", areas=("mb3",)),
    resource("samaritans", ("housing",), keywords={"en": ("listening",)}),
)  # fmt: skip
AREAS = (Area("millbrook", {"en": "Millbrook"}), Area("mb1", {"en": "Centre"}, "millbrook"),
         Area("mb3", {"en": "Eastfield"}, "millbrook"))  # fmt: skip


@pytest.fixture(scope="module")
def searcher(detective: LanguageDetective) -> Searcher:
    return Searcher(Catalogue(CATEGORIES, RESOURCES, AREAS), detective)


def slugs(searcher: Searcher, text: str, **kwargs: object) -> list[str]:
    kwargs.setdefault("now", TUESDAY_NOON)
    return [m.resource.slug for m in searcher.search(text, **kwargs).matches]  # type: ignore[arg-type]


def test_an_english_question_finds_its_category(searcher: Searcher) -> None:
    assert slugs(searcher, "where is the nearest food bank?")[:2] == [
        "st-marys-food-bank", "community-pantry"]  # fmt: skip


def test_a_polish_question_finds_english_described_services(searcher: Searcher) -> None:
    result = searcher.search("Nie mam co jeść, pomóżcie", now=TUESDAY_NOON)
    assert result.language == "pl"
    assert result.matches[0].resource.slug == "st-marys-food-bank"  # speaks Polish, main category
    assert {m.resource.slug for m in result.matches} >= {"st-marys-food-bank", "community-pantry"}


@pytest.mark.parametrize(
    "question",
    ["landlord wants to evict me", "evicton notice", "czynszu nie mam", "zadluzenie i czynsz",
     "mieszkania szukam", "I can't pay the rnet"],
)  # fmt: skip
def test_typos_inflections_and_missing_diacritics_still_match(
    searcher: Searcher, question: str
) -> None:
    found = slugs(searcher, question)
    assert found, question
    assert searcher.index.resources[0].slug not in found[:1]  # not the food bank


def test_two_needs_rank_a_service_covering_both_first(searcher: Searcher) -> None:
    assert slugs(searcher, "debt and rent arrears")[0] == "debt-clinic"


def test_a_resource_named_outright_is_found(searcher: Searcher) -> None:
    assert slugs(searcher, "samaritans")[0] == "samaritans"
    assert slugs(searcher, "samaratins number")[0] == "samaritans"


@pytest.mark.parametrize("nonsense", ["", "😭😭", "asdkjh qwpoeiru", "the and of", "help", "hello"])
def test_no_confident_match_gives_no_results(searcher: Searcher, nonsense: str) -> None:
    assert slugs(searcher, nonsense) == []


def test_free_only_filter(searcher: Searcher) -> None:
    found = slugs(searcher, "food", filters=Filters(free_only=True))
    assert "community-pantry" not in found and "st-marys-food-bank" in found


def test_open_now_filter_uses_the_towns_clock(searcher: Searcher) -> None:
    assert slugs(searcher, "rent help", filters=Filters(open_now=True), now=TUESDAY_NIGHT) == [
        "housing-advice-line"]  # fmt: skip
    noon = slugs(searcher, "debt", filters=Filters(open_now=True), now=TUESDAY_NOON)
    assert "debt-clinic" not in noon and "community-pantry" in noon


def test_next_opening_is_in_the_towns_time_zone(searcher: Searcher) -> None:
    debt_clinic = next(r for r in RESOURCES if r.slug == "debt-clinic")
    opens = searcher.next_opening(debt_clinic, TUESDAY_NOON)
    assert opens == dt.datetime(2026, 11, 25, 18, 0, tzinfo=LONDON)


def test_area_filter_includes_whole_town_and_national(searcher: Searcher) -> None:
    found = slugs(searcher, "food", filters=Filters(area="mb1"))
    assert found == ["st-marys-food-bank", "community-pantry"]
    assert slugs(searcher, "food", filters=Filters(area="mb3")) == ["community-pantry"]
    assert "housing-advice-line" in slugs(searcher, "rent", filters=Filters(area="mb3"))


def test_staff_language_filter(searcher: Searcher) -> None:
    assert slugs(searcher, "food bank", filters=Filters(speaks="pl")) == ["st-marys-food-bank"]


def test_scores_are_between_0_and_100_best_first(searcher: Searcher) -> None:
    scores = [m.score for m in searcher.search("debt and rent", now=TUESDAY_NOON).matches]
    assert scores == sorted(scores, reverse=True)
    assert all(0 < s < 100 for s in scores)
