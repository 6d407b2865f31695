"""Every string the bot can say exists, complete and well-formed, in all ten languages."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from babel.messages.catalog import Catalog
from babel.messages.pofile import read_po

from bot.config import Settings

ROOT = Path(__file__).resolve().parents[2]
LOCALES = ROOT / "locales"
LANGUAGES = Settings().languages
PLACEHOLDER = re.compile(r"\{[a-z_]*\}")
TAG = re.compile(r"</?[a-z]+[^>]*>")
COMMAND = re.compile(r"(?<![\w/])/[a-z]+\b")


def catalog(path: Path, locale: str | None = None) -> Catalog:
    with path.open("rb") as file:
        return read_po(file, locale=locale)


def messages(language: str) -> list[tuple[str, str, bool]]:
    """(msgid, msgstr, fuzzy) for every message of a language."""
    po = catalog(LOCALES / language / "LC_MESSAGES" / "messages.po", language)
    return [(str(m.id), str(m.string or ""), m.fuzzy) for m in po if m.id]


def test_the_template_holds_every_string_in_the_code(tmp_path: Path) -> None:
    fresh = tmp_path / "messages.pot"
    subprocess.run(
        [sys.executable, "-m", "babel.messages.frontend", "extract", "-F", "babel.cfg",
         "-o", str(fresh), "bot"],
        cwd=ROOT, check=True, capture_output=True,
    )  # fmt: skip
    in_code = {m.id for m in catalog(fresh) if m.id}
    in_template = {m.id for m in catalog(LOCALES / "messages.pot") if m.id}
    assert in_code == in_template, "run: python3 dev.py i18n extract && python3 dev.py i18n update"


@pytest.mark.parametrize("language", LANGUAGES)
def test_msgfmt_accepts_the_catalogue(language: str, tmp_path: Path) -> None:
    msgfmt = shutil.which("msgfmt")
    assert msgfmt, "msgfmt (gettext) is needed to check translations"
    po = LOCALES / language / "LC_MESSAGES" / "messages.po"
    result = subprocess.run(
        [msgfmt, "--check", "-o", str(tmp_path / "out.mo"), str(po)],
        capture_output=True, text=True,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr


@pytest.mark.parametrize("language", LANGUAGES)
def test_every_message_is_translated_and_none_is_fuzzy(language: str) -> None:
    template = {m.id for m in catalog(LOCALES / "messages.pot") if m.id}
    found = messages(language)
    assert {msgid for msgid, _, _ in found} >= template, "run: python3 dev.py i18n update"
    missing = [msgid for msgid, msgstr, _ in found if msgid in template and not msgstr.strip()]
    fuzzy = [msgid for msgid, _, is_fuzzy in found if msgid in template and is_fuzzy]
    assert not missing, f"untranslated in {language}: {missing}"
    assert not fuzzy, f"fuzzy in {language}: {fuzzy}"


@pytest.mark.parametrize("language", LANGUAGES)
def test_placeholders_tags_and_commands_survive_translation(language: str) -> None:
    wrong = []
    for msgid, msgstr, _ in messages(language):
        for name, pattern in (("placeholders", PLACEHOLDER), ("tags", TAG), ("commands", COMMAND)):
            if sorted(pattern.findall(msgid)) != sorted(pattern.findall(msgstr)):
                wrong.append(f"{name}: {msgid!r} -> {msgstr!r}")
    assert not wrong, "\n".join(wrong)


@pytest.mark.parametrize("language", [lang for lang in LANGUAGES if lang != "en"])
def test_translations_are_not_left_in_english(language: str) -> None:
    """A translation equal to its English source is only right for names and numbers."""
    same = [
        msgid
        for msgid, msgstr, _ in messages(language)
        if msgstr == msgid and re.search(r"[a-z]{3}", PLACEHOLDER.sub("", msgid))
    ]
    assert not same, f"{language} keeps English: {same}"
