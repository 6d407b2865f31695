"""Text normalisation for matching: one folded form that typos, accents and script variants share.

Folding is for comparing text, never for showing it: the original is kept for display.
"""

from __future__ import annotations

import unicodedata
from functools import lru_cache

# Arabic-script letters that residents type interchangeably (Arabic vs Urdu keyboards, hamza
# carriers, the many forms of heh and yeh). Everything maps to one letter per family.
_ARABIC_VARIANTS = {
    "أ": "ا",
    "إ": "ا",
    "آ": "ا",
    "ٱ": "ا",
    "ٲ": "ا",
    "ٳ": "ا",
    "ي": "ی",
    "ى": "ی",
    "ې": "ی",
    "ۍ": "ی",
    "ے": "ی",
    "ۓ": "ی",
    "ئ": "ی",
    "ك": "ک",
    "ڪ": "ک",
    "ة": "ه",
    "ۃ": "ه",
    "ہ": "ه",
    "ھ": "ه",
    "ۀ": "ه",
    "ە": "ه",
    "ؤ": "و",
    "ۇ": "و",
    "ں": "ن",  # noon ghunna: often typed as a plain noon
    "ء": "",
    "ـ": "",  # tatweel: stretches words for looks only
}
# Latin letters that carry their mark inside the letter, so NFD cannot take it off.
_LATIN_SPECIALS = {
    "ł": "l",
    "ø": "o",
    "đ": "d",
    "ð": "d",
    "þ": "th",
    "æ": "ae",
    "œ": "oe",
    "ı": "i",
    "ŀ": "l",
}
_APOSTROPHES = "'’‘ʼʻ`´"
# Combining marks that are accents rather than letters: Latin/Cyrillic/Greek accents,
# Arabic harakat and Quranic marks, and the Indic marks residents often leave out when typing:
# nukta, Gurmukhi bindi/tippi (nasal) and addak (doubling), Bengali chandrabindu.
_DROPPED_MARK_RANGES = (
    (0x0300, 0x036F),
    (0x0483, 0x0489),
    (0x064B, 0x065F),
    (0x0670, 0x0670),
    (0x06D6, 0x06ED),
    (0x0A3C, 0x0A3C),
    (0x0A01, 0x0A02),
    (0x0A70, 0x0A71),
    (0x09BC, 0x09BC),
    (0x0981, 0x0981),
    (0x1AB0, 0x1AFF),
    (0x1DC0, 0x1DFF),
    (0x20D0, 0x20FF),
    (0xFE20, 0xFE2F),
)


def _is_dropped_mark(code_point: int) -> bool:
    return any(low <= code_point <= high for low, high in _DROPPED_MARK_RANGES)


def _fold_char(char: str) -> str:
    """What one (already NFKC-normalised, case-folded) character becomes when folded."""
    if char in _ARABIC_VARIANTS:
        return _ARABIC_VARIANTS[char]
    if char in _LATIN_SPECIALS:
        return _LATIN_SPECIALS[char]
    if char in _APOSTROPHES:
        return ""
    category = unicodedata.category(char)
    major = category[0]
    if category == "Cf":
        return ""  # zero-width joiners, bidi controls, soft hyphens: invisible, never a break
    if major == "M":
        return "" if _is_dropped_mark(ord(char)) else char
    if category == "Nd":
        return str(unicodedata.digit(char))
    if major in "LN":
        decomposed = unicodedata.normalize("NFD", char)
        if len(decomposed) > 1:
            kept = "".join(c for c in decomposed if not _is_dropped_mark(ord(c)))
            return unicodedata.normalize("NFC", kept)
        return char
    return " "  # punctuation, symbols, emoji, controls and spaces all separate words


class _FoldTable(dict[int, str]):
    """A str.translate table that works out each character's folding once and remembers it."""

    def __missing__(self, code_point: int) -> str:
        folded = _fold_char(chr(code_point))
        self[code_point] = folded
        return folded


_TABLE = _FoldTable()


def fold(text: str) -> str:
    """Fold text for matching: NFKC, case folding, accents off, script variants unified.

    Words come back separated by single spaces; punctuation, emoji and control
    characters are gone.
    """
    folded = unicodedata.normalize("NFKC", text).casefold().translate(_TABLE)
    return " ".join(unicodedata.normalize("NFC", folded).split())


def tokens(text: str) -> list[str]:
    """The folded words of a text, in order."""
    return fold(text).split()


@lru_cache(maxsize=65536)
def fold_term(text: str) -> str:
    """fold() for the many short, repeated strings of catalogues and lexicons."""
    return fold(text)


def has_words(text: str) -> bool:
    """True when the text holds at least one letter or digit (not only emoji or punctuation)."""
    return bool(fold(text))
