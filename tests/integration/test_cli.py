"""The `bot` command line as a person uses it: real processes, real files, real exit codes."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from bot.shell import plain
from tests.integration.test_handlers import WELCOME, translated

ROOT = Path(__file__).resolve().parents[2]


def bot(
    *args: str, stdin: str | None = None, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "BOT_TOKEN")}
    return subprocess.run(
        [sys.executable, "-m", "bot", *args], input=stdin, capture_output=True, text=True,
        cwd=ROOT, env={**clean, **(env or {})}, timeout=120,
    )  # fmt: skip


def assert_one_line_error(result: subprocess.CompletedProcess[str], *fragments: str) -> None:
    assert result.returncode == 2, result.stderr
    assert "Traceback" not in result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("bot: error: "), result.stderr
    for fragment in fragments:
        assert fragment in lines[0]


@pytest.fixture(scope="module")
def database(tmp_path_factory: pytest.TempPathFactory) -> str:
    """A database that the first `bot ask` migrates and fills with the shipped catalogue."""
    return f"sqlite:///{tmp_path_factory.mktemp('cli') / 'bot.sqlite3'}"


def test_ask_json_has_the_documented_shape(database: str) -> None:
    result = bot("ask", "Potrzebuję banku żywności", "--json", "--database", database)
    assert result.returncode == 0, result.stderr
    answer = json.loads(result.stdout)
    assert list(answer) == ["language", "crisis", "concern", "results"]
    assert answer["language"] == "pl" and answer["crisis"] is False
    assert 1 <= len(answer["results"]) <= 5
    first = answer["results"][0]
    assert list(first) == ["slug", "categories", "score"] and "food" in first["categories"]
    scores = [r["score"] for r in answer["results"]]
    assert scores == sorted(scores, reverse=True)


def test_ask_flags_a_crisis(database: str) -> None:
    answer = json.loads(
        bot("ask", "I want to kill myself", "--json", "--database", database).stdout
    )
    assert answer["crisis"] is True


def test_ask_in_plain_text_for_people(database: str) -> None:
    result = bot("ask", "where can I get free food", "--database", database)
    assert result.returncode == 0
    assert result.stdout.startswith("language: en\n1. ")


def test_batch_answers_each_line_in_order(database: str, tmp_path: Path) -> None:
    lines = [{"text": "szukam pracy"}, {"text": "rent", "lang": "ro"}, {"text": ""},
             {"text": "😭"}, {"text": "mujhe ghar chahiye"}]  # fmt: skip
    batch = tmp_path / "batch.jsonl"
    batch.write_text("\n".join(json.dumps(x, ensure_ascii=False) for x in lines) + "\n")
    result = bot("ask", "--batch", str(batch), "--json", "--database", database)
    assert result.returncode == 0, result.stderr
    answers = [json.loads(line) for line in result.stdout.splitlines()]
    assert [a["language"] for a in answers] == ["pl", "ro", "en", "en", "ur"]
    assert answers[2]["results"] == [] and answers[3]["results"] == []
    from_stdin = bot(
        "ask", "--batch", "-", "--json", "--database", database, stdin=batch.read_text()
    )
    assert from_stdin.stdout == result.stdout


@pytest.mark.parametrize(
    ("args", "fragments"),
    [
        (("ask", "hello", "--lang", "xx"), ("unknown language 'xx'",)),
        (("ask", "--batch", "missing.jsonl", "--json"), ("missing.jsonl: cannot read",)),
        (("ask",), ("give either TEXT or --batch FILE",)),
        (("ask", "hi", "--database", "mysql://x/y"), ("unsupported database 'mysql'",)),
        (("ask", "hi", "--database", "nonsense"), ("'nonsense' is not a database URL",)),
        (
            ("ask", "hi", "--database", "postgresql://nobody@127.0.0.1:1/none"),
            ("cannot use the database",),
        ),
        (
            ("catalogue", "validate", "no/such/file.yaml"),
            ("no/such/file.yaml:1: no such file or folder",),
        ),
    ],
)
def test_bad_input_gets_one_line_and_no_traceback(
    args: tuple[str, ...], fragments: tuple[str, ...]
) -> None:
    assert_one_line_error(bot(*args), *fragments)


def test_a_bad_batch_line_is_named(tmp_path: Path, database: str) -> None:
    batch = tmp_path / "bad.jsonl"
    batch.write_text('{"text": "ok"}\n\n{"text": 5}\n')
    assert_one_line_error(
        bot("ask", "--batch", str(batch), "--json", "--database", database), f"{batch}:3: expected"
    )


def test_validate_names_the_file_and_line(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("resources:\n  - slug: x\n    categories: [food]\n    cost: 5\n")
    assert_one_line_error(bot("catalogue", "validate", str(bad)), f"{bad}:2: missing field")


def test_a_broken_crisis_example_is_named_not_ignored(tmp_path: Path, database: str) -> None:
    resources = tmp_path / "resources"
    shutil.copytree(ROOT / "resources", resources)
    with (resources / "crisis" / "examples" / "en-a.jsonl").open("a", encoding="utf-8") as file:
        file.write('{"text": "fine", "label": "maybe"}\n')
    result = bot("ask", "hello", "--database", database, env={"RESOURCES_DIR": str(resources)})
    assert_one_line_error(result, "en-a.jsonl:", "crisis, concern or none")


def test_shipped_catalogue_validates() -> None:
    result = bot("catalogue", "validate", "resources")
    assert result.returncode == 0, result.stderr
    assert "22 categories" in result.stdout and "10 crisis lexicons" in result.stdout


def test_import_export_round_trip_through_the_command_line(tmp_path: Path) -> None:
    first = f"sqlite:///{tmp_path / 'one.sqlite3'}"
    imported = bot("catalogue", "import", "resources", "--database", first)
    assert imported.returncode == 0, imported.stderr
    assert " new, 0 updated, 0 unchanged" in imported.stdout
    exported = bot("catalogue", "export", str(tmp_path / "out"), "--database", first)
    assert exported.returncode == 0, exported.stderr
    second = f"sqlite:///{tmp_path / 'two.sqlite3'}"
    again = bot("catalogue", "import", str(tmp_path / "out"), "--database", second)
    assert again.returncode == 0, again.stderr
    partial = bot("catalogue", "import", "resources/catalogue/national.yaml", "--dry-run",
                  "--database", second)  # fmt: skip
    assert "dry run: nothing was written" in partial.stdout
    assert "not in these files, kept live:" in partial.stdout
    assert "add --archive-missing to archive them" in partial.stdout


def test_db_upgrade(tmp_path: Path) -> None:
    result = bot("db", "upgrade", "--database", f"sqlite:///{tmp_path / 'x.sqlite3'}")
    assert result.returncode == 0 and "latest revision" in result.stdout


def test_without_settings_the_database_is_a_sqlite_file_under_data(tmp_path: Path) -> None:
    """The newcomer's path: no DATABASE_URL, run from anywhere, the catalogue appears."""
    clean = {k: v for k, v in os.environ.items() if k != "DATABASE_URL"}
    result = subprocess.run(
        [sys.executable, "-m", "bot", "ask", "food bank", "--json"],
        capture_output=True, text=True, cwd=tmp_path, env=clean, timeout=120,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "data" / "tapestry.sqlite3").exists()
    assert json.loads(result.stdout)["results"][0]["categories"][0] == "food"


def test_shell_chats_through_piped_input_and_exits_at_its_end(tmp_path: Path) -> None:
    database = f"sqlite:///{tmp_path / 'shell.sqlite3'}"
    result = bot(
        "shell", "--lang", "pl", "--database", database,
        stdin="Potrzebuję banku żywności\n2\n\U0001f600\n",
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    out = result.stdout
    greeting = plain(translated("pl", WELCOME)).splitlines()[0]
    assert f"bot> {greeting}" in out  # /start in Polish, sent when the shell opens
    assert "you> Potrzebuję banku żywności" in out
    assert "[1] " in out and "01632 96" in out  # numbered buttons, a local service's phone
    assert out.count("you> ") == 3  # every line read, then a clean exit at the end of input
    assert "Traceback" not in result.stderr


def test_run_without_a_token_says_so_in_one_line() -> None:
    assert_one_line_error(bot("run"), "BOT_TOKEN is not set")
