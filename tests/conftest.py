"""Shared fixtures: settings on the shipped resources, and fresh databases to test against."""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from functools import cache

import asyncpg
import pytest
from sqlalchemy.engine import make_url

from bot.config import Settings
from bot.core import build_crisis_detector, build_detective
from bot.safety.detector import CrisisDetector
from bot.search.detect import LanguageDetective

POSTGRES_URL = os.environ.get("TEST_POSTGRES_URL")
REDIS_URL = os.environ.get("TEST_REDIS_URL")


def database_backends() -> list[str]:
    """SQLite always; PostgreSQL too when TEST_POSTGRES_URL names a server (then it must work)."""
    return ["sqlite", "postgres"] if POSTGRES_URL else ["sqlite"]


@pytest.fixture(scope="session")
def settings() -> Settings:
    return Settings(database_url="sqlite+aiosqlite:///:memory:")


@cache
def _detective() -> LanguageDetective:
    return build_detective(Settings())


@cache
def _crisis() -> CrisisDetector:
    return build_crisis_detector(Settings())


@pytest.fixture(scope="session")
def detective() -> LanguageDetective:
    return _detective()


@pytest.fixture(scope="session")
def crisis_detector() -> CrisisDetector:
    return _crisis()


async def _create_postgres_database() -> str:
    assert POSTGRES_URL is not None
    url = make_url(POSTGRES_URL)
    name = f"tapestry_{uuid.uuid4().hex[:12]}"
    admin = await asyncpg.connect(
        host=url.host, port=url.port or 5432, user=url.username, password=url.password,
        database=url.database or "postgres",
    )  # fmt: skip
    try:
        await admin.execute(f'CREATE DATABASE "{name}"')
    finally:
        await admin.close()
    return url.set(drivername="postgresql+asyncpg", database=name).render_as_string(
        hide_password=False
    )


async def _drop_postgres_database(database_url: str) -> None:
    assert POSTGRES_URL is not None
    url = make_url(POSTGRES_URL)
    admin = await asyncpg.connect(
        host=url.host, port=url.port or 5432, user=url.username, password=url.password,
        database=url.database or "postgres",
    )  # fmt: skip
    try:
        name = make_url(database_url).database
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await admin.close()


DatabaseFactory = Callable[[], Awaitable[str]]


@pytest.fixture(params=database_backends())
async def new_database(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[DatabaseFactory]:
    """Makes new, empty databases on one backend: SQLite files, or fresh PostgreSQL databases."""
    created: list[str] = []

    async def make() -> str:
        if request.param == "sqlite":
            url = f"sqlite+aiosqlite:///{tmp_path_factory.mktemp('db') / 'test.sqlite3'}"
        else:
            url = await _create_postgres_database()
        created.append(url)
        return url

    try:
        yield make
    finally:
        if request.param == "postgres":
            for url in created:
                await _drop_postgres_database(url)


@pytest.fixture
async def database_url(new_database: DatabaseFactory) -> str:
    """A new, empty database for one test."""
    return await new_database()


@pytest.fixture
def clean_env(monkeypatch: pytest.MonkeyPatch, tmp_path: object) -> Iterator[None]:
    """No DATABASE_URL or BOT_TOKEN leaking in from the developer's shell."""
    for name in ("DATABASE_URL", "BOT_TOKEN", "TELEGRAM_API_URL", "WEBHOOK_URL"):
        monkeypatch.delenv(name, raising=False)
    yield
