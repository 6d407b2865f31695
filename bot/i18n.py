"""Translations: compiling the catalogues, choosing a resident's locale, right-to-left text.

The `.po` files in `locales/` are the source; `.mo` files are built from them (never committed)
by the project's commands and, when missing or older than their `.po`, at start-up.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path

from aiogram.utils.i18n import I18n
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po

from bot.languages import is_rtl

DOMAIN = "messages"

# Unicode isolates: a left-to-right run (a phone number, a time, a Latin name) inside Arabic or
# Urdu text keeps its own order and does not drag the punctuation around it.
FSI, PDI = "\u2068", "\u2069"  # first-strong isolate, pop directional isolate


def compile_translations(locales_dir: Path) -> list[Path]:
    """Build `.mo` next to every `.po` that is newer than it; returns those it (re)built."""
    built = []
    for po_path in sorted(locales_dir.glob(f"*/LC_MESSAGES/{DOMAIN}.po")):
        mo_path = po_path.with_suffix(".mo")
        if mo_path.exists() and mo_path.stat().st_mtime >= po_path.stat().st_mtime:
            continue
        with po_path.open("rb") as source:
            catalog = read_po(source, locale=po_path.parts[-3])
        with mo_path.open("wb") as target:
            write_mo(target, catalog)
        built.append(mo_path)
    return built


def make_i18n(locales_dir: Path, default_locale: str = "en") -> I18n:
    """The gettext catalogues for every language, compiled first if they need it."""
    compile_translations(locales_dir)
    return I18n(path=locales_dir, default_locale=default_locale, domain=DOMAIN)


@contextmanager
def speaking(i18n: I18n, locale: str) -> Iterator[None]:
    """Translate in `locale` inside this block, outside any update (alerts, nudges, start-up)."""
    with i18n.context(), i18n.use_locale(locale):
        yield


def choose_locale(
    stored: str | None, telegram_code: str | None, languages: Iterable[str], default: str
) -> str:
    """The resident's stored choice, else Telegram's language if we speak it, else the default."""
    known = set(languages)
    if stored in known:
        return stored
    if telegram_code:
        base = telegram_code.replace("_", "-").split("-")[0].lower()
        if base in known:
            return base
    return default


def isolate(text: str, locale: str) -> str:
    """Wrap a left-to-right value (phone, time, name) for safe display inside `locale` text."""
    if not is_rtl(locale) or not text:
        return text
    return f"{FSI}{text}{PDI}"
