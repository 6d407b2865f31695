"""Catalogue queries: load it for search, import files into it, read it back for export."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa
from sqlalchemy import delete, insert, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import SQLModel, col, select

from bot.catalogue.files import CatalogueFiles
from bot.catalogue.model import Access, Area, Catalogue, Category, Cost, Referral, Resource
from bot.db.tables import (
    AreaRow,
    CategoryNameRow,
    CategoryRow,
    CategoryTermRow,
    ResourceCategoryRow,
    ResourceRow,
    ResourceTextRow,
    utcnow,
)


class CatalogueImportError(ValueError):
    """The files are valid on their own but cannot go into this database."""


@dataclass
class ImportReport:
    """What an import did (or, for a dry run, would do)."""

    created: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    archived: list[str] = field(default_factory=list)
    would_archive: list[str] = field(default_factory=list)
    categories: int = 0
    areas: int = 0


async def load_categories(session: AsyncSession) -> list[Category]:
    names: dict[str, dict[str, str]] = defaultdict(dict)
    for row in (await session.execute(select(CategoryNameRow))).scalars():
        names[row.category_slug][row.language] = row.name
    terms: dict[str, dict[str, list[str]]] = defaultdict(lambda: defaultdict(list))
    term_rows = await session.execute(select(CategoryTermRow).order_by(col(CategoryTermRow.id)))
    for term in term_rows.scalars():
        terms[term.category_slug][term.language].append(term.term)
    categories = (
        await session.execute(select(CategoryRow).order_by(col(CategoryRow.position)))
    ).scalars()
    return [
        Category(
            slug=c.slug,
            names=dict(names[c.slug]),
            terms={lang: tuple(words) for lang, words in terms[c.slug].items()},
        )
        for c in categories
    ]


async def load_areas(session: AsyncSession) -> list[Area]:
    rows = (await session.execute(select(AreaRow).order_by(col(AreaRow.slug)))).scalars()
    return [Area(slug=row.slug, names=dict(row.names), part_of=row.part_of) for row in rows]


async def load_resources(
    session: AsyncSession, *, include_archived: bool = False
) -> dict[str, tuple[Resource, bool]]:
    """Resources by slug, each with whether it is archived.

    Read as plain rows, not ORM objects: a catalogue of 10,000 resources loads in a fraction
    of the time and memory.
    """
    resource = SQLModel.metadata.tables[ResourceRow.__tablename__]
    query = sa.select(resource).order_by(resource.c.slug)
    if not include_archived:
        query = query.where(resource.c.archived_at.is_(None))
    rows = (await session.execute(query)).mappings().all()
    categories: dict[int, list[tuple[int, str]]] = defaultdict(list)
    texts: dict[int, list[Any]] = defaultdict(list)
    if rows:
        links = SQLModel.metadata.tables[ResourceCategoryRow.__tablename__]
        for link in (await session.execute(sa.select(links))).all():
            categories[link.resource_id].append((link.position, link.category_slug))
        text_table = SQLModel.metadata.tables[ResourceTextRow.__tablename__]
        for text in (await session.execute(sa.select(text_table))).all():
            texts[text.resource_id].append(text)
    result: dict[str, tuple[Resource, bool]] = {}
    for row in rows:
        by_language = texts[row["id"]]
        loaded = Resource(
            slug=row["slug"],
            categories=tuple(slug for _, slug in sorted(categories[row["id"]])),
            name={t.language: t.name for t in by_language if t.name},
            summary={t.language: t.summary for t in by_language if t.summary},
            eligibility={t.language: t.eligibility for t in by_language if t.eligibility},
            keywords={t.language: tuple(t.keywords) for t in by_language if t.keywords},
            phone=row["phone"],
            sms=row["sms"],
            email=row["email"],
            website=row["website"],
            address=row["address"],
            postcode=row["postcode"],
            areas=tuple(row["areas"]),
            languages=tuple(row["languages"]),
            interpreter=row["interpreter"],
            cost=Cost(row["cost"]),
            referral=Referral(row["referral"]),
            min_age=row["min_age"],
            max_age=row["max_age"],
            access=tuple(Access(a) for a in row["access"]),
            hours=row["hours"],
            peer_led=row["peer_led"],
            example=row["example"],
            last_verified=row["last_verified"],
        )
        result[row["slug"]] = (loaded, row["archived_at"] is not None)
    return result


async def load_catalogue(session: AsyncSession) -> Catalogue:
    """The live catalogue, as search and the bot use it."""
    resources = await load_resources(session)
    return Catalogue(
        categories=tuple(await load_categories(session)),
        resources=tuple(resource for resource, _ in resources.values()),
        areas=tuple(await load_areas(session)),
    )


async def has_resources(session: AsyncSession) -> bool:
    """Whether the catalogue holds any resource at all (archived ones included)."""
    rows = await session.execute(select(col(ResourceRow.id)).limit(1))
    return rows.first() is not None


async def _replace_categories(session: AsyncSession, categories: list[Category]) -> None:
    existing = set((await session.execute(select(col(CategoryRow.slug)))).scalars())
    for position, category in enumerate(categories):
        if category.slug in existing:
            await session.execute(
                update(CategoryRow)
                .where(col(CategoryRow.slug) == category.slug)
                .values(position=position)
            )
        else:
            session.add(CategoryRow(slug=category.slug, position=position))
    await session.flush()
    await session.execute(delete(CategoryNameRow))
    await session.execute(delete(CategoryTermRow))
    names = [
        {"category_slug": c.slug, "language": lang, "name": name}
        for c in categories
        for lang, name in c.names.items()
    ]
    terms = [
        {"category_slug": c.slug, "language": lang, "term": term}
        for c in categories
        for lang, words in c.terms.items()
        for term in dict.fromkeys(words)  # the same word twice in a list is harmless; keep one
    ]
    if names:
        await session.execute(insert(CategoryNameRow), names)
    if terms:
        await session.execute(insert(CategoryTermRow), terms)


async def _upsert_areas(session: AsyncSession, areas: list[Area]) -> None:
    existing = {row.slug: row for row in (await session.execute(select(AreaRow))).scalars()}
    for area in areas:
        if area.slug in existing:
            existing[area.slug].names = dict(area.names)
            existing[area.slug].part_of = area.part_of
        else:
            session.add(AreaRow(slug=area.slug, names=dict(area.names), part_of=area.part_of))
    await session.flush()


def _row_values(resource: Resource) -> dict[str, object]:
    return {
        "phone": resource.phone,
        "sms": resource.sms,
        "email": resource.email,
        "website": resource.website,
        "address": resource.address,
        "postcode": resource.postcode,
        "areas": list(resource.areas),
        "languages": list(resource.languages),
        "interpreter": resource.interpreter,
        "cost": resource.cost.value,
        "referral": resource.referral.value,
        "min_age": resource.min_age,
        "max_age": resource.max_age,
        "access": [a.value for a in resource.access],
        "hours": resource.hours,
        "peer_led": resource.peer_led,
        "example": resource.example,
        "last_verified": resource.last_verified,
    }


def _text_rows(resource_id: int, resource: Resource) -> list[dict[str, object]]:
    languages = (
        set(resource.name)
        | set(resource.summary)
        | set(resource.eligibility)
        | set(resource.keywords)
    )
    return [
        {
            "resource_id": resource_id,
            "language": lang,
            "name": resource.name.get(lang),
            "summary": resource.summary.get(lang),
            "eligibility": resource.eligibility.get(lang),
            "keywords": list(resource.keywords.get(lang, ())),
        }
        for lang in sorted(languages)
    ]


async def _write_resource(
    session: AsyncSession, resource: Resource, existing_id: int | None, archived: bool
) -> None:
    values = {**_row_values(resource), "updated_at": utcnow(),
              "archived_at": utcnow() if archived else None}  # fmt: skip
    if existing_id is None:
        result = await session.execute(
            insert(ResourceRow).values(slug=resource.slug, **values).returning(col(ResourceRow.id))
        )
        resource_id: int = result.scalar_one()  # type: ignore[assignment]  # never NULL once inserted
    else:
        resource_id = existing_id
        await session.execute(
            update(ResourceRow).where(col(ResourceRow.id) == resource_id).values(**values)
        )
        await session.execute(
            delete(ResourceTextRow).where(col(ResourceTextRow.resource_id) == resource_id)
        )
        await session.execute(
            delete(ResourceCategoryRow).where(col(ResourceCategoryRow.resource_id) == resource_id)
        )
    await session.execute(insert(ResourceTextRow), _text_rows(resource_id, resource))
    await session.execute(
        insert(ResourceCategoryRow),
        [
            {"resource_id": resource_id, "category_slug": slug, "position": position}
            for position, slug in enumerate(resource.categories)
        ],
    )


async def import_catalogue(
    session: AsyncSession, files: CatalogueFiles, *, archive_missing: bool = False
) -> ImportReport:
    """Write checked files into the database. The caller commits (or rolls back) once."""
    report = ImportReport()
    if files.categories is not None:
        await _replace_categories(session, files.categories)
        report.categories = len(files.categories)
    if files.areas is not None:
        await _upsert_areas(session, files.areas)
        report.areas = len(files.areas)

    known_categories = set((await session.execute(select(col(CategoryRow.slug)))).scalars())
    for resource in files.resources:
        missing = [slug for slug in resource.categories if slug not in known_categories]
        if missing:
            raise CatalogueImportError(
                f"resource '{resource.slug}' uses category '{missing[0]}', which this database "
                "does not have yet: import categories.yaml first (or together)"
            )

    current = await load_resources(session, include_archived=True)
    rows = await session.execute(select(col(ResourceRow.slug), col(ResourceRow.id)))
    ids: dict[str, int] = {slug: resource_id for slug, resource_id in rows.all() if resource_id}
    for resource in files.resources:
        archived = resource.slug in files.archived
        before = current.get(resource.slug)
        if before is None:
            report.created.append(resource.slug)
        elif before == (resource, archived):
            report.unchanged.append(resource.slug)
            continue
        else:
            report.updated.append(resource.slug)
        await _write_resource(session, resource, ids.get(resource.slug), archived)

    incoming = {resource.slug for resource in files.resources}
    missing_live = sorted(
        slug for slug, (_, archived) in current.items() if slug not in incoming and not archived
    )
    if files.resources or archive_missing:
        if archive_missing:
            await _archive(session, missing_live)
            report.archived = missing_live
        else:
            report.would_archive = missing_live
    await session.flush()
    return report


async def _archive(session: AsyncSession, slugs: Iterable[str]) -> None:
    slugs = list(slugs)
    if slugs:
        await session.execute(
            update(ResourceRow).where(col(ResourceRow.slug).in_(slugs)).values(archived_at=utcnow())
        )
