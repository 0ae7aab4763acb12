"""Publishing and custody: a run killed after placing the site is still recorded, and a folder's
files that temoin did not write are never deleted, with or without the folder's manifest."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

from sqlalchemy import URL, create_engine, text
from tests.publish.conftest import SLUG, ids
from tests.publish.test_site import build

from temoin.archive import Archive
from temoin.publish.output import MANIFEST


def _published(archive: Archive) -> list[dict]:
    return [e for e in archive.custody_log() if e["action"] == "published"]


def _hold_custody(root: Path, database_url: URL | None) -> Callable[[], None]:
    """Keep every writer from committing custody events, until the returned call lets go: the
    run can place its files, never commit their events."""
    if not database_url:  # through the archive's own driver: SQLCipher, keyed, when encrypted
        archive = Archive.open(root)
        held = archive.ctx.engine.raw_connection()
        held.cursor().execute("BEGIN IMMEDIATE")

        def release() -> None:
            held.rollback()
            held.close()
            archive.close()

        return release
    engine = create_engine(database_url)
    connection = engine.connect()
    transaction = connection.begin()
    connection.execute(text("LOCK TABLE custody IN EXCLUSIVE MODE"))  # reads go on

    def let_go() -> None:
        transaction.rollback()
        connection.close()
        engine.dispose()

    return let_go


def test_a_site_placed_by_a_killed_run_is_recorded_by_the_next(
    day_archive: Archive, tmp_path: Path
) -> None:
    build(day_archive, tmp_path / "first")  # sorted and published once elsewhere
    before = len(_published(day_archive))
    root = day_archive.root
    day_archive.close()

    out = tmp_path / "site"
    url = day_archive.engine.url
    hold = _hold_custody(root, None if url.get_backend_name() == "sqlite" else url)
    command = [sys.executable, "-m", "temoin", "-A", str(root), "publish", "site", str(out)]
    run = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 120
        while not (out / MANIFEST).is_file():
            assert run.poll() is None and time.monotonic() < deadline
            time.sleep(0.01)
        run.send_signal(signal.SIGKILL)  # the generator dies: files out, events never written
        run.wait()
    finally:
        hold()
    assert run.returncode == -signal.SIGKILL
    archive = Archive.open(root)
    try:
        assert len(_published(archive)) == before  # the killed run recorded nothing
        again = build(archive, out)
        assert again["written"] == 0  # the folder is as the killed run left it
        events = _published(archive)[before:]
        carried = {e["item"] for e in events if e["item"]}
        named = ids(archive)
        assert {named["IMG_0805.jpg"], named["VID_1000.mp4"], named["diary.txt"]} <= carried
        summary = events[-1]
        assert summary["item"] is None and "reconciled" in summary["detail"]
        assert len(_published(archive)) == len(events) + before
        build(archive, out)
        assert len(_published(archive)) == len(events) + before  # recorded once, not each run
        assert archive.verify().ok
    finally:
        archive.close()


def test_files_temoin_did_not_write_are_never_deleted(day_archive: Archive, tmp_path: Path) -> None:
    out = tmp_path / "site"
    mine = {
        out / "media" / "my-banner.jpg": b"a person's own picture",
        out / "stories" / "notes" / "index.html": b"<p>written by hand</p>",
        out / "items" / "0123456789abcdef.html": b"<p>looks like ours, is not</p>",
    }
    for path, data in mine.items():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
    build(day_archive, out)  # a first build: no manifest anywhere
    assert all(path.read_bytes() == data for path, data in mine.items())

    (out / MANIFEST).unlink()  # the dotfile left behind by a copy
    named = ids(day_archive)
    page = out / "items" / f"{named['IMG_0805.jpg'][:16]}.html"
    assert page.is_file()
    day_archive.withhold(named["IMG_0805.jpg"], "asked us to take it down")
    gone = build(day_archive, out)
    assert not page.exists()  # what temoin wrote is still taken down, from the archive's copy
    assert any(r.startswith("media/") for r in gone["removed"])
    assert all(path.read_bytes() == data for path, data in mine.items())
    assert (out / "stories" / SLUG / "index.html").is_file()
