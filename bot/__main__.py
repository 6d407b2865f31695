"""The `bot` command line: ask, catalogue import/export/validate, db upgrade."""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import sys
from collections.abc import Awaitable, Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TextIO

from sqlalchemy.exc import DBAPIError, OperationalError

from bot.catalogue.export import write_export
from bot.catalogue.files import read_catalogue_files
from bot.catalogue.yamlio import CatalogueError
from bot.config import Settings
from bot.core import Tapestry, open_tapestry
from bot.db import migrate
from bot.db.catalogue import (
    CatalogueImportError,
    ImportReport,
    import_catalogue,
    load_areas,
    load_categories,
    load_resources,
)
from bot.db.engine import DatabaseUrlError, make_engine, make_session_factory
from bot.safety.lexicon import compile_lexicon_file
from bot.safety.model import ExamplesError
from bot.search.ranking import SearchResult

MAX_ASK_CHARS = 4096  # what Telegram allows in one message


class UserError(Exception):
    """Bad input from the person at the keyboard: one line, no traceback, exit code 2."""


@dataclass(frozen=True)
class Query:
    text: str
    lang: str | None


def _settings(args: argparse.Namespace) -> Settings:
    settings = Settings()
    if args.database:
        settings = settings.model_copy(update={"database_url": args.database})
    return settings


def _check_language(settings: Settings, lang: str | None, where: str = "--lang") -> None:
    if lang is not None and lang not in settings.languages:
        choices = ", ".join(settings.languages)
        raise UserError(f"{where}: unknown language '{lang}' (choose from {choices})")


# ---------------------------------------------------------------- ask


def answer_json(app: Tapestry, query: Query, limit: int) -> dict[str, Any]:
    """What the bot would do with a message, in the shape PRODUCT.md fixes."""
    assessment = app.crisis.assess(query.text)
    result = app.searcher.search(query.text, language=query.lang, limit=limit)
    return {
        "language": result.language,
        "crisis": assessment.crisis,
        "concern": assessment.concern,
        "results": [
            {"slug": m.resource.slug, "categories": list(m.resource.categories), "score": m.score}
            for m in result.matches
        ],
    }


def _describe(result: SearchResult, crisis: bool, concern: bool) -> str:
    lines = [f"language: {result.language}"]
    if crisis:
        lines.append("CRISIS: the bot answers at once with the crisis lines (999, 116 123, 85258)")
    elif concern:
        lines.append("concern: the bot asks gently whether they are safe right now")
    if not result.matches:
        lines.append("no confident match: the bot offers the categories instead")
    for rank, match in enumerate(result.matches, 1):
        name = match.resource.text("name", result.language)
        categories = ", ".join(match.resource.categories)
        lines.append(f"{rank}. {name} [{match.resource.slug}] {categories} ({match.score})")
    return "\n".join(lines)


def _read_batch(path: str, settings: Settings) -> list[Query]:
    try:
        stream: TextIO = sys.stdin if path == "-" else open(path, encoding="utf-8")  # noqa: SIM115
    except OSError as exc:
        raise UserError(f"{path}: cannot read ({exc.strerror})") from None
    queries = []
    with stream:
        try:
            for number, line in enumerate(stream, 1):
                if not line.strip():
                    continue
                queries.append(_parse_batch_line(line, f"{path}:{number}", settings))
        except UnicodeDecodeError:
            raise UserError(f"{path}: not UTF-8 text") from None
    return queries


def _parse_batch_line(line: str, where: str, settings: Settings) -> Query:
    try:
        item = json.loads(line)
    except json.JSONDecodeError as exc:
        raise UserError(f"{where}: not JSON ({exc.msg})") from None
    if not isinstance(item, dict) or not isinstance(item.get("text"), str):
        raise UserError(f'{where}: expected {{"text": "...", "lang": "xx"}}')
    lang = item.get("lang")
    if lang is not None and not isinstance(lang, str):
        raise UserError(f"{where}: 'lang' must be a language code")
    _check_language(settings, lang, where)
    return Query(text=item["text"][:MAX_ASK_CHARS], lang=lang)


