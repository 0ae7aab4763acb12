"""The sort commands, run in-process as a user would."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import pytest

from temoin.testing.chats import make_whatsapp_export
from temoin.testing.diaries import ENGLISH_DIARY
from temoin.testing.photos import astronaut, make_photo

COMMANDS = ["timeline", "clock", "search", "tag", "caption", "dupes", "moment", "moment name"]


@pytest.mark.parametrize("command", COMMANDS)
def test_every_command_has_help(cli, command: str) -> None:
    result = cli(*command.split(), "--help")
    assert result.code == 0 and "Usage:" in result.out


@pytest.fixture
def day(tmp_path: Path, cli) -> Path:
    root = tmp_path / "archive"
    assert cli("init", str(root), "--timezone", "Europe/Paris").code == 0
    jules = tmp_path / "jules"
    make_photo(
        jules / "IMG_1.jpg",
        image=astronaut(),
        taken=datetime(2016, 10, 24, 7, 0, 40),  # 3 min 20 s slow
        gps=(50.95, 1.85),
        gps_time=datetime(2016, 10, 24, 5, 4, 0),
    )
    (jules / "dispatch.txt").write_text(ENGLISH_DIARY, encoding="utf-8")
    assert cli("-A", str(root), "ingest", str(jules), "--source", "Jules's phone").code == 0
    chat = [(datetime(2016, 10, 24, 7, 30), "Amina", "The bus is here")]
    export = make_whatsapp_export(tmp_path / "wa", messages=chat)
    assert cli("-A", str(root), "ingest", str(export), "--source", "Amina").code == 0
    return root


def test_timeline_json_and_day_and_zone(cli, day: Path) -> None:
    result = cli("-A", str(day), "timeline", "--json")
    assert result.code == 0, result.err
    data = result.json()
    assert data["timezone"] == "Europe/Paris" and data["days"][0]["day"] == "2016-10-24"
    london = cli("-A", str(day), "timeline", "--day", "2016-10-24", "--tz", "Europe/London")
    assert london.code == 0 and "06:30:00" in london.out  # Amina's message, UK time
    assert cli("-A", str(day), "timeline", "--tz", "Mars/Olympus").code == 2
    assert cli("-A", str(day), "timeline", "--day", "24/10/2016").code == 2


def test_clock_by_hand_and_by_estimate(cli, day: Path) -> None:
    proposed = cli("-A", str(day), "clock", "--estimate")
    assert proposed.code == 0 and "+00:03:20" in proposed.out and "--apply" in proposed.out
    applied = cli("-A", str(day), "clock", "--estimate", "--apply", "--json")
    assert applied.json()["applied"] == ["Jules's phone"]
    assert cli("-A", str(day), "clock", "Amina", "+00:00:30", "--reason", "checked").code == 0
    listed = cli("-A", str(day), "clock", "--json").json()
    assert [(c["source"], c["offset"]) for c in listed] == [
        ("Jules's phone", "+00:03:20"),
        ("Amina", "+00:00:30"),
    ]
    assert cli("-A", str(day), "clock", "--", "Amina", "-00:00:10").code == 0
    assert cli("-A", str(day), "clock", "Nobody", "+00:00:10").code == 5
    assert cli("-A", str(day), "clock", "Amina", "00:00:10").code == 2


def test_search_tag_caption_dupes_and_moment(cli, day: Path) -> None:
    both = ["Amina: The bus is here", "1051 people left in buses"]
    found = cli("-A", str(day), "search", "bus", "--json").json()["results"]
    assert [r["text"] for r in found] == both  # "buses" is a form of "bus"
    found = cli("-A", str(day), "search", "bus*", "--json").json()["results"]
    assert [r["text"] for r in found] == both
    found = cli("-A", str(day), "search", '"bus"', "--json").json()["results"]
    assert [r["field"] for r in found] == ["message"]  # quoted: as written
    photo = cli("-A", str(day), "ls", "--kind", "photo", "--json").json()[0]["id"]
    assert cli("-A", str(day), "tag", photo[:8], "police", "barrier").code == 0
    assert cli("-A", str(day), "caption", photo[:8], "The queue at the bridge").code == 0
    assert "The queue at the bridge" in cli("-A", str(day), "timeline").out
    assert cli("-A", str(day), "search", "barrier", "--json").json()["results"][0]["id"] == photo
    assert cli("-A", str(day), "dupes", "--json").json()["groups"] == []
    named = cli("-A", str(day), "moment", "name", photo[:8], "Police at the gate", "--json")
    assert named.code == 0, named.err
    assert "Police at the gate" in cli("-A", str(day), "timeline").out
    assert cli("-A", str(day), "tag", "zzzz", "x").code == 5
