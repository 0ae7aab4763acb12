"""A full disk while storing is the archive's failure, never the file's: no reject is recorded,
the batch stops cleanly, and the next ingest stores what was left."""

from __future__ import annotations

from pathlib import Path

import pytest
from tests.conftest import run_cli

from temoin.archive import Archive
from temoin.errors import DiskFull
from temoin.testing.limits import run_cli_with_file_limit
from temoin.testing.media import make_audio
from temoin.testing.photos import make_photo

LIMIT = 150_000  # bytes any one file may reach: the photos fit, the voice note does not


@pytest.mark.parametrize(
    "chunk",
    [
        "1048576",  # the voice note in one read: the write comes back short, without an error
        "65536",  # in many: a write past the limit fails with EFBIG
    ],
)
def test_a_full_disk_stops_the_batch_without_blaming_the_file(tmp_path: Path, chunk: str) -> None:
    dump = tmp_path / "dump"
    make_photo(dump / "1-before.jpg", seed=1)
    voice = make_audio(dump / "2-voice.m4a", seconds=30)
    make_photo(dump / "3-after.jpg", seed=3)
    assert voice.stat().st_size > LIMIT
    root = tmp_path / "archive"
    Archive.create(root).close()

    full = run_cli_with_file_limit(
        "-A", str(root), "ingest", str(dump), limit=LIMIT, env={"TEMOIN_READ_CHUNK_BYTES": chunk}
    )
    assert full.returncode == DiskFull.exit_code, full.stderr
    [line] = full.stderr.strip().splitlines()  # one line, no traceback
    assert line.startswith("error: disk full while storing ")
    assert "2-voice.m4a" in line
    assert "Traceback" not in full.stderr

    status = run_cli("-A", str(root), "status", "--json")
    assert status.json()["rejected"] == []  # nothing blamed on the file, now or later
    assert status.json()["originals"] == 1  # the photo before it stays stored
    log = run_cli("-A", str(root), "log", "--json")
    assert '"rejected"' not in log.out and '"ingested"' in log.out
    assert not list((root / "vault" / "tmp").iterdir())  # the cut copies are gone

    again = run_cli("-A", str(root), "ingest", str(dump), "--json")
    assert again.code == 0, again.err
    assert (again.json()["stored"], again.json()["duplicates"]) == (2, 1)
    assert again.json()["rejected"] == []
    verify = run_cli("-A", str(root), "verify")
    assert verify.code == 0, verify.out + verify.err