async def cmd_ask(args: argparse.Namespace) -> int:
    settings = _settings(args)
    if (args.text is None) == (args.batch is None):
        raise UserError("give either TEXT or --batch FILE")
    if args.batch is not None and not args.json:
        raise UserError("--batch writes JSON Lines: add --json")
    if args.limit < 1:
        raise UserError("--limit must be at least 1")
    _check_language(settings, args.lang)
    queries = (
        _read_batch(args.batch, settings)
        if args.batch is not None
        else [Query(text=args.text[:MAX_ASK_CHARS], lang=args.lang)]
    )
    app = await open_tapestry(settings)
    try:
        out = sys.stdout
        for query in queries:
            if args.json:
                out.write(
                    json.dumps(answer_json(app, query, args.limit), ensure_ascii=False) + "\n"
                )
            else:
                result = app.searcher.search(query.text, language=query.lang, limit=args.limit)
                assessment = app.crisis.assess(query.text)
                out.write(_describe(result, assessment.crisis, assessment.concern) + "\n")
        out.flush()
    finally:
        await app.close()
    return 0


# ---------------------------------------------------------------- catalogue


def _print_report(report: ImportReport, *, archive_flag_hint: bool) -> None:
    created, updated, unchanged = len(report.created), len(report.updated), len(report.unchanged)
    print(
        f"categories: {report.categories}, areas: {report.areas}, resources: "
        f"{created} new, {updated} updated, {unchanged} unchanged"
    )
    if report.archived:
        print(f"archived (not in these files): {', '.join(report.archived)}")
    if report.would_archive:
        hint = "; add --archive-missing to archive them" if archive_flag_hint else ""
        print(f"not in these files, kept live: {', '.join(report.would_archive)}{hint}")


async def cmd_catalogue_validate(args: argparse.Namespace) -> int:
    settings = _settings(args)
    files = read_catalogue_files(args.paths, languages=settings.languages)
    for path in files.lexicons:
        compile_lexicon_file(path, settings.languages)
    print(
        f"ok: {len(files.files)} files, {len(files.resources)} resources, "
        f"{len(files.categories or ())} categories, {len(files.areas or ())} areas, "
        f"{len(files.lexicons)} crisis lexicons"
    )
    return 0


async def _with_database(
    args: argparse.Namespace, work: Callable[[Settings, Any], Awaitable[int]]
) -> int:
    settings = _settings(args)
    engine = make_engine(settings.database_url)
    try:
        await migrate.upgrade(engine)
        return await work(settings, make_session_factory(engine))
    finally:
        await engine.dispose()


async def cmd_catalogue_import(args: argparse.Namespace) -> int:
    async def work(settings: Settings, sessions: Any) -> int:
        async with sessions() as session:
            known = [a.slug for a in await load_areas(session)]
            files = read_catalogue_files(
                args.paths, languages=settings.languages, known_areas=known
            )
            report = await import_catalogue(session, files, archive_missing=args.archive_missing)
            if args.dry_run:
                await session.rollback()
                print("dry run: nothing was written")
            else:
                await session.commit()
        _print_report(report, archive_flag_hint=not args.archive_missing)
        return 0

    return await _with_database(args, work)


async def cmd_catalogue_export(args: argparse.Namespace) -> int:
    async def work(settings: Settings, sessions: Any) -> int:
        async with sessions() as session:
            categories = await load_categories(session)
            areas = await load_areas(session)
            resources = await load_resources(session, include_archived=True)
        written = write_export(
            args.directory, categories=categories, areas=areas, resources=resources.values()
        )
        print(f"wrote {', '.join(str(p) for p in written)} ({len(resources)} resources)")
        return 0

    if args.directory.exists() and not args.directory.is_dir():
        raise UserError(f"{args.directory}: exists and is not a folder")
    return await _with_database(args, work)


async def cmd_db_upgrade(args: argparse.Namespace) -> int:
    async def work(settings: Settings, sessions: Any) -> int:
        print("database is at the latest revision")
        return 0

    return await _with_database(args, work)


# ---------------------------------------------------------------- run, shell


