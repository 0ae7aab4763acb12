"""Text from the material cannot drive the terminal or forge output: file names, chat text and
reject reasons holding escapes, newlines or rich markup are printed spelled out and literally."""

from __future__ import annotations

import json
import re
from datetime import datetime
from pathlib import Path

import pytest
from tests.conftest import Result, run_cli

from temoin.testing.chats import make_whatsapp_export
from temoin.testing.photos import make_photo

ESC = "\x1b"
NAMES = {
    "csi": f"red{ESC}[31mtext{ESC}[0m.jpg",
    "osc": f"title{ESC}]0;owned\x07.jpg",
    "bel": "bell\x07ring.jpg",
    "newline": "two\nerror: forged line.jpg",
    "markup": "[bold]loud [red]x [link=https:example.org]y.jpg",
    "c1": "csi\x9b31m.jpg",
    "bidi": "photo\u202egpj.exe.jpg",
}
# Anything a terminal acts on: C0 controls but the newline ending a line, DEL, C1 controls.
RAW = re.compile("[\x00-\x09\x0b-\x1f\x7f-\x9f\u202e]")


@pytest.fixture
def archive_with_hostile_names(tmp_path: Path) -> Path:
    dump = tmp_path / "dump"
    for seed, name in enumerate(NAMES.values()):
        make_photo(dump / name, seed=seed)
    (dump / f"empty{ESC}[2J.txt").write_bytes(b"")  # rejected: its reason quotes the name
    make_whatsapp_export(
        dump / "chat",
        messages=[(datetime(2016, 10, 24, 7, 0), f"Am{ESC}[8mina", f"hide{ESC}[8m [bold]me\x07")],
    )
    assert run_cli("init", str(tmp_path / "archive")).code == 0
    return tmp_path


def _clean(result: Result) -> str:
    both = result.out + result.err
    assert not RAW.search(both), RAW.findall(both)
    return both


def test_ingest_status_and_ls_spell_out_controls_and_print_markup_literally(
    archive_with_hostile_names: Path,
) -> None:
    root = str(archive_with_hostile_names / "archive")
    dump = str(archive_with_hostile_names / "dump")
    ingest = run_cli("-A", root, "ingest", dump)
    assert ingest.code == 6  # the empty file
    said = _clean(ingest)
    assert "rejected:" in said and "empty\\x1b[2J.txt" in said
    assert not any(line.startswith("error: forged") for line in said.splitlines())

    status = run_cli("-A", root, "status")
    said = _clean(status)
    assert "empty\\x1b[2J.txt: empty file" in said

    listing = run_cli("-A", root, "ls")
    said = _clean(listing)
    assert "red\\x1b[31mtext\\x1b[0m.jpg" in said
    assert "title\\x1b]0;owned\\x07.jpg" in said
    assert "bell\\x07ring.jpg" in said
    assert "two\\nerror: forged line.jpg" in said
    assert "[bold]loud [red]x [link=https:example.org]y.jpg" in said
    assert "csi\\x9b31m.jpg" in said and "photo\\u202egpj.exe.jpg" in said
    assert not any(line.startswith("error: forged") for line in said.splitlines())

    messages = run_cli("-A", root, "ls", "--messages", "--kind", "message")
    said = _clean(messages)
    assert "hide\\x1b[8m [bold]me\\x07" in said

    as_json = run_cli("-A", root, "ls", "--json")
    assert as_json.code == 0 and not RAW.search(as_json.out)
    names = {record["name"] for record in json.loads(as_json.out)}
    assert set(NAMES.values()) <= names  # the data itself is kept exactly


def test_errors_naming_a_file_are_spelled_out_too(tmp_path: Path) -> None:
    result = run_cli("-A", str(tmp_path / f"no{ESC}]0;x\x07where"), "status")
    assert result.code == 3
    said = _clean(result)
    assert "no\\x1b]0;x\\x07where" in said
