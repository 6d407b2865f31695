"""The shape of catalogue records, checked field by field with clear messages."""

from __future__ import annotations

import datetime as dt
import re
from typing import Annotated, Any

from opening_hours import OpeningHours, ParserError  # type: ignore[attr-defined]
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StrictBool,
    StrictInt,
    StringConstraints,
    ValidationInfo,
    field_validator,
    model_validator,
)

from bot.catalogue.model import CATEGORY_SLUGS, NATIONAL, Access, Cost, Referral
from bot.languages import is_known_language

SLUG_PATTERN = r"^[a-z0-9]+(?:-[a-z0-9]+)*$"
Slug = Annotated[str, StringConstraints(pattern=SLUG_PATTERN, max_length=64)]
ShortText = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=160)]
LongText = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=700)]
Term = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=80)]
# Lexicon patterns list alternatives (`kill*|end*|take*`), so they may run longer than a term.
PatternText = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=1000)
]
PHONE_PATTERN = re.compile(r"^\+?[0-9][0-9 ]{1,18}[0-9]$")
EMAIL_PATTERN = re.compile(r"^[^@\s]+@[^@\s]+\.[a-z]{2,}$", re.IGNORECASE)
WEBSITE_PATTERN = re.compile(r"^https?://[^\s/$.?#][^\s]*$", re.IGNORECASE)


def _languages(info: ValidationInfo) -> frozenset[str]:
    context = info.context or {}
    return frozenset(context.get("languages", ()))


def _check_language_keys(value: dict[str, Any], info: ValidationInfo) -> dict[str, Any]:
    allowed = _languages(info)
    for code in value:
        if code not in allowed:
            raise ValueError(
                f"unknown language '{code}' (expected one of {', '.join(sorted(allowed))})"
            )
    return value


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class CategorySpec(_Strict):
    """One category in categories.yaml."""

    name: dict[str, ShortText]
    terms: dict[str, list[Term]] = Field(default_factory=dict)

    _languages = field_validator("name", "terms")(_check_language_keys)

    @field_validator("name")
    @classmethod
    def _english_name(cls, value: dict[str, str]) -> dict[str, str]:
        if "en" not in value:
            raise ValueError("an English name ('en') is required")
        return value


class CategoriesFile(_Strict):
    categories: dict[str, CategorySpec]

    @field_validator("categories")
    @classmethod
    def _all_and_only_known(cls, value: dict[str, CategorySpec]) -> dict[str, CategorySpec]:
        unknown = [slug for slug in value if slug not in CATEGORY_SLUGS]
        if unknown:
            raise ValueError(f"unknown category '{unknown[0]}'")
        missing = [slug for slug in CATEGORY_SLUGS if slug not in value]
        if missing:
            raise ValueError(f"missing categories: {', '.join(missing)}")
        return value


class AreaSpec(_Strict):
    """A part of town; `part_of` names the larger area it lies in (e.g. the whole town)."""

    name: dict[str, ShortText]
    part_of: Slug | None = None

    _languages = field_validator("name")(_check_language_keys)

    @field_validator("name")
    @classmethod
    def _english_name(cls, value: dict[str, str]) -> dict[str, str]:
        if "en" not in value:
            raise ValueError("an English name ('en') is required")
        return value


class AreasFile(_Strict):
    areas: dict[Slug, AreaSpec]

    @model_validator(mode="after")
    def _tree(self) -> AreasFile:
        if NATIONAL in self.areas:
            raise ValueError("'national' is built in; do not define it")
        for slug, area in self.areas.items():
            if area.part_of is not None and area.part_of not in self.areas:
                raise ValueError(f"area '{slug}' is part of unknown area '{area.part_of}'")
        return self


