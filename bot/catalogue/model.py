"""The catalogue as plain, immutable values: what search, the CLI and the bot all read.

Nothing here knows about YAML, the database or Telegram.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from enum import StrEnum

CATEGORY_SLUGS: tuple[str, ...] = (
    "crisis", "mental-health", "peer-support", "loneliness", "bereavement", "housing", "food",
    "money", "benefits", "work", "legal", "immigration", "domestic-abuse", "substance-use",
    "physical-health", "family", "young-people", "older-people", "lgbtq", "disability", "carers",
    "learning",
)  # fmt: skip
NATIONAL = "national"


class Cost(StrEnum):
    FREE = "free"
    LOW_COST = "low-cost"
    PAID = "paid"


class Referral(StrEnum):
    SELF = "self"
    GP = "gp"
    PROFESSIONAL = "professional"


class Access(StrEnum):
    PHONE = "phone"
    IN_PERSON = "in-person"
    ONLINE = "online"
    TEXT = "text"
    EMAIL = "email"
    DROP_IN = "drop-in"


@dataclass(frozen=True, slots=True)
class Category:
    """One of the fixed categories, with its names and search terms per language."""

    slug: str
    names: dict[str, str]
    terms: dict[str, tuple[str, ...]]


@dataclass(frozen=True, slots=True)
class Area:
    """A part of the town (or 'national') a service covers, named per language."""

    slug: str
    names: dict[str, str]
    part_of: str | None = None


@dataclass(frozen=True, slots=True)
class Resource:
    """One service in the catalogue. Texts are keyed by language code; 'en' always exists."""

    slug: str
    categories: tuple[str, ...]
    name: dict[str, str]
    summary: dict[str, str]
    eligibility: dict[str, str] = field(default_factory=dict)
    keywords: dict[str, tuple[str, ...]] = field(default_factory=dict)
    phone: str | None = None
    sms: str | None = None
    email: str | None = None
    website: str | None = None
    address: str | None = None
    postcode: str | None = None
    areas: tuple[str, ...] = (NATIONAL,)
    languages: tuple[str, ...] = ("en",)
    interpreter: bool = False
    cost: Cost = Cost.FREE
    referral: Referral = Referral.SELF
    min_age: int | None = None
    max_age: int | None = None
    access: tuple[Access, ...] = ()
    hours: str | None = None
    peer_led: bool = False
    example: bool = False
    last_verified: dt.date | None = None

    def text(self, field_name: str, language: str) -> str | None:
        """A translated text in the language asked for, else English."""
        texts: dict[str, str] = getattr(self, field_name)
        return texts.get(language) or texts.get("en")


@dataclass(frozen=True, slots=True)
class Catalogue:
    """Everything search needs: categories, areas and the live (not archived) resources."""

    categories: tuple[Category, ...]
    resources: tuple[Resource, ...]
    areas: tuple[Area, ...] = ()