async def cmd_run(args: argparse.Namespace) -> int:
    from bot.app import run_bot

    settings = _settings(args)
    if settings.bot_token is None or not settings.bot_token.get_secret_value():
        raise UserError("BOT_TOKEN is not set (try `bot shell`, which needs none)")
    app = await open_tapestry(settings)
    try:
        await run_bot(app)
    finally:
        await app.close()
    return 0


async def cmd_shell(args: argparse.Namespace) -> int:
    from bot.shell import run_shell

    settings = _settings(args)
    _check_language(settings, args.lang)
    app = await open_tapestry(settings)
    try:
        await run_shell(app, args.lang)
    finally:
        await app.close()
    return 0


# ---------------------------------------------------------------- parser


def build_parser() -> argparse.ArgumentParser:
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument(
        "--database", metavar="URL", help="database URL (default: $DATABASE_URL, else ./data/)"
    )
    parser = argparse.ArgumentParser(
        prog="bot", description="Tapestry: local help for residents, in their own language."
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    run = commands.add_parser("run", parents=[common], help="run the Telegram bot")
    run.set_defaults(handler=cmd_run)
    shell = commands.add_parser(
        "shell", parents=[common], help="chat with the bot in this terminal (no token needed)"
    )
    shell.add_argument("--lang", help="the language to start in")
    shell.set_defaults(handler=cmd_shell)

    ask = commands.add_parser("ask", parents=[common], help="what the bot would do with a message")
    ask.add_argument("text", nargs="?", metavar="TEXT", help="the message")
    ask.add_argument("--lang", help="the resident's chosen language (fallback for short text)")
    ask.add_argument("--json", action="store_true", help="print JSON (one object per message)")
    ask.add_argument(
        "--batch", metavar="FILE", help='JSON Lines of {"text": ..., "lang": ...}; "-" is stdin'
    )
    ask.add_argument("--limit", type=int, default=5, help="results per message (default 5)")
    ask.set_defaults(handler=cmd_ask)

    catalogue = commands.add_parser("catalogue", help="import, export or validate the catalogue")
    actions = catalogue.add_subparsers(dest="action", required=True, metavar="ACTION")
    imp = actions.add_parser("import", parents=[common], help="import YAML files or folders")
    imp.add_argument("paths", nargs="+", type=Path, metavar="PATH")
    imp.add_argument("--archive-missing", action="store_true",
                     help="archive live resources that are not in these files")  # fmt: skip
    imp.add_argument("--dry-run", action="store_true", help="check and report, write nothing")
    imp.set_defaults(handler=cmd_catalogue_import)
    exp = actions.add_parser("export", parents=[common], help="write the catalogue as YAML")
    exp.add_argument("directory", type=Path, metavar="DIR")
    exp.set_defaults(handler=cmd_catalogue_export)
    val = actions.add_parser("validate", parents=[common], help="check files, write nothing")
    val.add_argument("paths", nargs="+", type=Path, metavar="PATH")
    val.set_defaults(handler=cmd_catalogue_validate)

    db = commands.add_parser("db", help="database maintenance")
    db_actions = db.add_subparsers(dest="action", required=True, metavar="ACTION")
    upgrade = db_actions.add_parser(
        "upgrade", parents=[common], help="migrate to the latest revision"
    )
    upgrade.set_defaults(handler=cmd_db_upgrade)
    return parser


def _user_errors(exc: BaseException) -> Iterator[str]:
    errors = UserError | CatalogueError | CatalogueImportError | DatabaseUrlError | ExamplesError
    if isinstance(exc, errors):
        yield str(exc)
    elif isinstance(exc, OperationalError | DBAPIError | OSError | ConnectionError):
        reason = str(getattr(exc, "orig", None) or exc).strip().splitlines()[0]
        yield f"cannot use the database: {reason}"


def main(argv: Sequence[str] | None = None) -> int:
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    args = build_parser().parse_args(argv)
    try:
        return int(asyncio.run(args.handler(args)))
    except KeyboardInterrupt:
        return 130
    except Exception as exc:
        message = next(_user_errors(exc), None)
        if message is None:
            raise
        print(f"bot: error: {message}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
