"""A story is found by its slug or its title, in any case and with or without accents."""

from __future__ import annotations

import re
from pathlib import Path

import bagit
import pytest
from tests.conftest import run_cli

from temoin.archive import Archive
from temoin.errors import AmbiguousStory, NotFound
from temoin.publish import stories


@pytest.fixture
def told(archive: Archive) -> Archive:
    archive.new_story("Calais", "2016-10-24T06:00", "2016-10-24T23:59")
    archive.new_story("Évacuation de la jungle", "2016-10-25T06:00", "2016-10-25T23:59")
    archive.new_story("Grande-Synthe, 26 octobre", "2016-10-26T06:00", "2016-10-26T23:59")
    archive.new_story("Grande-Synthe, 27 octobre", "2016-10-27T06:00", "2016-10-27T23:59")
    return archive


def _find(archive: Archive, ref: str) -> str:
    with archive.session() as session:
        return stories.find(session, ref).slug


@pytest.mark.parametrize(
    ("ref", "slug"),
    [
        ("calais", "calais"),
        ("Calais", "calais"),
        ("CALAIS", "calais"),
        (" calais ", "calais"),
        ("Évacuation de la jungle", "evacuation-de-la-jungle"),
        ("évacuation de la jungle", "evacuation-de-la-jungle"),
        ("EVACUATION DE LA JUNGLE", "evacuation-de-la-jungle"),
        ("evacuation-de-la-jungle", "evacuation-de-la-jungle"),
        ("Évacuation", "evacuation-de-la-jungle"),  # the first words of one title
        ("evacuation", "evacuation-de-la-jungle"),
        ("Grande-Synthe, 26 octobre", "grande-synthe-26-octobre"),
        ("grande synthe 27", "grande-synthe-27-octobre"),
    ],
)
def test_found_by_title_or_slug(told: Archive, ref: str, slug: str) -> None:
    assert _find(told, ref) == slug


def test_an_ambiguous_reference_lists_the_matches(told: Archive) -> None:
    with pytest.raises(AmbiguousStory) as caught:
        _find(told, "Grande-Synthe")
    message = caught.value.message
    assert "\n" not in message
    assert "grande-synthe-26-octobre (Grande-Synthe, 26 octobre)" in message
    assert "grande-synthe-27-octobre (Grande-Synthe, 27 octobre)" in message
    assert caught.value.exit_code == 5


def test_an_exact_slug_wins_over_a_title_alike(archive: Archive) -> None:
    archive.new_story("Calais", "2016-10-24T06:00", "2016-10-24T23:59")
    archive.new_story("Calais", "2016-10-25T06:00", "2016-10-25T23:59", slug="calais-bis")
    assert _find(archive, "calais") == "calais"
    assert _find(archive, "calais-bis") == "calais-bis"
    with pytest.raises(AmbiguousStory, match=re.escape("calais (Calais); calais-bis (Calais)")):
        _find(archive, "CALAIS")


@pytest.mark.parametrize("ref", ["Lille", "cal", "", "jungle"])
def test_no_such_story(told: Archive, ref: str) -> None:
    with pytest.raises(NotFound, match="no such story; known: calais"):
        _find(told, ref)


def test_commands_take_the_title(told: Archive, tmp_path: Path) -> None:
    root = str(told.root)
    result = run_cli("-A", root, "export", "bag", str(tmp_path / "bag"), "--story", "ÉVACUATION")
    assert result.code == 0, result.err
    assert bagit.Bag(str(tmp_path / "bag")).info["External-Identifier"] == "evacuation-de-la-jungle"
    several = run_cli(
        "-A", root, "export", "bag", str(tmp_path / "other"), "--story", "grande synthe"
    )
    assert several.code == 5
    [line] = several.err.strip().splitlines()
    assert line.startswith("error: grande synthe: several stories match: ")
    assert "grande-synthe-26-octobre" in line and "grande-synthe-27-octobre" in line
    assert not (tmp_path / "other").exists()
