"""The real Alembic migrations, on SQLite and (when configured) PostgreSQL."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import inspect
from sqlmodel import SQLModel

import bot.db.tables  # noqa: F401  (registers the tables)
from bot.db import migrate
from bot.db.engine import make_engine


def _revisions() -> list[str]:
    script = ScriptDirectory.from_config(migrate.alembic_config())
    return [r.revision for r in reversed(list(script.walk_revisions()))]


async def _tables(url: str) -> set[str]:
    engine = make_engine(url)
    try:
        async with engine.connect() as connection:
            return set(await connection.run_sync(lambda c: inspect(c).get_table_names()))
    finally:
        await engine.dispose()


async def test_stairway_every_revision_up_down_up(database_url: str) -> None:
    """Each migration applies, reverts cleanly and applies again, one step at a time."""
    engine = make_engine(database_url)
    try:
        previous = "base"
        for revision in _revisions():
            await migrate.upgrade(engine, revision)
            await migrate.downgrade(engine, previous)
            await migrate.upgrade(engine, revision)
            previous = revision
    finally:
        await engine.dispose()
    assert {"resource", "category", "resident"} <= await _tables(database_url)


async def test_downgrade_to_base_leaves_only_alembic_bookkeeping(database_url: str) -> None:
    engine = make_engine(database_url)
    try:
        await migrate.upgrade(engine)
        await migrate.downgrade(engine, "base")
    finally:
        await engine.dispose()
    assert await _tables(database_url) <= {"alembic_version"}


async def test_models_and_migrations_do_not_drift(database_url: str) -> None:
    """After upgrading to head, the tables are exactly what the SQLModel classes describe."""
    engine = make_engine(database_url)
    try:
        await migrate.upgrade(engine)
        async with engine.connect() as connection:
            differences = await connection.run_sync(
                lambda c: compare_metadata(
                    MigrationContext.configure(c, opts={"compare_type": True}), SQLModel.metadata
                )
            )
    finally:
        await engine.dispose()
    assert differences == []
