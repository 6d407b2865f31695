"""Synthetic catalogues for benchmarks: the shipped catalogue plus N made-up resources."""

from __future__ import annotations

import random
from pathlib import Path

import yaml

from bot.catalogue.model import CATEGORY_SLUGS

PLACES = [
    "Northgate",
    "Eastfield",
    "Riverside",
    "Westbury",
    "Millbrook",
    "Old Town",
    "Hillcrest",
    "Brookside",
    "Kingsway",
    "Station Road",
    "Market Street",
    "Church Lane",
    "Parkview",
]
KINDS = {
    "food": ["Food Bank", "Community Pantry", "Soup Kitchen", "Community Fridge", "Lunch Club"],
    "housing": ["Housing Advice", "Tenants Union", "Night Shelter", "Homeless Drop-in"],
    "money": ["Debt Advice", "Money Clinic", "Energy Advice Project", "Budgeting Service"],
    "benefits": ["Benefits Clinic", "Welfare Rights Service", "Appeals Support"],
    "work": ["Job Club", "Employment Hub", "CV Workshop", "Careers Service"],
    "mental-health": ["Counselling Service", "Wellbeing Hub", "Talking Therapies", "Calm Space"],
    "peer-support": ["Peer Group", "Hearing Voices Group", "Recovery Circle"],
    "loneliness": ["Befriending Scheme", "Friendship Cafe", "Social Club"],
    "bereavement": ["Grief Cafe", "Bereavement Support", "Loss Group"],
}
GENERIC = ["Community Project", "Support Centre", "Advice Service", "Drop-in", "Trust"]
ACCESS = ["phone", "in-person", "online", "text", "email", "drop-in"]
HOURS = ["Mo-Fr 09:00-17:00", "Tu,Th 10:00-14:00", "24/7", "We 18:00-20:00; Sa 10:00-13:00",
         "Mo-Sa 09:00-12:30,13:30-17:00"]  # fmt: skip
LANGS = ["en", "pl", "ro", "pa", "ur", "pt", "es", "ar", "bn", "uk", "so", "fa"]


def synthetic_resources(count: int, seed: int = 7) -> list[dict[str, object]]:
    """`count` plausible, clearly synthetic resource records."""
    rng = random.Random(seed)
    categories = yaml.safe_load(Path("resources/categories.yaml").read_text())["categories"]
    records = []
    for n in range(count):
        main = rng.choice(CATEGORY_SLUGS)
        cats = [main, *rng.sample([c for c in CATEGORY_SLUGS if c != main], rng.randint(0, 2))]
        kind = rng.choice(KINDS.get(main, GENERIC))
        place = rng.choice(PLACES)
        terms = categories[main]["terms"]
        keyword_lang = rng.choice(list(terms))
        records.append({
            "slug": f"synthetic-{n:05d}",
            "example": True,
            "categories": cats,
            "name": {"en": f"{place} {kind} {n}"},
            "summary": {"en": f"{kind} in {place}: {', '.join(rng.sample(terms['en'], 3))}."},
            "keywords": {keyword_lang: rng.sample(terms[keyword_lang], 3)},
            "phone": f"01632 9{n % 100000:05d}",
            "areas": [rng.choice(["mb1", "mb2", "mb3", "mb4", "mb5", "millbrook"])],
            "languages": sorted({"en", *rng.sample(LANGS, rng.randint(0, 3))}),
            "cost": rng.choice(["free", "free", "free", "low-cost", "paid"]),
            "referral": rng.choice(["self", "self", "gp", "professional"]),
            "access": rng.sample(ACCESS, 2),
            "hours": rng.choice(HOURS),
        })  # fmt: skip
    return records


def write_synthetic(directory: Path, count: int, per_file: int = 2000) -> Path:
    """A folder of YAML files holding `count` synthetic resources (files stay under the limit)."""
    folder = directory / f"synthetic-{count}"
    folder.mkdir(parents=True, exist_ok=True)
    records = synthetic_resources(count)
    for start in range(0, count, per_file):
        chunk = {"resources": records[start : start + per_file]}
        (folder / f"part-{start // per_file:03d}.yaml").write_text(
            yaml.safe_dump(chunk, allow_unicode=True)
        )
    return folder