class ResourceSpec(_Strict):
    """One resource record, as written in a catalogue file."""

    slug: Slug
    categories: list[str] = Field(min_length=1, max_length=6)
    name: dict[str, ShortText]
    summary: dict[str, LongText]
    eligibility: dict[str, LongText] = Field(default_factory=dict)
    keywords: dict[str, list[Term]] = Field(default_factory=dict)
    phone: str | None = None
    sms: str | None = None
    email: str | None = None
    website: str | None = None
    address: ShortText | None = None
    postcode: Annotated[str, StringConstraints(max_length=10)] | None = None
    areas: list[Slug] = Field(default_factory=lambda: [NATIONAL], min_length=1)
    languages: list[str] = Field(default_factory=lambda: ["en"], min_length=1)
    interpreter: StrictBool = False
    cost: Cost
    referral: Referral
    min_age: Annotated[StrictInt, Field(ge=0, le=120)] | None = None
    max_age: Annotated[StrictInt, Field(ge=0, le=120)] | None = None
    access: list[Access] = Field(default_factory=list)
    hours: Annotated[str, StringConstraints(strip_whitespace=True, max_length=300)] | None = None
    peer_led: StrictBool = False
    example: StrictBool = False
    archived: StrictBool = False
    last_verified: dt.date | None = None

    _text_languages = field_validator("name", "summary", "eligibility", "keywords")(
        _check_language_keys
    )

    @field_validator("name", "summary")
    @classmethod
    def _english_required(cls, value: dict[str, str]) -> dict[str, str]:
        if "en" not in value:
            raise ValueError("English ('en') is required")
        return value

    @field_validator("categories")
    @classmethod
    def _known_categories(cls, value: list[str]) -> list[str]:
        for slug in value:
            if slug not in CATEGORY_SLUGS:
                raise ValueError(f"unknown category '{slug}'")
        if len(set(value)) != len(value):
            raise ValueError("a category is listed twice")
        return value

    @field_validator("languages")
    @classmethod
    def _known_languages(cls, value: list[str]) -> list[str]:
        for code in value:
            if not is_known_language(code):
                raise ValueError(f"unknown language code '{code}'")
        return value

    @field_validator("phone", "sms")
    @classmethod
    def _phone(cls, value: str | int | None) -> str | None:
        if value is None:
            return None
        text = str(value).strip()
        if not PHONE_PATTERN.match(text):
            raise ValueError(f"'{text}' is not a phone number (digits and spaces, optional +)")
        return text

    @field_validator("email")
    @classmethod
    def _email(cls, value: str | None) -> str | None:
        if value is not None and not EMAIL_PATTERN.match(value):
            raise ValueError(f"'{value}' is not an e-mail address")
        return value

    @field_validator("website")
    @classmethod
    def _website(cls, value: str | None) -> str | None:
        if value is not None and not WEBSITE_PATTERN.match(value):
            raise ValueError(f"'{value}' is not a web address (https://...)")
        return value

    @field_validator("hours")
    @classmethod
    def _opening_hours(cls, value: str | None) -> str | None:
        if value is None:
            return None
        try:
            OpeningHours(value)
        except (ParserError, ValueError) as exc:
            first_line = str(exc).strip().splitlines()[0]
            raise ValueError(f"'{value}' is not valid opening hours ({first_line})") from None
        return value

    @model_validator(mode="after")
    def _ages_in_order(self) -> ResourceSpec:
        if self.min_age is not None and self.max_age is not None and self.min_age > self.max_age:
            raise ValueError("min_age is greater than max_age")
        return self


class ResourcesFile(_Strict):
    resources: list[ResourceSpec] = Field(min_length=1)


class LexiconSpec(_Strict):
    """A crisis lexicon (validated here so `catalogue validate` covers it; loaded by safety)."""

    language: str
    crisis: list[PatternText] = Field(min_length=1)
    concern: list[PatternText] = Field(default_factory=list)
    idioms: list[PatternText] = Field(default_factory=list)
    context: list[PatternText] = Field(default_factory=list)
    present: list[PatternText] = Field(default_factory=list)


class LexiconFile(_Strict):
    crisis_lexicon: LexiconSpec


Word = Annotated[str, StringConstraints(min_length=1, max_length=40)]


class LanguageSpec(_Strict):
    """What language detection knows about one language (resources/languages.yaml)."""

    script: Annotated[str, StringConstraints(pattern=r"^[A-Z]+$")]
    latin_words: list[Word] = Field(default_factory=list)
    function_words: list[Word] = Field(default_factory=list)


class LanguagesFile(_Strict):
    languages: dict[str, LanguageSpec]

    @field_validator("languages")
    @classmethod
    def _configured_languages(
        cls, value: dict[str, LanguageSpec], info: ValidationInfo
    ) -> dict[str, LanguageSpec]:
        missing = sorted(_languages(info) - set(value))
        if missing:
            raise ValueError(f"no entry for configured language(s): {', '.join(missing)}")
        return value
