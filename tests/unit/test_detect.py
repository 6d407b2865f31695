"""Detecting which of the ten languages a resident wrote in."""

from __future__ import annotations

import pytest

from bot.search.detect import LanguageDetective


@pytest.mark.parametrize(
    ("text", "language"),
    [
        ("Potrzebuję pomocy z mieszkaniem", "pl"),
        ("potrzebuje pomocy z mieszkaniem", "pl"),  # no diacritics
        ("Am nevoie de ajutor cu chiria", "ro"),
        ("Preciso de ajuda com a renda", "pt"),
        ("necesito comida para mis hijos", "es"),
        ("I need help with my rent please", "en"),
        ("мені потрібна допомога з житлом", "uk"),
        ("أحتاج مساعدة في السكن", "ar"),
        ("مجھے گھر کی ضرورت ہے", "ur"),
        ("ਮੈਨੂੰ ਘਰ ਚਾਹੀਦਾ ਹੈ", "pa"),
        ("আমার খাবার নেই", "bn"),
        ("mujhe rent ki help chahiye", "ur"),  # romanised Urdu with English words
        ("mainu rent di help chahidi aa", "pa"),  # romanised Punjabi
        ("amar taka nai, khabar kinte parchi na", "bn"),  # romanised Bengali
        ("ana ma3andi akl", "ar"),  # Arabizi
        ("ਮੇਰਾ PIP reject ਹੋ ਗਿਆ, appeal ਕਿਵੇਂ ਕਰਾਂ?", "pa"),  # English loanwords in Gurmukhi
    ],
)
def test_each_language_is_recognised(
    detective: LanguageDetective, text: str, language: str
) -> None:
    assert detective.detect(text) == language


@pytest.mark.parametrize("text", ["ok", "rent", "GP", "111", "😭", "", "?!"])
def test_short_or_wordless_text_keeps_the_residents_language(
    detective: LanguageDetective, text: str
) -> None:
    assert detective.detect(text, fallback="pl") == "pl"


def test_a_different_script_overrides_the_residents_language(detective: LanguageDetective) -> None:
    assert detective.detect("مدد", fallback="en") in ("ar", "ur")
    assert detective.detect("ਮਦਦ", fallback="en") == "pa"
    assert detective.detect("допомога", fallback="en") == "uk"


def test_unknown_fallback_is_ignored(detective: LanguageDetective) -> None:
    assert detective.detect("ok", fallback="xx") == "en"
