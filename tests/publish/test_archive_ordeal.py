"""One archive taken through a day's worth of bad luck: a full disk, a rolled-back export, a killed
ingest, a catalog restored from an older copy and a missing catalog. No original is lost, and
`verify` says "ok" or "interrupted" each time, since nothing was altered."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from tests.conftest import SQLITE_ONLY, run_cli
from tests.publish.conftest import SLUG

from temoin.archive import Archive
from temoin.errors import CatalogMismatch, DiskFull, InterruptedWrite
from temoin.testing.catalogs import back_up, put_back, vault_names
from temoin.testing.limits import run_cli_with_file_limit
from temoin.testing.photos import make_photo

# It fills the disk under catalog.sqlite, and backs that file up, restores and removes it.
pytestmark = [pytest.mark.slow, SQLITE_ONLY]
NOTHING_ALTERED = {0, InterruptedWrite.exit_code}


def _verify(root: Path) -> int:
    result = run_cli("-A", str(root), "verify")
    assert "Traceback" not in result.err
    return result.code


def test_no_original_is_lost_and_verify_never_cries_wolf(
    day_archive: Archive, tmp_path: Path
) -> None:
    root = day_archive.root
    day_archive.close()
    card = tmp_path / "card"
    for i in range(40):
        make_photo(card / f"IMG_{i:04d}.jpg", size=(96, 72), seed=500 + i)
    kept = vault_names(root)
    back_up(root, tmp_path / "older.sqlite")

    # a full disk in the middle of an ingest
    full = run_cli_with_file_limit("-A", str(root), "ingest", str(card), limit=60_000)
    assert full.returncode == DiskFull.exit_code and "Traceback" not in full.stderr
    assert vault_names(root) >= kept and _verify(root) in NOTHING_ALTERED

    # an export that fails half way is rolled back
    bag = tmp_path / "bag"
    failed = run_cli_with_file_limit(
        "-A", str(root), "export", "bag", str(bag), "--story", SLUG, limit=40_000
    )
    assert failed.returncode != 0 and "Traceback" not in failed.stderr
    assert vault_names(root) >= kept and _verify(root) in NOTHING_ALTERED

    # the generator dies during an ingest
    command = [sys.executable, "-m", "temoin", "-A", str(root), "ingest", str(card)]
    child = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 60
    while len(vault_names(root)) < len(kept) + 5 and child.poll() is None:
        assert time.monotonic() < deadline
        time.sleep(0.002)
    os.kill(child.pid, signal.SIGKILL)
    child.wait()
    assert vault_names(root) >= kept and _verify(root) in NOTHING_ALTERED
    later = tmp_path / "later"
    for i in range(2):
        make_photo(later / f"IMG_9{i:03d}.jpg", size=(96, 72), seed=900 + i)
    assert run_cli("-A", str(root), "ingest", str(later)).code == 0  # the older copy lacks these
    kept = vault_names(root)

    # a catalog restored from the older copy: nothing is written, nothing deleted
    back_up(root, tmp_path / "current.sqlite")
    put_back(tmp_path / "older.sqlite", root)
    refused = run_cli("-A", str(root), "ingest", str(card))
    assert refused.code == CatalogMismatch.exit_code
    assert vault_names(root) == kept
    put_back(tmp_path / "current.sqlite", root)
    assert _verify(root) in NOTHING_ALTERED

    # a missing catalog: never made again over the originals
    (root / "catalog.sqlite").rename(tmp_path / "away.sqlite")
    refused = run_cli("-A", str(root), "ingest", str(card))
    assert refused.code == CatalogMismatch.exit_code
    assert not (root / "catalog.sqlite").exists() and vault_names(root) == kept
    (tmp_path / "away.sqlite").rename(root / "catalog.sqlite")

    # room again: everything is stored once, the leftovers collected, and verify is ok
    again = run_cli("-A", str(root), "ingest", str(card), "--json")
    assert again.code == 0, again.err
    assert vault_names(root) >= kept
    assert _verify(root) == 0
    archive = Archive.open(root)
    try:
        assert archive.status()["originals"] >= 40
        report = archive.verify()
        assert report.ok and report.interrupted == [], [f.line() for f in report.faults]
    finally:
        archive.close()
    assert run_cli("-A", str(root), "export", "bag", str(bag), "--story", SLUG).code == 0
