"""Catalogue files: good ones load, bad or hostile ones are refused whole with file:line."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from bot.catalogue.files import read_catalogue_files
from bot.catalogue.model import Cost, Referral
from bot.catalogue.yamlio import MAX_FILE_BYTES, CatalogueError
from bot.config import DEFAULT_LANGUAGES

GOOD = """\
resources:
  - slug: test-food-bank
    categories: [food, money]
    name: {en: Test Food Bank}
    summary: {en: "Free food parcels.", pl: "Darmowe paczki żywnościowe."}
    eligibility: {en: Anyone}
    phone: "01632 960001"
    website: https://food.example.org
    areas: [national]
    languages: [en, pl, so]
    cost: free
    referral: self
    access: [in-person, drop-in]
    hours: "Mo-Fr 09:00-17:00; Sa 10:00-13:00"
    last_verified: 2026-10-01
"""


def write(tmp_path: Path, text: str, name: str = "catalogue.yaml") -> Path:
    path = tmp_path / name
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return path


def read(*paths: Path) -> object:
    return read_catalogue_files(paths, languages=DEFAULT_LANGUAGES)


def refused(path: Path, *others: Path) -> CatalogueError:
    with pytest.raises(CatalogueError) as caught:
        read_catalogue_files([path, *others], languages=DEFAULT_LANGUAGES)
    return caught.value


def test_a_good_record_loads_with_its_fields(tmp_path: Path) -> None:
    files = read_catalogue_files([write(tmp_path, GOOD)], languages=DEFAULT_LANGUAGES)
    (resource,) = files.resources
    assert resource.slug == "test-food-bank"
    assert resource.cost is Cost.FREE and resource.referral is Referral.SELF
    assert resource.summary["pl"] == "Darmowe paczki żywnościowe."
    assert resource.languages == ("en", "pl", "so")


@pytest.mark.parametrize(
    ("change", "line", "reason"),
    [
        (("cost: free", "cost: 5"), 11, "cost: Input should be 'free', 'low-cost' or 'paid'"),
        (("cost: free", "cost: expensive"), 11, "cost: Input should be"),
        (("[food, money]", "[food, astrology]"), 3, "unknown category 'astrology'"),
        (('pl: "Darmowe', 'xx: "Darmowe'), 5, "unknown language 'xx'"),
        (("[en, pl, so]", "[en, klingon]"), 10, "unknown language code 'klingon'"),
        (("slug: test-food-bank", "slug: Test Food Bank"), 2, "slug: String should match pattern"),
        (('"01632 960001"', '"call us"'), 7, "'call us' is not a phone number"),
        (("https://food.example.org", "food dot org"), 8, "not a web address"),
        (("Sa 10:00-13:00", "Saturdays maybe"), 14, "is not valid opening hours"),
        (("    referral: self\n", ""), 2, "missing field 'referral'"),
        (
            ("    referral: self\n", "    referral: self\n    phoen: '1'\n"),
            13,
            "unknown field 'phoen'",
        ),
        (("areas: [national]", "areas: [atlantis]"), 9, "unknown area 'atlantis'"),
        (
            ("    cost: free\n", "    cost: free\n    min_age: 30\n    max_age: 18\n"),
            2,
            "min_age is greater than max_age",
        ),
        (("name: {en: Test Food Bank}", "name: {pl: Bank}"), 4, "English ('en') is required"),
        (("access: [in-person, drop-in]", "access: [telepathy]"), 13, "access.0: Input should be"),
    ],
)
def test_a_bad_field_is_refused_with_its_line(
    tmp_path: Path, change: tuple[str, str], line: int, reason: str
) -> None:
    path = write(tmp_path, GOOD.replace(*change))
    error = refused(path)
    assert str(error).startswith(f"{path}:{line}: ")
    assert reason in error.reason


def test_duplicate_slugs_across_files_name_the_first(tmp_path: Path) -> None:
    first = write(tmp_path, GOOD, "a.yaml")
    second = write(tmp_path, GOOD, "b.yaml")
    error = refused(first, second)
    assert error.path == str(second)
    assert f"duplicate slug 'test-food-bank' (first at {first}:2)" in error.reason


def test_duplicate_key_is_refused(tmp_path: Path) -> None:
    path = write(tmp_path, GOOD.replace("    cost: free\n", "    cost: free\n    cost: paid\n"))
    assert "duplicate key 'cost'" in str(refused(path))


def test_alias_bomb_is_refused_before_expanding(tmp_path: Path) -> None:
    bomb = 'a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]\n'
    for level in "bcdefghi":
        previous = chr(ord(level) - 1)
        bomb += f"{level}: &{level} [*{previous},*{previous},*{previous},*{previous},*{previous}]\n"
    error = refused(write(tmp_path, bomb))
    assert error.line == 2
    assert "aliases (*name) are not allowed" in error.reason


def test_huge_file_is_refused_without_parsing(tmp_path: Path) -> None:
    path = tmp_path / "huge.yaml"
    path.write_bytes(b"# " + b"x" * MAX_FILE_BYTES)
    assert "the limit is" in str(refused(path))


def test_deep_nesting_is_refused(tmp_path: Path) -> None:
    error = refused(write(tmp_path, "resources: " + "[" * 40 + "]" * 40 + "\n"))
    assert "nested deeper than" in error.reason


@pytest.mark.parametrize(
    ("content", "reason"),
    [
        (b"", "the file is empty"),
        (b"resources: [\n", "not valid YAML"),
        (b"- just\n- a list\n", "the file must start with one of"),
        (b"resources:\n  - slug: x\n    name: \xff\xfe\n", "not UTF-8"),
        (b"resources: !!python/object:os.system {}\n", "custom YAML tags"),
        (b"resources:\n  - !!python/name:os.system x\n", "custom YAML tags"),
        (b"resources:\n  - 42\n", "Input should be a valid dictionary"),
    ],
)
def test_malformed_files_get_a_one_line_reason(tmp_path: Path, content: bytes, reason: str) -> None:
    path = tmp_path / "bad.yaml"
    path.write_bytes(content)
    error = refused(path)
    assert reason in str(error)
    assert "\n" not in str(error)


def test_a_missing_path_is_reported(tmp_path: Path) -> None:
    assert "no such file or folder" in str(refused(tmp_path / "nope.yaml"))


def test_the_shipped_resources_validate() -> None:
    files = read_catalogue_files([Path("resources")], languages=DEFAULT_LANGUAGES)
    assert files.categories is not None and len(files.categories) == 22
    assert len(files.lexicons) == len(DEFAULT_LANGUAGES)
