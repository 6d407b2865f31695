"""Reading a set of catalogue files into validated catalogue values, all or nothing."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

from bot.catalogue.model import NATIONAL, Area, Category, Resource
from bot.catalogue.schema import (
    AreasFile,
    CategoriesFile,
    LanguagesFile,
    LexiconFile,
    ResourcesFile,
    ResourceSpec,
)
from bot.catalogue.yamlio import CatalogueError, Document, Location, load_document

YAML_SUFFIXES = (".yaml", ".yml")
Schema = TypeVar("Schema", bound=BaseModel)
KINDS: dict[str, type[BaseModel]] = {
    "categories": CategoriesFile,
    "areas": AreasFile,
    "resources": ResourcesFile,
    "crisis_lexicon": LexiconFile,
    "languages": LanguagesFile,
}


@dataclass
class CatalogueFiles:
    """What a set of catalogue files holds, already checked."""

    categories: list[Category] | None = None
    areas: list[Area] | None = None
    resources: list[Resource] = field(default_factory=list)
    archived: set[str] = field(default_factory=set)
    lexicons: list[Path] = field(default_factory=list)
    language_profiles: list[Path] = field(default_factory=list)
    files: list[Path] = field(default_factory=list)


def expand_paths(paths: Iterable[Path]) -> list[Path]:
    """Files as given, and every YAML file below each folder given, in a stable order."""
    found: list[Path] = []
    for path in paths:
        if path.is_dir():
            found.extend(
                sorted(p for p in path.rglob("*") if p.suffix in YAML_SUFFIXES and p.is_file())
            )
        elif path.is_file():
            found.append(path)
        else:
            raise CatalogueError(path, 1, "no such file or folder")
    return found


def _describe(error: dict[str, Any], within: int) -> tuple[Location, str]:
    location: Location = tuple(error["loc"])
    field_path = ".".join(str(part) for part in location[within:])
    kind = error["type"]
    message = str(error["msg"]).removeprefix("Value error, ")
    if kind == "missing":
        return location, f"missing field '{field_path}'"
    if kind == "extra_forbidden":
        return location, f"unknown field '{field_path}'"
    return location, f"{field_path}: {message}" if field_path else message


def validate_document(document: Document, schema: type[Schema], languages: Sequence[str]) -> Schema:
    """Check a parsed file against its schema; the first problem raises `file:line: reason`."""
    try:
        return schema.model_validate(document.data, context={"languages": tuple(languages)})
    except ValidationError as exc:
        first = exc.errors(include_url=False)[0]
        within = 2 if schema is ResourcesFile else 1  # name fields within a resource record
        location, message = _describe(dict(first), within)
        raise document.error(location, message) from None


def _validate(document: Document, languages: Sequence[str]) -> BaseModel:
    data = document.data
    if not isinstance(data, dict) or len(data) != 1 or next(iter(data)) not in KINDS:
        expected = ", ".join(f"'{kind}:'" for kind in KINDS)
        raise CatalogueError(document.path, 1, f"the file must start with one of {expected}")
    return validate_document(document, KINDS[next(iter(data))], languages)


def _to_resource(spec: ResourceSpec) -> Resource:
    return Resource(
        slug=spec.slug,
        categories=tuple(spec.categories),
        name=dict(spec.name),
        summary=dict(spec.summary),
        eligibility=dict(spec.eligibility),
        keywords={lang: tuple(words) for lang, words in spec.keywords.items()},
        phone=spec.phone,
        sms=spec.sms,
        email=spec.email,
        website=spec.website,
        address=spec.address,
        postcode=spec.postcode,
        areas=tuple(spec.areas),
        languages=tuple(spec.languages),
        interpreter=spec.interpreter,
        cost=spec.cost,
        referral=spec.referral,
        min_age=spec.min_age,
        max_age=spec.max_age,
        access=tuple(spec.access),
        hours=spec.hours,
        peer_led=spec.peer_led,
        example=spec.example,
        last_verified=spec.last_verified,
    )


def read_catalogue_files(
    paths: Iterable[Path],
    *,
    languages: Sequence[str],
    known_areas: Iterable[str] = (),
) -> CatalogueFiles:
    """Read and check every file; the first problem raises CatalogueError and nothing is kept."""
    result = CatalogueFiles()
    first_seen: dict[str, str] = {}
    area_uses: list[tuple[Document, Location, str]] = []
    for path in expand_paths(paths):
        document = load_document(path)
        parsed = _validate(document, languages)
        result.files.append(path)
        if isinstance(parsed, CategoriesFile):
            if result.categories is not None:
                raise CatalogueError(path, 1, "categories are defined in more than one file")
            result.categories = [
                Category(
                    slug=slug,
                    names=dict(spec.name),
                    terms={lang: tuple(terms) for lang, terms in spec.terms.items()},
                )
                for slug, spec in parsed.categories.items()
            ]
        elif isinstance(parsed, AreasFile):
            if result.areas is not None:
                raise CatalogueError(path, 1, "areas are defined in more than one file")
            result.areas = [
                Area(slug=slug, names=dict(spec.name), part_of=spec.part_of)
                for slug, spec in parsed.areas.items()
            ]
        elif isinstance(parsed, ResourcesFile):
            for index, spec in enumerate(parsed.resources):
                here = f"{path}:{document.line_of(('resources', index))}"
                if spec.slug in first_seen:
                    raise document.error(
                        ("resources", index, "slug"),
                        f"duplicate slug '{spec.slug}' (first at {first_seen[spec.slug]})",
                    )
                first_seen[spec.slug] = here
                result.resources.append(_to_resource(spec))
                if spec.archived:
                    result.archived.add(spec.slug)
                for position, area in enumerate(spec.areas):
                    area_uses.append((document, ("resources", index, "areas", position), area))
        elif isinstance(parsed, LanguagesFile):
            result.language_profiles.append(path)
        else:
            assert isinstance(parsed, LexiconFile)
            result.lexicons.append(path)

    defined = {area.slug for area in result.areas or ()} | set(known_areas) | {NATIONAL}
    for document, location, area in area_uses:
        if area not in defined:
            raise document.error(location, f"unknown area '{area}'")
    return result
