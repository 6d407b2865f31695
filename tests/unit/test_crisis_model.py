"""The learned second opinion: what it learns, and how it may (and may not) change a grade."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from bot.safety.detector import CrisisDetector, Level
from bot.safety.lexicon import Section, compile_pattern
from bot.safety.model import CrisisModel, Example, ExamplesError, read_examples

# A toy world: farewells are crises, tiredness and idioms are not. Enough lines for the model
# to learn the words, none of them the exact lines the tests ask about.
FAREWELLS = [
    "I've written letters for everyone, goodbye",
    "goodbye everyone, this is my last message",
    "tell my mum I love her, goodbye forever",
    "i gave my cat to my neighbour, you won't see me again",
    "this is goodbye, the letters are on the table",
    "last message from me, look after my kids",
    "you won't see me again after tonight, goodbye",
    "my letters are written and my things given away",
]
EVERYDAY = [
    "I'm tired after work today",
    "where is the food bank on saturday",
    "my feet are tired, long shift",
    "can I see a GP this week",
    "tired of the rain honestly",
    "what time does the library open",
    "the bus was late again, so tired",
    "is the advice centre open on monday",
]


def examples() -> list[Example]:
    return [Example(text, "crisis", "en") for text in FAREWELLS] + [
        Example(text, "none", "en") for text in EVERYDAY
    ]


@pytest.fixture(scope="module")
def model() -> CrisisModel:
    return CrisisModel.train(examples(), steps=300)


def lexicon_detector(model: CrisisModel | None) -> CrisisDetector:
    lexicon = {
        Section.CRISIS: ["kill* myself"],
        Section.CONCERN: ["cant cope"],
        Section.IDIOMS: ["killing me"],
        Section.CONTEXT: ["film*", "years ago"],
    }
    patterns = [
        compile_pattern(text, language="en", section=section)
        for section, texts in lexicon.items()
        for text in texts
    ]
    return CrisisDetector(patterns, model, alarm=0.8, ask=0.6)


def test_it_learns_farewells_it_has_not_seen_written_that_way(model: CrisisModel) -> None:
    assert model.probability("goodbye to everyone, I wrote the letters") >= 0.8
    assert model.probability("gooodbye evryone, my last mesage") >= 0.8  # typos
    assert model.probability("what time is the food bank open") < 0.5


def test_a_farewell_inside_a_long_message_is_still_heard(model: CrisisModel) -> None:
    chatter = "the bus was late and the library is shut on monday. " * 5
    assert model.probability(chatter) < 0.5
    assert model.probability(chatter + "Goodbye everyone, the letters are written.") >= 0.8


def test_training_is_deterministic(model: CrisisModel) -> None:
    again = CrisisModel.train(examples(), steps=300)
    assert np.array_equal(model.ids, again.ids)
    assert np.array_equal(model.weights, again.weights)


def test_text_without_words_is_no_alarm(model: CrisisModel) -> None:
    assert model.probability("😭😭😭 !!!") == 0.0


def test_the_model_raises_an_alarm_the_lexicon_missed(model: CrisisModel) -> None:
    text = "goodbye everyone, these are my last words"
    assert lexicon_detector(None).assess(text).level is Level.NONE
    assessment = lexicon_detector(model).assess(text)
    assert assessment.level is Level.CRISIS
    assert assessment.reasons[-1].startswith("model:")


def test_the_model_never_silences_the_lexicon(model: CrisisModel) -> None:
    assert lexicon_detector(model).assess("I will kill myself").level is Level.CRISIS
    # Trained to call this line harmless, the model can at most turn the alarm into the
    # gentle "are you safe?", never into nothing.
    fooled = CrisisModel.train(
        [*examples(), *[Example("I will kill myself lol", "none", "en")] * 20], steps=300
    )
    assessment = lexicon_detector(fooled).assess("I will kill myself lol")
    assert assessment.level is Level.CONCERN
    assert assessment.reasons[0].startswith("en:crisis:")


def test_an_idiom_or_a_mention_in_the_message_keeps_the_model_to_a_question(
    model: CrisisModel,
) -> None:
    for text in (
        "goodbye everyone, my last message, this heat is killing me",
        "the film ends with goodbye everyone, my last message",
    ):
        assert lexicon_detector(model).assess(text).level is Level.CONCERN


def test_a_bad_examples_file_names_its_line(tmp_path: Path) -> None:
    good = json.dumps({"text": "hello", "label": "none"})
    (tmp_path / "en-a.jsonl").write_text(f"{good}\n{{broken\n", encoding="utf-8")
    with pytest.raises(ExamplesError, match=r"en-a\.jsonl:2: "):
        read_examples(tmp_path, ["en"])
    (tmp_path / "en-a.jsonl").write_text(
        json.dumps({"text": "hello", "label": "maybe"}) + "\n", encoding="utf-8"
    )
    with pytest.raises(ExamplesError, match=r"en-a\.jsonl:1: .*crisis, concern or none"):
        read_examples(tmp_path, ["en"])


def test_examples_are_read_for_configured_languages_with_their_batch(tmp_path: Path) -> None:
    line = json.dumps({"text": "hello", "label": "none"}) + "\n"
    for name in ("en-a", "en-b", "pl-a"):
        (tmp_path / f"{name}.jsonl").write_text(line, encoding="utf-8")
    found = read_examples(tmp_path, ["en"])
    assert [(e.lang, e.batch) for e in found] == [("en", "en-a"), ("en", "en-b")]


def test_the_shipped_examples_share_no_line_with_the_evaluation_sets() -> None:
    """The model must be measured on lines it never learned from."""
    root = Path(__file__).resolve().parents[2]
    examples = read_examples(root / "resources" / "crisis" / "examples", ["en", "pl", "ro", "pa",
                             "ur", "pt", "es", "ar", "bn", "uk"])  # fmt: skip
    learned = {e.text.strip().casefold() for e in examples}
    for path in (
        root / "tests" / "eval" / "crisis.jsonl",
        root / "bench" / "heldout" / "crisis.jsonl",
    ):
        for line in path.read_text(encoding="utf-8").splitlines():
            assert json.loads(line)["text"].strip().casefold() not in learned, line
