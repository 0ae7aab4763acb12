"""A full disk anywhere reads as one line naming the file, with exit status 10; nothing stored is
lost, and the command can simply be run again once there is room.

The disk fills for real: the CLI runs in a process whose files cannot grow past a limit
(RLIMIT_FSIZE), so writes fail with EFBIG as they would with ENOSPC or EDQUOT.
"""

from __future__ import annotations

import json
from pathlib import Path

from tests.conftest import run_cli

from temoin.archive import Archive
from temoin.errors import DiskFull, InterruptedWrite
from temoin.testing.limits import run_cli_with_file_limit
from temoin.testing.photos import make_photo
from temoin.testing.trees import tree_state


def _one_line(stderr: str) -> str:
    assert "Traceback" not in stderr, stderr
    [line] = stderr.strip().splitlines()
    return line


def test_init_on_a_full_disk_leaves_nothing_in_the_way_of_a_retry(tmp_path: Path) -> None:
    root = tmp_path / "calais" / "archive"
    full = run_cli_with_file_limit("init", str(root), limit=100_000)
    assert full.returncode == DiskFull.exit_code
    line = _one_line(full.stderr)
    assert line.startswith("error: catalog.sqlite: disk full")
    assert not (tmp_path / "calais").exists()  # all or nothing: the folders it made are gone
    retry = run_cli("init", str(root))
    assert retry.code == 0, retry.err


def test_init_into_an_existing_folder_removes_only_what_it_made(tmp_path: Path) -> None:
    folder = tmp_path / "card"
    make_photo(folder / "DCIM" / "IMG_1.jpg")
    before = tree_state(folder)
    full = run_cli_with_file_limit("init", str(folder), limit=100_000)
    assert full.returncode == DiskFull.exit_code, full.stderr
    assert tree_state(folder) == before
    assert run_cli("init", str(folder)).code == 0


def test_a_bad_time_zone_leaves_no_stub_behind(tmp_path: Path) -> None:
    root = tmp_path / "archive"
    bad = run_cli("init", str(root), "--timezone", "Europe/Calais")
    assert bad.code == 2 and "Europe/Calais" in bad.err
    assert not root.exists()
    good = run_cli("init", str(root), "--timezone", "Europe/Paris")
    assert good.code == 0, good.err


def test_a_full_disk_at_the_catalog_commit_loses_nothing_stored(tmp_path: Path) -> None:
    root = tmp_path / "archive"
    Archive.create(root).close()
    for i in range(3):
        make_photo(tmp_path / "first" / f"IMG_{i}.jpg", seed=i, size=(64, 48))
    for i in range(20):
        make_photo(tmp_path / "second" / f"IMG_{i}.jpg", seed=100 + i, size=(64, 48))
    assert run_cli("-A", str(root), "ingest", str(tmp_path / "first")).code == 0

    full = run_cli_with_file_limit(
        "-A", str(root), "ingest", str(tmp_path / "second"), limit=60_000
    )
    assert full.returncode == DiskFull.exit_code
    line = _one_line(full.stderr)
    assert line.startswith("error: catalog.sqlite: disk full")

    verify = run_cli("-A", str(root), "verify")
    # the first batch is intact; the second's blobs, placed before the commit failed, are an
    # interrupted write's (not damage), collected by the next ingest
    assert verify.code == InterruptedWrite.exit_code, verify.out + verify.err
    assert "0 fault" not in verify.out and "interrupted write: 20 blob(s)" in verify.err
    status = run_cli("-A", str(root), "status", "--json")
    assert status.json()["originals"] == 3 and status.json()["rejected"] == []
    again = run_cli("-A", str(root), "ingest", str(tmp_path / "second"), "--json")
    assert again.code == 0, again.err
    assert again.json()["stored"] == 20
    assert run_cli("-A", str(root), "verify").code == 0


def test_a_full_disk_while_publishing_names_the_file(tmp_path: Path) -> None:
    root = tmp_path / "archive"
    notes = tmp_path / "notes"
    notes.mkdir()
    (notes / "diary.txt").write_text(
        "Monday 24 October 2016\n8:00 the riot police are in place\n" + "word " * 40_000 + "\n",
        encoding="utf-8",
    )
    archive = Archive.create(root)
    archive.ingest([notes], source="notes")
    [diary] = archive.list_items()
    archive.approve(diary["id"])
    archive.new_story("Calais", "2016-10-24T00:00", "2016-10-24T23:59")
    archive.close()
    assert run_cli("-A", str(root), "timeline").code == 0  # sorted now: the catalog barely grows
    site = tmp_path / "site"
    full = run_cli_with_file_limit("-A", str(root), "publish", "site", str(site), limit=100_000)
    assert full.returncode == DiskFull.exit_code
    line = _one_line(full.stderr)
    assert line.startswith(f"error: {site}") and ": disk full" in line
    assert not [p for p in site.rglob("*.part")]  # no half-written file left behind
    retry = run_cli("-A", str(root), "publish", "site", str(site), "--json")
    assert retry.code == 0, retry.err
    assert json.loads(retry.out)["stories"] == 1
    assert run_cli("-A", str(root), "verify").code == 0
