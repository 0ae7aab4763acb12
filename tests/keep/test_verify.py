"""verify must fail on every kind of damage and name the object and the kind."""

from __future__ import annotations

import os
import stat
from datetime import datetime
from pathlib import Path

import pytest
from sqlalchemy import delete, select, update

from temoin.archive import Archive
from temoin.catalog.models import CustodyEvent
from temoin.testing.photos import make_photo


@pytest.fixture
def stored(archive: Archive, tmp_path: Path) -> tuple[Archive, list[str]]:
    dump = tmp_path / "dump"
    for i in range(4):
        make_photo(dump / f"IMG_{i}.jpg", seed=i, taken=datetime(2016, 10, 24, 7, i))
    report = archive.ingest([dump], source="phone")
    assert report.stored == 4 and archive.verify().ok
    return archive, report.stored_ids


def _writable(path: Path) -> None:
    os.chmod(path, stat.S_IRUSR | stat.S_IWUSR)


def _kinds(archive: Archive) -> set[tuple[str, str]]:
    return {(f.kind, f.object) for f in archive.verify().faults}


def test_blobs_are_read_only_and_fanned_out(stored: tuple[Archive, list[str]]) -> None:
    archive, ids = stored
    path, name = archive.vault.stored(ids[0]), archive.vault.name(ids[0])
    assert path.parent.parent.name == name[:2] and path.parent.name == name[2:4]
    assert not path.stat().st_mode & (stat.S_IWUSR | stat.S_IWGRP | stat.S_IWOTH)


def test_flipped_byte_is_changed(stored: tuple[Archive, list[str]]) -> None:
    archive, ids = stored
    path = archive.vault.stored(ids[1])
    _writable(path)
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0x01
    path.write_bytes(bytes(data))
    assert _kinds(archive) == {("changed", f"original {ids[1]}")}


def test_truncated_original_is_changed(stored: tuple[Archive, list[str]]) -> None:
    archive, ids = stored
    path = archive.vault.stored(ids[0])
    _writable(path)
    os.truncate(path, 100)
    faults = archive.verify().faults
    assert [(f.kind, f.object) for f in faults] == [("changed", f"original {ids[0]}")]
    # a sealed file cut short fails its authentication before its size can be read
    assert "size is 100 bytes" in faults[0].detail or (
        archive.ctx.encrypted and "does not decrypt" in faults[0].detail
    )


def test_deleted_original_is_missing(stored: tuple[Archive, list[str]]) -> None:
    archive, ids = stored
    archive.vault.stored(ids[2]).unlink()
    assert _kinds(archive) == {("missing", f"original {ids[2]}")}


def test_unlisted_file_is_untracked(stored: tuple[Archive, list[str]]) -> None:
    archive, _ = stored
    intruder = archive.vault.root / "ab" / "cd" / ("ab" + "cd" + "0" * 60)
    intruder.parent.mkdir(parents=True, exist_ok=True)
    intruder.write_bytes(b"planted")
    (archive.vault.root / "notes.txt").write_text("stray")
    assert _kinds(archive) == {
        ("untracked", f"vault/ab/cd/{intruder.name}"),
        ("untracked", "vault/notes.txt"),
    }


def test_edited_event_is_changed(stored: tuple[Archive, list[str]]) -> None:
    archive, _ = stored
    with archive.session() as session:
        session.execute(update(CustodyEvent).where(CustodyEvent.seq == 3).values(actor="someone"))
        session.commit()
    assert ("changed", "custody event #3") in _kinds(archive)


def test_deleted_event_breaks_the_chain(stored: tuple[Archive, list[str]]) -> None:
    archive, _ = stored
    with archive.session() as session:
        session.execute(delete(CustodyEvent).where(CustodyEvent.seq == 2))
        session.commit()
    faults = archive.verify().faults
    assert any(f.kind == "chain-broken" and "#2 is gone" in f.detail for f in faults)


def test_events_cut_off_the_end_are_noticed(stored: tuple[Archive, list[str]]) -> None:
    archive, _ = stored
    with archive.session() as session:
        last = session.scalar(select(CustodyEvent.seq).order_by(CustodyEvent.seq.desc()))
        lost = session.scalar(select(CustodyEvent.item).where(CustodyEvent.seq == last))
        session.execute(delete(CustodyEvent).where(CustodyEvent.seq == last))
        session.commit()
    faults = archive.verify().faults
    assert ("chain-broken", f"custody event #{last}") in [(f.kind, f.object) for f in faults]
    assert any("cut off" in f.detail for f in faults)
    # the lost event was the ingest of the last photo: its original is now unaccounted for
    assert ("chain-broken", f"original {lost}") in [(f.kind, f.object) for f in faults]


def test_reordered_events_break_the_chain(stored: tuple[Archive, list[str]]) -> None:
    archive, _ = stored
    with archive.session() as session:
        session.execute(update(CustodyEvent).where(CustodyEvent.seq == 2).values(seq=-2))
        session.execute(update(CustodyEvent).where(CustodyEvent.seq == 3).values(seq=2))
        session.execute(update(CustodyEvent).where(CustodyEvent.seq == -2).values(seq=3))
        session.commit()
    # both moved events no longer match their hashes, and the one after them lost its link
    assert _kinds(archive) == {
        ("changed", "custody event #2"),
        ("changed", "custody event #3"),
        ("chain-broken", "custody event #4"),
    }


def test_verify_cli_exit_status_and_json(stored: tuple[Archive, list[str]], cli) -> None:
    archive, ids = stored
    ok = cli("-A", str(archive.root), "verify", "--json")
    assert ok.code == 0 and ok.json()["ok"] is True and ok.json()["blobs"] == 4
    archive.vault.stored(ids[3]).unlink()
    bad = cli("-A", str(archive.root), "verify", "--json")
    assert bad.code == 1
    assert bad.json()["faults"] == [
        {
            "kind": "missing",
            "object": f"original {ids[3]}",
            "detail": "the file is gone from the vault",
        }
    ]
    text = cli("-A", str(archive.root), "verify")
    assert text.code == 1 and f"missing: original {ids[3]}" in " ".join(text.err.split())
