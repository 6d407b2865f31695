"""Whatever bytes a catalogue file holds, reading it ends in data or a one-line file:line error."""

from __future__ import annotations

import tempfile
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.catalogue.files import read_catalogue_files
from bot.catalogue.yamlio import CatalogueError
from bot.config import DEFAULT_LANGUAGES

GOOD = Path(__file__).resolve().parents[2] / "resources" / "catalogue" / "national.yaml"

yaml_ish = st.text(
    alphabet=st.sampled_from(
        [*list("resources:-[]{}&*!|>'\"#\n  \tslug,1.5eyo~@%`"), "ł", "ے", "😭"]
    ),
    max_size=300,
)


def _read(content: bytes) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "fuzz.yaml"
        path.write_bytes(content)
        try:
            read_catalogue_files([path], languages=DEFAULT_LANGUAGES)
        except CatalogueError as error:
            assert str(error).startswith(f"{path}:")
            assert "\n" not in str(error)


@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow], deadline=None)
@given(yaml_ish)
def test_yaml_shaped_noise_is_refused_cleanly(text: str) -> None:
    _read(("resources:\n" + text).encode())


@settings(max_examples=150, deadline=None)
@given(st.binary(max_size=400))
def test_random_bytes_are_refused_cleanly(content: bytes) -> None:
    _read(content)


@settings(max_examples=150, deadline=None)
@given(st.integers(min_value=0, max_value=20_000), st.binary(min_size=1, max_size=8))
def test_a_corrupted_real_file_is_refused_cleanly(offset: int, garbage: bytes) -> None:
    original = GOOD.read_bytes()
    at = offset % len(original)
    _read(original[:at] + garbage + original[at + len(garbage) :])
