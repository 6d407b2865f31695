"""The application's long-lived parts, built once and shared by the CLI and the bot."""

from __future__ import annotations

import logging
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from bot.catalogue.files import read_catalogue_files
from bot.config import Settings
from bot.db import migrate
from bot.db.catalogue import has_resources, import_catalogue, load_areas, load_catalogue
from bot.db.engine import make_engine, make_session_factory
from bot.safety.detector import CrisisDetector
from bot.safety.lexicon import load_lexicons
from bot.safety.model import CrisisModel, read_examples
from bot.search.detect import LanguageDetective, load_profiles
from bot.search.ranking import Searcher

log = logging.getLogger(__name__)


def build_crisis_detector(settings: Settings) -> CrisisDetector:
    """From files only: crisis detection must work even when the database is down."""
    examples = read_examples(settings.crisis_dir / "examples", settings.languages)
    model = CrisisModel.train_cached(examples, settings.cache_dir) if examples else None
    return CrisisDetector(load_lexicons(settings.crisis_dir, settings.languages), model)


def build_detective(settings: Settings) -> LanguageDetective:
    return LanguageDetective(
        load_profiles(settings.resources_dir / "languages.yaml", settings.languages)
    )


async def seed_catalogue_if_empty(
    sessions: async_sessionmaker[AsyncSession], settings: Settings
) -> bool:
    """Import the shipped catalogue into a database that has none. True if it did."""
    async with sessions() as session:
        if await has_resources(session):
            return False
        files = read_catalogue_files(
            [settings.resources_dir],
            languages=settings.languages,
            known_areas=[a.slug for a in await load_areas(session)],
        )
        report = await import_catalogue(session, files)
        await session.commit()
    log.info("imported the shipped catalogue: %d resources", len(report.created))
    return True


@dataclass
class Tapestry:
    """Settings, database, language detection, crisis detection and search, ready to use."""

    settings: Settings
    engine: AsyncEngine
    sessions: async_sessionmaker[AsyncSession]
    detective: LanguageDetective
    crisis: CrisisDetector
    searcher: Searcher

    async def reload_catalogue(self) -> None:
        """Rebuild search from the database (after admins change the catalogue)."""
        async with self.sessions() as session:
            catalogue = await load_catalogue(session)
        self.searcher = Searcher(catalogue, self.detective, timezone=self.settings.timezone)

    async def close(self) -> None:
        await self.engine.dispose()


async def open_tapestry(settings: Settings, *, prepare: bool = True) -> Tapestry:
    """Build everything; with `prepare`, migrate the database and seed an empty catalogue."""
    crisis = build_crisis_detector(settings)
    detective = build_detective(settings)
    engine = make_engine(settings.database_url)
    try:
        sessions = make_session_factory(engine)
        if prepare:
            await migrate.upgrade(engine)
            await seed_catalogue_if_empty(sessions, settings)
        async with sessions() as session:
            catalogue = await load_catalogue(session)
    except BaseException:
        await engine.dispose()
        raise
    searcher = Searcher(catalogue, detective, timezone=settings.timezone)
    return Tapestry(settings, engine, sessions, detective, crisis, searcher)
