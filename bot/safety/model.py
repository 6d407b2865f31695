"""A learned second opinion on crisis messages, for the wordings no lexicon foresaw.

The lexicons catch what they name; people in distress rarely use the words a list expects
("I've left letters for everyone", "won't be a problem much longer"). This is a logistic
regression over hashed character n-grams and word pairs of the folded text, trained on the
labelled examples shipped in `resources/crisis/examples/`. Character n-grams carry it across
typos, inflections and missing accents; training takes about a second and is deterministic,
so the model is built from the examples at start-up and never goes stale.

It only ever adds alarms: the lexicon decides first and the model cannot silence it.
"""

from __future__ import annotations

import contextlib
import hashlib
import itertools
import json
import os
import re
import zlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np
from numpy.typing import NDArray

from bot.search.normalise import tokens

NGRAMS = (3, 4, 5)  # character n-grams of each word, with its edges marked
FEATURES_VERSION = 1  # change when `features` changes, so cached models are retrained
LABEL_TARGET = {"crisis": 1.0, "concern": 0.5, "none": 0.0}
_SENTENCE_BREAKS = re.compile(r"[.!?…\n¿¡؟۔।॥]+")


class ExamplesError(ValueError):
    """A training file is malformed: `file:line: reason`."""


@dataclass(frozen=True)
class Example:
    text: str
    label: str
    lang: str
    batch: str = ""  # the file it came from, e.g. "pl-b"


def read_examples(folder: Path, languages: Iterable[str]) -> list[Example]:
    """Every `<lang>-*.jsonl` in the folder for the configured languages, checked line by line.

    Files are named by language and batch (`pl-a.jsonl`, `pl-b.jsonl`), so that a new batch of
    examples can be measured before the model learns from it.
    """
    examples: list[Example] = []
    for lang in languages:
        for path in sorted(folder.glob(f"{lang}-*.jsonl")):
            examples += _read_file(path, lang)
    return examples


def _read_file(path: Path, lang: str) -> list[Example]:
    examples = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        try:
            item = json.loads(line)
            text, label = item["text"], item["label"]
        except (ValueError, KeyError, TypeError) as error:
            raise ExamplesError(f"{path}:{number}: not a {{text, label}} object") from error
        if not isinstance(text, str) or not text.strip() or label not in LABEL_TARGET:
            raise ExamplesError(
                f"{path}:{number}: needs a text and a label: crisis, concern or none"
            )
        examples.append(Example(text, label, lang, path.stem))
    return examples


def features(text: str) -> NDArray[np.uint32]:
    """Hashed feature ids of a text: word n-grams of 3-5 letters, words and word pairs."""
    words = tokens(text)
    pairs = (f"b{a} {b}" for a, b in itertools.pairwise(words))
    joined = f" {' '.join(words)} "
    across = ("j" + joined[i : i + 6] for i in range(len(joined) - 5))
    keys = set(itertools.chain(pairs, across))
    ids = np.fromiter((zlib.crc32(k.encode()) for k in keys), dtype=np.uint32, count=len(keys))
    return np.unique(np.concatenate([ids, *map(_word_features, words)]))


@lru_cache(maxsize=16_384)  # about 4 MB; residents' words repeat, so most are found here
def _word_features(word: str) -> NDArray[np.uint32]:
    """The hashed ids of one word's own features: the word, and its n-grams with edges marked."""
    marked = f"<{word}>"
    keys = {"w" + word}
    for n in NGRAMS:
        keys.update(marked[i : i + n] for i in range(len(marked) - n + 1))
    ids = np.fromiter((zlib.crc32(k.encode()) for k in keys), dtype=np.uint32, count=len(keys))
    ids.flags.writeable = False  # shared by every text with this word
    return ids


def segments(text: str) -> list[str]:
    """The whole message, and each of its sentences when it has more than one."""
    parts = [part for part in _SENTENCE_BREAKS.split(text) if part.strip()]
    return [text, *parts] if len(parts) > 1 else [text]


