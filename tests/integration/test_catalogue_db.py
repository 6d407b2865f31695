"""Importing and exporting the catalogue against a real database (SQLite and PostgreSQL)."""

from __future__ import annotations

import textwrap
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.catalogue.export import write_export
from bot.catalogue.files import read_catalogue_files
from bot.config import DEFAULT_LANGUAGES
from bot.db import migrate
from bot.db.catalogue import (
    CatalogueImportError,
    import_catalogue,
    load_areas,
    load_catalogue,
    load_categories,
    load_resources,
)
from bot.db.engine import make_engine, make_session_factory
from tests.conftest import DatabaseFactory

SHIPPED = Path(__file__).resolve().parents[2] / "resources"


def record(slug: str, category: str = "food", summary: str = "Free food.") -> str:
    return textwrap.dedent(f"""\
      - slug: {slug}
        categories: [{category}]
        name: {{en: "{slug.title()}"}}
        summary: {{en: "{summary}", pl: "Po polsku."}}
        cost: free
        referral: self
        areas: [mb1]
        hours: "Mo-Fr 09:00-17:00"
    """)


def write_resources(directory: Path, name: str, *records: str) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / name
    path.write_text("resources:\n" + "".join(textwrap.indent(r, "  ") for r in records))
    return path


@pytest.fixture
async def sessions(database_url: str) -> AsyncIterator[async_sessionmaker[AsyncSession]]:
    engine = make_engine(database_url)
    await migrate.upgrade(engine)
    try:
        yield make_session_factory(engine)
    finally:
        await engine.dispose()


async def import_paths(sessions: async_sessionmaker[AsyncSession], *paths: Path, **kwargs: bool):  # type: ignore[no-untyped-def]
    async with sessions() as session:
        known = [a.slug for a in await load_areas(session)]
        files = read_catalogue_files(paths, languages=DEFAULT_LANGUAGES, known_areas=known)
        report = await import_catalogue(session, files, **kwargs)
        await session.commit()
    return report


BASE = (SHIPPED / "categories.yaml", SHIPPED / "areas.yaml")


async def test_import_creates_then_reports_unchanged(
    sessions: async_sessionmaker[AsyncSession], tmp_path: Path
) -> None:
    batch = write_resources(tmp_path, "a.yaml", record("alpha"), record("beta"))
    first = await import_paths(sessions, *BASE, batch)
    assert (first.categories, first.created) == (22, ["alpha", "beta"])
    again = await import_paths(sessions, batch)
    assert again.unchanged == ["alpha", "beta"] and not again.created and not again.updated


async def test_import_updates_by_slug_and_keeps_missing_ones_live_unless_asked(
    sessions: async_sessionmaker[AsyncSession], tmp_path: Path
) -> None:
    await import_paths(
        sessions, *BASE, write_resources(tmp_path, "a.yaml", record("alpha"), record("beta"))
    )
    changed = write_resources(tmp_path / "v2", "a.yaml", record("alpha", summary="Hot meals."))
    report = await import_paths(sessions, changed)
    assert report.updated == ["alpha"] and report.would_archive == ["beta"]
    async with sessions() as session:
        live = await load_resources(session)
    assert set(live) == {"alpha", "beta"}  # nothing removed silently
    assert live["alpha"][0].summary["en"] == "Hot meals."

    report = await import_paths(sessions, changed, archive_missing=True)
    assert report.archived == ["beta"]
    async with sessions() as session:
        assert set(await load_resources(session)) == {"alpha"}
        catalogue = await load_catalogue(session)
    assert [r.slug for r in catalogue.resources] == ["alpha"]


async def test_a_failing_import_writes_nothing(
    sessions: async_sessionmaker[AsyncSession], tmp_path: Path
) -> None:
    """Resources that need categories the database lacks are refused as a whole."""
    batch = write_resources(tmp_path, "a.yaml", record("alpha"))
    with pytest.raises(CatalogueImportError, match=r"import categories\.yaml first"):
        await import_paths(sessions, SHIPPED / "areas.yaml", batch)
    async with sessions() as session:
        assert await load_resources(session, include_archived=True) == {}
        assert await load_areas(session) == []


async def test_export_then_import_gives_the_same_database(
    sessions: async_sessionmaker[AsyncSession], new_database: DatabaseFactory, tmp_path: Path
) -> None:
    await import_paths(sessions, SHIPPED)  # the whole shipped catalogue
    await import_paths(
        sessions, write_resources(tmp_path, "x.yaml", record("gone")), archive_missing=False
    )
    async with sessions() as session:
        await import_catalogue(
            session,
            read_catalogue_files([tmp_path / "x.yaml"], languages=DEFAULT_LANGUAGES,
                                 known_areas=["mb1"]),
            archive_missing=True,
        )  # fmt: skip
        await session.commit()
        before = (await load_categories(session), await load_areas(session),
                  await load_resources(session, include_archived=True))  # fmt: skip
    assert any(archived for _, archived in before[2].values())

    out = tmp_path / "export"
    write_export(out, categories=before[0], areas=before[1], resources=before[2].values())

    engine = make_engine(await new_database())
    await migrate.upgrade(engine)
    try:
        copy = make_session_factory(engine)
        await import_paths(copy, out)
        async with copy() as session:
            after = (await load_categories(session), await load_areas(session),
                     await load_resources(session, include_archived=True))  # fmt: skip
    finally:
        await engine.dispose()
    assert after == before


async def test_the_database_serves_exactly_the_shipped_catalogue(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    """Search answers from the database; it must hold what the files say, nothing lost."""
    await import_paths(sessions, SHIPPED)
    files = read_catalogue_files([SHIPPED], languages=DEFAULT_LANGUAGES)
    async with sessions() as session:
        catalogue = await load_catalogue(session)
    assert sorted(catalogue.resources, key=lambda r: r.slug) == sorted(
        files.resources, key=lambda r: r.slug
    )
    assert list(catalogue.categories) == files.categories
    assert sorted(catalogue.areas, key=lambda a: a.slug) == sorted(
        files.areas or [], key=lambda a: a.slug
    )
