"""An archive whose catalog is on a PostgreSQL server: its write lock lives on the server, and the
server's failures read as one line."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.exc import DBAPIError
from tests.conftest import DATABASE_ENV, run_cli

from temoin.archive import Archive
from temoin.catalog.database import explain
from temoin.errors import ArchiveLocked
from temoin.testing import postgres
from temoin.testing.photos import make_photo

HOLDER = """
import sys
from pathlib import Path
from temoin.archive import Archive

archive = Archive.open(Path(sys.argv[1]))
with archive.ctx.writing():
    print("held", flush=True)
    sys.stdin.read()
"""


@pytest.fixture
def database(monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    url = postgres.create_database()
    monkeypatch.setenv(DATABASE_ENV, url)
    yield url
    postgres.drop_database(url)


@pytest.mark.postgres
def test_a_second_writer_from_another_folder_is_refused_until_the_first_dies(
    tmp_path: Path, database: str
) -> None:
    """Two folders (as on two machines) hold the same vault and share one catalog database: a
    lock file in either folder would lock nothing for the other, the server's lock does."""
    first = Archive.create(tmp_path / "here", name="camp")
    first.close()
    shutil.copytree(tmp_path / "here", tmp_path / "there")
    make_photo(tmp_path / "card" / "IMG_1.jpg", seed=1)
    with subprocess.Popen(
        [sys.executable, "-c", HOLDER, str(tmp_path / "here")],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
        env=os.environ.copy(),
    ) as holder:
        assert holder.stdout is not None and holder.stdout.readline() == "held\n"
        refused = subprocess.run(
            [
                sys.executable,
                "-c",
                "from temoin.cli.main import main; main()",
                "-A",
                str(tmp_path / "there"),
                "ingest",
                str(tmp_path / "card"),
            ],
            capture_output=True,
            text=True,
            env=os.environ.copy(),
        )
        assert refused.returncode == ArchiveLocked.exit_code, refused.stderr
        assert refused.stderr.count("\n") == 1 and "writing to this archive" in refused.stderr
        there = Archive.open(tmp_path / "there")
        try:
            assert there.ctx.writer_active()
            holder.send_signal(signal.SIGKILL)
            holder.wait()
            deadline = time.monotonic() + 30  # the server ends a dead client's session
            while there.ctx.writer_active() and time.monotonic() < deadline:
                time.sleep(0.05)
            assert not there.ctx.writer_active()
        finally:
            there.close()
            holder.kill()
    stored = run_cli("-A", str(tmp_path / "there"), "ingest", str(tmp_path / "card"))
    assert stored.code == 0, stored.err
    assert run_cli("-A", str(tmp_path / "here"), "status", "--json").json()["originals"] == 1


@pytest.mark.postgres
def test_the_lock_is_reentrant_in_a_thread_and_refused_to_another(
    tmp_path: Path, database: str
) -> None:
    import threading

    archive = Archive.create(tmp_path / "a")
    try:
        seen: list[BaseException] = []

        def other() -> None:
            try:
                with archive.ctx.writing():
                    pass
            except ArchiveLocked as exc:
                seen.append(exc)

        with archive.ctx.writing(), archive.ctx.writing():
            assert archive.ctx.writer_active()
            thread = threading.Thread(target=other)
            thread.start()
            thread.join()
        assert len(seen) == 1
        assert not archive.ctx.writer_active()
        with archive.ctx.writing():  # released: taken again at once
            pass
    finally:
        archive.close()


@pytest.mark.postgres
def test_a_lock_timeout_on_the_server_reads_as_archive_locked(database: str) -> None:
    engine = create_engine(database)
    try:
        with engine.begin() as setup:
            setup.execute(text("CREATE TABLE t (n integer)"))
            setup.execute(text("INSERT INTO t VALUES (1)"))
        with engine.connect() as holding, engine.connect() as waiting:
            holding.execute(text("LOCK TABLE t IN ACCESS EXCLUSIVE MODE"))
            waiting.execute(text("SET lock_timeout = '10ms'"))
            with pytest.raises(DBAPIError) as caught:
                waiting.execute(text("SELECT * FROM t"))
            assert isinstance(explain(caught.value, "catalog"), ArchiveLocked)
    finally:
        engine.dispose()


def test_a_server_that_is_not_there_is_one_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """No server listens on that socket: the error names the catalog, not a traceback."""
    assert run_cli("init", str(tmp_path / "a")).code == 0
    monkeypatch.setenv(DATABASE_ENV, f"postgresql+psycopg://temoin@/camp?host={tmp_path}&port=9")
    result = run_cli("-A", str(tmp_path / "a"), "status")
    assert result.code == 11, result.err
    assert result.err.count("\n") == 1
    assert "camp" in result.err and "cannot reach the catalog's database server" in result.err
