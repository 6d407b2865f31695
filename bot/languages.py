"""The languages Tapestry speaks: names in their own language and writing direction."""

from __future__ import annotations

from functools import cache

from babel import Locale, UnknownLocaleError


@cache
def _locale(code: str) -> Locale | None:
    try:
        return Locale.parse(code)
    except (UnknownLocaleError, ValueError):
        return None


def is_known_language(code: str) -> bool:
    """True for any ISO 639 language code Babel knows (staff may speak Somali or Tigrinya)."""
    return code.isascii() and code.islower() and _locale(code) is not None


@cache
def native_name(code: str) -> str:
    """The language's name written in that language, e.g. 'polski' for pl."""
    locale = _locale(code)
    if locale is None or locale.display_name is None:
        return code
    name = locale.get_display_name(locale) or code
    return name[:1].upper() + name[1:] if locale.character_order == "left-to-right" else name


def english_name(code: str) -> str:
    """The language's English name, for logs and admin views."""
    locale = _locale(code)
    return (locale.get_display_name("en") if locale else None) or code


@cache
def is_rtl(code: str) -> bool:
    """True for right-to-left languages (Arabic, Urdu...)."""
    locale = _locale(code)
    return locale is not None and locale.character_order == "right-to-left"
