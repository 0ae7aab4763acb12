"""`temoin init` reads phone times in the machine's zone unless told otherwise, and says so."""

from __future__ import annotations

import tomllib
from pathlib import Path
from zoneinfo import ZoneInfoNotFoundError

import pytest

from temoin.timeutil import machine_zone


def _zone_of(root: Path) -> str:
    return tomllib.loads((root / "temoin.toml").read_text("utf-8"))["timezone"]


def test_init_takes_the_machine_zone(cli, tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("TZ", "America/Montreal")
    root = tmp_path / "archive"
    made = cli("init", str(root))
    assert made.code == 0, made.err
    assert "time zone: America/Montreal (this machine's; change with" in made.out
    assert _zone_of(root) == "America/Montreal"
    shown = cli("-A", str(root), "settings", "--json").json()
    assert {r["name"]: r["value"] for r in shown}["timezone"] == "America/Montreal"
    assert "America/Montreal" in cli("-A", str(root), "settings").out
    assert cli("-A", str(root), "timeline").out.startswith("times in America/Montreal")


def test_a_given_zone_wins_and_is_not_called_the_machine_s(cli, tmp_path: Path, monkeypatch):
    monkeypatch.setenv("TZ", "America/Montreal")
    root = tmp_path / "archive"
    made = cli("init", str(root), "--timezone", "Europe/Paris")
    assert made.code == 0 and "time zone: Europe/Paris\n" in made.out
    assert "this machine's" not in made.out
    assert _zone_of(root) == "Europe/Paris"


def test_the_suite_pins_the_machine_zone(cli, tmp_path: Path) -> None:
    """Tests that make an archive without --timezone read naive times the same everywhere."""
    assert cli("init", str(tmp_path / "archive")).code == 0
    assert _zone_of(tmp_path / "archive") == "UTC"


def test_machine_zone_follows_tz(monkeypatch) -> None:
    monkeypatch.setenv("TZ", "Asia/Kolkata")
    assert machine_zone() == "Asia/Kolkata"
    monkeypatch.setenv("TZ", "Europe/Paris")
    assert machine_zone() == "Europe/Paris"  # asked again, not the first answer cached


def _conflicting() -> str:
    raise ZoneInfoNotFoundError("Multiple conflicting time zone configurations found")


@pytest.mark.parametrize("answer", [lambda: None, lambda: "", lambda: "Mars/Olympus", _conflicting])
def test_machine_zone_unknown(answer) -> None:
    """What the system may answer when it cannot say (no setting, a name no zone has, two
    settings that disagree): None, so init says so and writes UTC."""
    assert machine_zone(answer) is None
