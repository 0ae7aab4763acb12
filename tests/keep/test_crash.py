"""The generator dies: SIGKILL an ingest at several points, run it again, lose and duplicate nothing."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from sqlalchemy import func, select

from temoin.archive import Archive
from temoin.catalog.models import Blob, Item
from temoin.testing.photos import make_photo

FILES = 300


def _vault_files(archive: Path) -> list[Path]:
    return [p for p in (archive / "vault").rglob("*") if p.is_file() and p.parent.name != "tmp"]


def _ingest(archive: Path, dump: Path, stderr: int = subprocess.DEVNULL) -> subprocess.Popen[bytes]:
    command = [sys.executable, "-m", "temoin", "-A", str(archive), "ingest", str(dump),
               "--source", "phone", "--json"]  # fmt: skip
    return subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=stderr)


def _written(archive: Path) -> int:
    """Blobs in place plus blobs staged in tmp/: how far the killed ingest had got."""
    return sum(1 for p in (archive / "vault").rglob("*") if p.is_file())


@pytest.mark.slow
@pytest.mark.parametrize("kill_after", [1, FILES // 2, FILES - 20])
def test_sigkill_then_rerun_stores_everything_once(tmp_path: Path, kill_after: int) -> None:
    dump = tmp_path / "dump"
    for i in range(FILES):
        make_photo(dump / f"DCIM/IMG_{i:04d}.jpg", size=(320, 240), seed=i)
    root = tmp_path / "archive"
    Archive.create(root).close()

    child = _ingest(root, dump)
    deadline = time.monotonic() + 60
    while _written(root) < kill_after and child.poll() is None:
        assert time.monotonic() < deadline
        time.sleep(0.002)
    os.kill(child.pid, signal.SIGKILL)
    child.wait()
    assert child.returncode == -signal.SIGKILL, "the ingest finished before it could be killed"

    final = _ingest(root, dump, subprocess.PIPE)
    _, stderr = final.communicate(timeout=300)
    assert final.returncode == 0, stderr.decode()

    archive = Archive.open(root)
    with archive.session() as session:
        assert session.scalar(select(func.count()).select_from(Blob)) == FILES
        assert session.scalar(select(func.count()).select_from(Item)) == FILES
    assert len(_vault_files(root)) == FILES
    assert not list(archive.vault.tmp.iterdir())
    report = archive.verify()
    assert report.ok, [f.line() for f in report.faults]
    ingested = [e for e in archive.custody_log() if e["action"] == "ingested"]
    assert len(ingested) == FILES == len({e["item"] for e in ingested})
    archive.close()
