"""Alembic environment on SQLModel.metadata, for both the bot (in code) and the alembic CLI."""

from __future__ import annotations

import asyncio

from sqlalchemy.engine import Connection
from sqlmodel import SQLModel

import bot.db.tables  # noqa: F401  (registers the tables on the metadata)
from alembic import context
from bot.config import Settings
from bot.db.engine import make_engine

target_metadata = SQLModel.metadata


def _configure_and_run(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        render_as_batch=connection.dialect.name == "sqlite",  # SQLite alters tables by copying
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


async def _run_with_new_engine(url: str) -> None:
    engine = make_engine(url)
    try:
        async with engine.connect() as connection:
            await connection.run_sync(_configure_and_run)
            await connection.commit()
    finally:
        await engine.dispose()


def run() -> None:
    connection = context.config.attributes.get("connection")
    if connection is not None:  # `bot db upgrade` and the tests hand us their connection
        _configure_and_run(connection)
        return
    url = context.config.get_main_option("sqlalchemy.url") or Settings().database_url
    asyncio.run(_run_with_new_engine(url))


if context.is_offline_mode():
    raise SystemExit("offline (--sql) migrations are not supported; run them against a database")
run()
