"""No original is ever deleted because a catalog does not know it.

A catalog restored from an older copy, a missing one, or another archive's (a database URL left
pointing elsewhere) must stop every write with a one-line reason; only blobs the vault's journal
names as an interrupted write's may be collected, and verify reports those apart from damage.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import pytest

from temoin.archive import Archive
from temoin.errors import CatalogMismatch, InterruptedWrite, UsageError
from temoin.keep.keys import is_encrypted
from temoin.testing.catalogs import back_up, put_back, vault_names
from temoin.testing.photos import make_photo

DAY = datetime(2016, 10, 24, 7)


def _photos(folder: Path, first: int, count: int) -> Path:
    for i in range(first, first + count):
        make_photo(folder / f"IMG_{i:04d}.jpg", size=(160, 120), seed=i, taken=DAY)
    return folder


def test_a_restored_older_catalog_stops_ingest_and_deletes_nothing(tmp_path: Path, cli) -> None:
    root = tmp_path / "archive"
    Archive.create(root).close()
    assert cli("-A", str(root), "ingest", str(_photos(tmp_path / "a", 0, 3))).code == 0
    back_up(root, tmp_path / "backup.sqlite")
    assert cli("-A", str(root), "ingest", str(_photos(tmp_path / "b", 3, 4))).code == 0
    stored = vault_names(root)
    assert len(stored) == 7

    put_back(tmp_path / "backup.sqlite", root)
    again = cli("-A", str(root), "ingest", str(_photos(tmp_path / "c", 7, 1)))
    assert again.code == CatalogMismatch.exit_code
    said = " ".join(again.err.split())
    assert "the catalog does not match this vault" in said and "older copy" in said
    assert "Traceback" not in again.err
    assert vault_names(root) == stored  # not one original lost
    verify = cli("-A", str(root), "verify")
    assert verify.code == 1 and "cut off" in " ".join(verify.err.split())


def test_a_missing_catalog_is_not_made_again_over_the_originals(tmp_path: Path, cli) -> None:
    root = tmp_path / "archive"
    Archive.create(root).close()
    assert cli("-A", str(root), "ingest", str(_photos(tmp_path / "a", 0, 3))).code == 0
    stored = vault_names(root)
    for name in ("catalog.sqlite", "catalog.sqlite-wal", "catalog.sqlite-shm"):
        (root / name).unlink(missing_ok=True)

    again = cli("-A", str(root), "ingest", str(_photos(tmp_path / "b", 3, 1)))
    assert again.code == CatalogMismatch.exit_code
    assert "catalog.sqlite is missing" in " ".join(again.err.split())
    assert not (root / "catalog.sqlite").exists()  # no empty catalog left behind either
    assert vault_names(root) == stored
    assert cli("-A", str(root), "verify").code == CatalogMismatch.exit_code


def test_a_database_url_left_pointing_at_another_archive_is_refused(
    tmp_path: Path, cli, monkeypatch: pytest.MonkeyPatch
) -> None:
    ours, theirs = tmp_path / "ours", tmp_path / "theirs"
    for root, first in ((ours, 0), (theirs, 10)):
        Archive.create(root).close()
        assert (
            cli(
                "-A", str(root), "ingest", str(_photos(tmp_path / f"{root.name}-card", first, 3))
            ).code
            == 0
        )
    stored = vault_names(ours)
    log = Archive.open(theirs)
    before = len(log.custody_log())
    log.close()

    monkeypatch.setenv("TEMOIN_DATABASE_URL", f"sqlite:///{theirs / 'catalog.sqlite'}")
    again = cli("-A", str(ours), "ingest", str(_photos(tmp_path / "more", 20, 1)))
    if is_encrypted(ours):  # its catalog is its own file: no URL is listened to at all
        assert again.code == UsageError.exit_code
        assert "database_url cannot be set" in " ".join(again.err.split())
    else:
        assert again.code == CatalogMismatch.exit_code
        assert "another archive" in " ".join(again.err.split())
    monkeypatch.delenv("TEMOIN_DATABASE_URL")
    assert vault_names(ours) == stored
    log = Archive.open(theirs)
    assert len(log.custody_log()) == before  # nothing written into the other archive's log
    log.close()


def _interrupted_write(archive: Archive, data: bytes) -> str:
    """What a killed ingest leaves: a blob placed (and journalled), its rows never committed."""
    writer = archive.vault.writer()
    writer.write(data)
    archive.vault.stage(writer)
    archive.vault.flush()
    return writer.sha256


def test_only_an_interrupted_writes_blobs_are_reported_and_collected(
    archive: Archive, tmp_path: Path, cli
) -> None:
    report = archive.ingest([_photos(tmp_path / "a", 0, 2)], source="phone")
    leftover = _interrupted_write(archive, b"half an ingest")
    stranger = "ab" * 32  # well placed, but nothing says a write of ours put it there
    planted = archive.vault.stored(stranger)
    planted.parent.mkdir(parents=True, exist_ok=True)
    planted.write_bytes(b"not ours")

    found = archive.verify()
    assert found.interrupted == [leftover]
    assert [(f.kind, f.object) for f in found.faults] == [
        ("untracked", planted.relative_to(archive.root).as_posix())
    ]
    planted.unlink()
    found = archive.verify()
    assert found.ok and found.interrupted == [leftover]
    said = cli("-A", str(archive.root), "verify")
    assert said.code == InterruptedWrite.exit_code and "interrupted write: 1 blob(s)" in " ".join(
        said.err.split()
    )

    planted.write_bytes(b"not ours")
    archive.ingest([_photos(tmp_path / "b", 5, 1)], source="phone")
    assert not archive.vault.stored(leftover).exists()
    assert planted.exists()  # never deleted: only reported
    assert {e["item"] for e in archive.custody_log() if e["action"] == "orphan-collected"} == {
        leftover
    }
    assert all(archive.vault.stored(sha).exists() for sha in report.stored_ids)
    planted.unlink()
    assert archive.verify().ok and archive.verify().interrupted == []


def test_verify_beside_a_writer_placing_blobs_reports_no_fault(
    archive: Archive, tmp_path: Path
) -> None:
    archive.ingest([_photos(tmp_path / "a", 0, 2)], source="phone")
    reader = Archive.open(archive.root)
    try:
        with archive.writing():  # a writer between placing its batch and committing it
            _interrupted_write(archive, b"being stored")
            found = reader.verify()
        assert found.ok and found.interrupted == [] and found.in_progress == 1
    finally:
        reader.close()


@pytest.mark.slow
def test_verify_while_ingests_run_never_cries_wolf(tmp_path: Path) -> None:
    """A nightly verify beside a web app that ingests: every run says ok."""
    import subprocess
    import sys

    root = tmp_path / "archive"
    Archive.create(root).close()
    cards = [_photos(tmp_path / f"card{n}", n * 8, 8) for n in range(12)]
    script = (
        "import sys; from pathlib import Path; from temoin.archive import Archive\n"
        "a = Archive.open(Path(sys.argv[1]))\n"
        "for card in sys.argv[2:]:\n"
        "    a.ingest([Path(card)], source='phone')\n"
    )
    writer = subprocess.Popen([sys.executable, "-c", script, str(root), *map(str, cards)])
    reader = Archive.open(root)
    runs, faults = 0, []
    try:
        while writer.poll() is None or runs < 3:
            found = reader.verify()
            runs += 1
            faults += [f.line() for f in found.faults]
            assert found.interrupted == []  # a writer at work is not an interrupted one
    finally:
        writer.wait()
        reader.close()
    assert writer.returncode == 0
    assert faults == [], faults


def test_the_same_file_left_twice_by_interrupted_writes_is_collected_twice(
    archive: Archive, tmp_path: Path
) -> None:
    card = _photos(tmp_path / "a", 0, 1)
    for _ in range(2):  # two full disks on the same upload
        leftover = _interrupted_write(archive, b"the same half-stored file")
        archive.ingest([card], source="phone")
        assert not archive.vault.stored(leftover).exists()
        assert archive.verify().ok and archive.verify().interrupted == []
