"""Folding text for matching: one form for the many ways residents type the same word."""

from __future__ import annotations

import unicodedata

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.search.normalise import fold, has_words, tokens


@pytest.mark.parametrize(
    ("typed", "folded"),
    [
        ("Potrzebuję POMOCY z zadłużeniem!!", "potrzebuje pomocy z zadluzeniem"),
        ("Am nevoie de ajutor cu chiria și țigări", "am nevoie de ajutor cu chiria si tigari"),
        ("Não tenho dinheiro", "nao tenho dinheiro"),
        ("¿Dónde está el banco de alimentos?", "donde esta el banco de alimentos"),
        ("Мені потрібна допомога з їжею", "мені потрібна допомога з іжею"),
        ("м’ясо", "мясо"),  # apostrophes vanish inside words
        ("I'm   not\tOK", "im not ok"),
        ("ＦＵＬＬ　ＷＩＤＴＨ", "full width"),  # NFKC
        ("Straße", "strasse"),  # case folding
        ("e\u0301le\u0300ve", "eleve"),  # combining accents typed separately
        ("help\u200bme\u200d", "helpme"),  # zero-width characters are invisible
        ("stop\u202eevil\u202c", "stopevil"),  # bidi overrides removed
        ("bell\x07\x00end", "bell end"),  # control characters separate words
        ("😭😭 help 🙏", "help"),
    ],
)
def test_latin_and_cyrillic_fold_to_plain_letters(typed: str, folded: str) -> None:
    assert fold(typed) == folded


@pytest.mark.parametrize(
    ("variant", "canonical"),
    [
        ("أريد", "ارید"),  # hamza on alef, Arabic yeh
        ("إلى", "الی"),  # alef maksura
        ("مكتبة", "مکتبه"),  # Arabic kaf and teh marbuta
        ("مُسَاعَدَة", "مساعده"),  # harakat
        ("مســاعدة", "مساعده"),  # tatweel
        ("مجھے", "مجهی"),  # Urdu do-chashmi heh and yeh barree
        ("کہاں", "کهان"),  # heh goal, noon ghunna
        ("٣٤٥", "345"),  # Arabic-Indic digits
    ],
)
def test_arabic_script_variants_are_unified(variant: str, canonical: str) -> None:
    assert fold(variant) == canonical


def test_urdu_typed_on_an_arabic_keyboard_matches_urdu() -> None:
    assert fold("مجهے مدد چاهيے") == fold("مجھے مدد چاہیے")


def test_indic_vowel_signs_are_kept_but_nukta_is_forgiven() -> None:
    assert fold("ਘਰ ਦੀ ਲੋੜ") == "ਘਰ ਦੀ ਲੋੜ"  # vowel signs are letters here
    assert fold("ਖ਼ਾਲਸਾ") == fold("ਖਾਲਸਾ")
    assert fold("ਬਿੱਲ ਨਹੀਂ") == fold("ਬਿਲ ਨਹੀ")  # addak and bindi are often not typed
    assert fold("ਮੈਨੂੰ") == fold("ਮੈਨੂ")  # tippi
    assert fold("চাঁদ") == fold("চাদ")  # chandrabindu
    assert fold("আমার টাকা নেই") == "আমার টাকা নেই"
    assert fold("১২৩") == "123"


def test_tokens_keep_indic_words_whole() -> None:
    assert tokens("আমার খাবার নেই, সাহায্য চাই!") == ["আমার", "খাবার", "নেই", "সাহায্য", "চাই"]


def test_emoji_and_punctuation_alone_have_no_words() -> None:
    assert not has_words("😭😭😭!!! ...")
    assert not has_words("\u200b\u200d")
    assert has_words("ok 👍")


@given(st.text())
def test_folding_is_idempotent(text: str) -> None:
    once = fold(text)
    assert fold(once) == once


@given(st.text())
def test_folded_text_has_no_controls_marks_of_accents_or_extra_spaces(text: str) -> None:
    folded = fold(text)
    assert folded == folded.strip()
    assert "  " not in folded
    for char in folded:
        category = unicodedata.category(char)
        assert category not in ("Cc", "Cf", "Zl", "Zp"), repr(char)
        assert not (0x0300 <= ord(char) <= 0x036F), repr(char)


RESIDENT_LETTERS = (
    "abcdefghijklmnopqrstuvwxyząćęłńóśźżăâîșțãõçñáéíóúàèêôüабвгдеєжзиіїйклмнопрстуфхцчшщьюяґ"
)


@given(st.text(alphabet=RESIDENT_LETTERS, min_size=1, max_size=20))
def test_capitals_never_matter(word: str) -> None:
    assert fold(word.upper()) == fold(word)
