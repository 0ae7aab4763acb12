"""Stated counts reach the CLI: on each row of `timeline --json`, and listed by `temoin figures`."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path

import pytest

from temoin.testing.chats import make_whatsapp_export

NOTE = """\
Lundi 24 octobre 2016
7h00 : quarante bus sont alignés devant le hangar.
14h30 : 1051 personnes sont parties.
"""


@pytest.fixture
def counted(tmp_path: Path, cli) -> Path:
    root = tmp_path / "archive"
    assert cli("init", str(root), "--timezone", "Europe/Paris").code == 0
    notes = tmp_path / "notes"
    notes.mkdir()
    (notes / "carnet.txt").write_text(NOTE, encoding="utf-8")
    assert cli("-A", str(root), "ingest", str(notes), "--source", "Camille").code == 0
    day = datetime(2016, 10, 24, 9, 0)
    chat = [
        (day, "Amina", "Two hundred people at the bridge"),
        (day + timedelta(minutes=5), "Jonas", "On arrive"),
        (day + timedelta(days=1), "Jonas", "encore deux cents personnes ce matin"),
    ]
    export = make_whatsapp_export(tmp_path / "WhatsApp Chat with Nord.zip", messages=chat)
    assert cli("-A", str(root), "ingest", str(export), "--source", "Amina").code == 0
    return root


def _rows(data: dict) -> list[dict]:
    return [row for day in data["days"] for m in day["moments"] for row in m["items"]]


def test_timeline_json_carries_each_rows_figures(cli, counted: Path) -> None:
    result = cli("-A", str(counted), "timeline", "--json")
    assert result.code == 0, result.err
    said = {
        row["text"]: [(f["value"], f["what"]) for f in row["figures"]]
        for row in _rows(result.json())
    }
    assert said["quarante bus sont alignés devant le hangar."] == [(40, "bus")]
    assert said["1051 personnes sont parties."] == [(1051, "personnes")]
    assert said["Two hundred people at the bridge"] == [(200, "people")]
    assert said["On arrive"] == []
    [bridge] = [r for r in _rows(result.json()) if r["text"] == "Two hundred people at the bridge"]
    assert bridge["figures"] == [
        {
            "value": 200,
            "what": "people",
            "text": "Two hundred people at the bridge",
            "approximate": False,
        }
    ]
    plain = cli("-A", str(counted), "timeline", "--day", "2016-10-24")
    assert "= 40 bus" in plain.out and "= 200 people" in plain.out


def test_figures_command_lists_them_in_time_order(cli, counted: Path) -> None:
    result = cli("-A", str(counted), "figures", "--json")
    assert result.code == 0, result.err
    data = result.json()
    listed = [(f["time"], f["value"], f["what"], f["kind"], f["source"]) for f in data["figures"]]
    assert listed == [
        ("2016-10-24T07:00:00+02:00", 40, "bus", "entry", "Camille"),
        ("2016-10-24T09:00:00+02:00", 200, "people", "message", "Amina"),
        ("2016-10-24T14:30:00+02:00", 1051, "personnes", "entry", "Camille"),
        ("2016-10-25T09:00:00+02:00", 200, "personnes", "message", "Amina"),
    ]
    bus = data["figures"][0]
    assert bus["text"] == "quarante bus sont alignés devant le hangar."
    assert bus["entry"] and len(bus["item"]) == 64
    message = data["figures"][1]
    shown = cli("-A", str(counted), "show", message["item"][:16], "--json").json()
    assert shown["text"] == "Two hundred people at the bridge"  # the item it names

    day = cli("-A", str(counted), "figures", "--day", "2016-10-25", "--json").json()
    assert [(f["value"], f["what"]) for f in day["figures"]] == [(200, "personnes")]
    text = cli("-A", str(counted), "figures", "--day", "2016-10-24")
    assert text.code == 0
    assert "40 bus: quarante bus sont alignés devant le hangar." in text.out
    assert "1051 personnes" in text.out and "2016-10-25" not in text.out
    assert cli("-A", str(counted), "figures", "--day", "tomorrow").code == 2
    assert "no stated count" in cli("-A", str(counted), "figures", "--day", "2016-10-26").out


def test_figures_has_help(cli) -> None:
    result = cli("figures", "--help")
    assert result.code == 0 and "--day" in result.out and "--json" in result.out