@dataclass(frozen=True)
class CrisisModel:
    ids: NDArray[np.uint32]  # sorted feature ids seen in training
    weights: NDArray[np.float32]  # one per id
    bias: float

    def probability(self, text: str) -> float:
        """The chance this text is a crisis, as the highest of the whole and its sentences."""
        return max(self._probability(part) for part in segments(text))

    def _probability(self, text: str) -> float:
        found = features(text)
        if not len(found):
            return 0.0
        where = np.minimum(np.searchsorted(self.ids, found), len(self.ids) - 1)
        known = where[self.ids[where] == found]
        logit = self.bias + float(self.weights[known].sum()) / np.sqrt(len(found))
        return float(1.0 / (1.0 + np.exp(-logit)))

    def save(self, path: Path) -> None:
        """Write the model atomically (several processes may start at once)."""
        path.parent.mkdir(parents=True, exist_ok=True)
        partial = path.with_name(f"{path.name}.{os.getpid()}.partial")
        with partial.open("wb") as file:
            np.savez(file, ids=self.ids, weights=self.weights, bias=np.array(self.bias))
        partial.replace(path)

    @classmethod
    def load(cls, path: Path) -> CrisisModel:
        with np.load(path) as data:
            return cls(data["ids"], data["weights"], float(data["bias"]))

    @classmethod
    def train_cached(cls, examples: Sequence[Example], cache_dir: Path | None) -> CrisisModel:
        """Train, or load the model these very examples trained before (start-up in ms)."""
        if cache_dir is None:
            return cls.train(examples)
        digest = hashlib.sha256(f"v{FEATURES_VERSION}".encode())
        for example in examples:
            digest.update(f"{example.label}\t{example.text}\n".encode())
        path = cache_dir / f"crisis-model-{digest.hexdigest()[:20]}.npz"
        try:
            return cls.load(path)
        except (OSError, ValueError, KeyError):
            pass
        model = cls.train(examples)
        with contextlib.suppress(OSError):  # a read-only disk costs the next start a second
            model.save(path)
        return model

    @classmethod
    def train(
        cls, examples: Sequence[Example], *, steps: int = 150, l2: float = 1e-5
    ) -> CrisisModel:
        """Full-batch logistic regression with Adam; the same examples give the same model."""
        pairs = [(features(e.text), LABEL_TARGET[e.label]) for e in examples]
        pairs = [(row, target) for row, target in pairs if len(row)]  # emoji only: no words
        rows = [row for row, _ in pairs]
        targets = np.array([target for _, target in pairs])
        vocabulary, column = np.unique(np.concatenate(rows), return_inverse=True)
        lengths = np.array([len(r) for r in rows])
        scale = np.repeat(1.0 / np.sqrt(lengths), lengths)
        starts = np.concatenate(([0], np.cumsum(lengths)[:-1]))
        weights = np.zeros(len(vocabulary) + 1)  # the last one is the bias
        adam = _Adam(len(weights))
        for _ in range(steps):
            logits = np.add.reduceat(weights[column] * scale, starts) + weights[-1]
            error = 1.0 / (1.0 + np.exp(-logits)) - targets
            grad = np.empty_like(weights)
            grad[:-1] = np.bincount(column, np.repeat(error, lengths) * scale, len(vocabulary))
            grad[-1] = error.sum()
            grad /= len(rows)
            grad[:-1] += l2 * weights[:-1]
            weights -= adam.step(grad)
        bias = weights[-1]
        weights = weights[:-1]
        return cls(vocabulary.astype(np.uint32), weights.astype(np.float32), float(bias))


class _Adam:
    """The Adam optimiser's step, for full-batch training."""

    def __init__(self, size: int, rate: float = 0.05) -> None:
        self.rate, self.beta1, self.beta2 = rate, 0.9, 0.999
        self.mean = np.zeros(size)
        self.square = np.zeros(size)
        self.steps = 0

    def step(self, grad: NDArray[np.float64]) -> NDArray[np.float64]:
        self.steps += 1
        self.mean = self.beta1 * self.mean + (1 - self.beta1) * grad
        self.square = self.beta2 * self.square + (1 - self.beta2) * grad**2
        mean = self.mean / (1 - self.beta1**self.steps)
        square = self.square / (1 - self.beta2**self.steps)
        update: NDArray[np.float64] = self.rate * mean / (np.sqrt(square) + 1e-8)
        return update
