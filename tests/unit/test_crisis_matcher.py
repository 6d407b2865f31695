"""The crisis matcher's rules, on a small hand-written lexicon (the shipped ones are in eval/)."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from bot.catalogue.yamlio import CatalogueError
from bot.config import DEFAULT_LANGUAGES
from bot.safety.detector import CrisisDetector, Level
from bot.safety.lexicon import LexiconError, Section, compile_pattern, load_lexicons

LEXICON = {
    Section.CRISIS: ["kill* myself", "want*|wanna die", "suicidal", "*نتحر*", "nu-mi viata",
                     "suicid*", "me cortar*"],
    Section.CONCERN: ["cant cope", "no way out"],
    Section.IDIOMS: ["dying of boredom", "killing me"],
    Section.CONTEXT: ["film*", "years ago", "bereaved by suicide", "acum ani"],
    Section.PRESENT: ["tonight", "again", "now", "acum"],
}  # fmt: skip


@pytest.fixture(scope="module")
def detector() -> CrisisDetector:
    patterns = [
        compile_pattern(text, language="en", section=section)
        for section, texts in LEXICON.items()
        for text in texts
    ]
    return CrisisDetector(patterns)


@pytest.mark.parametrize(
    "text",
    [
        "I want to kill myself",
        "KILLING MYSELF tonight",  # stem and case
        "myself... I will kill",  # any order within the window
        "i wanna die",
        "i want so badly to die",  # words in between
        "I'm suicidl",  # a typo in a long word
        "سأنتحر الليلة",  # contains-pattern for Arabic clitics
        "nu-mi mai doresc viata",  # a token with punctuation inside
    ],
)
def test_crisis_phrases_are_caught_however_typed(detector: CrisisDetector, text: str) -> None:
    assert detector.assess(text).level is Level.CRISIS


@pytest.mark.parametrize(
    "text",
    [
        "",
        "😭😭😭",
        "kill the spider, then tell myself a story about the garden we planted last spring",
        "I want a coffee and I do not know why plants die",  # want ... die: too far apart
        "im dying of boredom in this queue",
        "this queue is killing me",
    ],
)
def test_ordinary_messages_are_not_alarms(detector: CrisisDetector, text: str) -> None:
    assert detector.assess(text).level is Level.NONE


def test_an_idiom_cancels_only_what_it_overlaps(detector: CrisisDetector) -> None:
    assert detector.assess("dying of boredom, and I want to die").level is Level.CRISIS


def test_past_or_media_mentions_become_a_gentle_question(detector: CrisisDetector) -> None:
    assert detector.assess("years ago I wanted to kill myself").level is Level.CONCERN
    assert detector.assess("in the film he says I want to die").level is Level.CONCERN
    assert detector.assess("years ago I wanted to die and tonight again").level is Level.CRISIS
    assert detector.assess("a film about how I cant cope").level is Level.NONE


def test_past_and_present_are_judged_clause_by_clause(detector: CrisisDetector) -> None:
    assert detector.assess("Years ago I was suicidal, I'm doing well now").level is Level.CONCERN
    assert detector.assess("years ago I was suicidal. Now I want to die").level is Level.CRISIS


def test_a_present_word_inside_a_past_phrase_is_the_past(detector: CrisisDetector) -> None:
    """Romanian 'acum doi ani' is 'two years ago', though 'acum' alone is 'now'."""
    assert detector.assess("acum doi ani eram suicidal").level is Level.CONCERN


def test_a_context_phrase_around_the_alarm_word_cancels_it(detector: CrisisDetector) -> None:
    assert detector.assess("is there a group for people bereaved by suicide?").level is Level.NONE


def test_stem_typos_never_touch_the_inflected_ending(detector: CrisisDetector) -> None:
    assert detector.assess("I feel sucidal").level is Level.CRISIS  # a typo early in the stem
    assert detector.assess("me cortaria").level is Level.CRISIS
    assert detector.assess("eu me cortava").level is Level.NONE  # a past form, not a typo


def test_hopelessness_with_an_imminent_time_is_a_crisis(detector: CrisisDetector) -> None:
    assert detector.assess("I cant cope, there is no way out").level is Level.CONCERN
    assert detector.assess("I cant cope tonight").level is Level.CRISIS
    assert detector.assess("I cant cope. Tonight I go out with friends").level is Level.CONCERN


def test_concern_is_graded_below_crisis(detector: CrisisDetector) -> None:
    assessment = detector.assess("I just cant cope, there is no way out")
    assert assessment.level is Level.CONCERN
    assert assessment.reasons == ("en:concern:cant cope", "en:concern:no way out")


def test_a_wall_of_repeated_words_is_assessed_quickly(detector: CrisisDetector) -> None:
    assert detector.assess("die want " * 5000).level is Level.CRISIS


def test_a_detector_without_crisis_patterns_refuses_to_start() -> None:
    concern_only = [compile_pattern("cant cope", language="en", section=Section.CONCERN)]
    with pytest.raises(ValueError, match="no crisis patterns"):
        CrisisDetector(concern_only)


@pytest.mark.parametrize("bad", ["ki* myself", "*a* die", "***", "a|| b", "nu-mi*"])
def test_patterns_that_would_misfire_are_refused(bad: str) -> None:
    with pytest.raises(LexiconError):
        compile_pattern(bad, language="en", section=Section.CRISIS)


def test_a_bad_lexicon_file_names_its_line(tmp_path: Path) -> None:
    (tmp_path / "en.yaml").write_text(
        textwrap.dedent("""\
        crisis_lexicon:
          language: en
          crisis:
            - kill* myself
            - ki* myself
    """)
    )
    with pytest.raises(CatalogueError, match=r"en\.yaml:5: 'ki\*': a stem needs at least 3"):
        load_lexicons(tmp_path, DEFAULT_LANGUAGES)


def test_typos_never_turn_a_word_into_an_idiom_or_a_past_marker(detector: CrisisDetector) -> None:
    """Only alarms are found through typos: 'yeers ago' does not make a crisis a memory."""
    assert detector.assess("yeers ago I wanted to die").level is Level.CRISIS
    assert detector.assess("years ago I wanted to die").level is Level.CONCERN
