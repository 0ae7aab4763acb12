"""Workers on the queue: real `temoin worker` processes, a real PostgreSQL, one worker killed."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import warnings
from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np
import pytest
from sqlalchemy import create_engine, func, select, text
from tests.conftest import REPO, Result

from temoin.archive import Archive
from temoin.catalog.models import CustodyEvent, Derivative, Job
from temoin.events import Action
from temoin.serve.app import create_app
from temoin.serve.users import add_user
from temoin.serve.writes import Writes
from temoin.testing.footage import Key, Shot, write_clip
from temoin.testing.photos import astronaut
from temoin.testing.postgres import admin_url, create_database, drop_database

with warnings.catch_warnings():
    warnings.filterwarnings("ignore", message="Using `httpx` with `starlette.testclient`")
    from fastapi.testclient import TestClient

needs_postgres = pytest.mark.skipif(
    admin_url() is None,
    reason="needs a PostgreSQL server: set TEMOIN_TEST_POSTGRES_URL (.ci/postgres start prints one)",
)
PASSWORD = "correct horse battery"
WAIT = 240.0  # seconds: a generous ceiling on a shared machine, never a measured time


@pytest.fixture
def database() -> Iterator[str]:
    url = create_database()
    yield url
    drop_database(url)


def _team_archive(
    tmp_path: Path, url: str, cli: Callable[..., Result], monkeypatch: pytest.MonkeyPatch
) -> Path:
    """An archive whose catalog is on PostgreSQL from its first event, jobs on the queue."""
    root = tmp_path / "archive"
    with monkeypatch.context() as env:
        env.setenv("TEMOIN_DATABASE_URL", url)
        Archive.create(root).close()  # (`temoin init` in-process leaves its catalog open)
    with open(root / "temoin.toml", "a", encoding="utf-8") as toml:
        toml.write(f'database_url = "{url}"\njobs = "procrastinate"\n')
    return root


def _clips(folder: Path, count: int) -> list[Path]:
    """Short clips of a face the camera pans across, each framed differently (distinct bytes)."""
    picture = np.asarray(astronaut().convert("RGB"))
    paths = []
    for n in range(count):
        keys = [Key(0.0, 200 + 8 * n, 180, 420), Key(2.0, 300 - 8 * n, 200, 380)]
        paths.append(
            write_clip(folder / f"clip{n}.mp4", [Shot(picture, 2.0, keys)], size=(480, 270), fps=10)
        )
    return paths


def _worker(root: Path, *extra: str) -> subprocess.Popen[bytes]:
    env = {**os.environ, "PYTHONPATH": str(REPO / "src")}
    command = [sys.executable, "-m", "temoin", "-A", str(root), "worker", "--queue", "redact"]
    return subprocess.Popen(
        [*command, "--heartbeat", "1", *extra],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


def _until(check: Callable[[], bool], what: str) -> None:
    ends = time.monotonic() + WAIT
    while not check():
        if time.monotonic() > ends:
            raise AssertionError(f"gave up waiting: {what}")
        time.sleep(0.05)


def _signed_in(client: TestClient, archive: Archive) -> int:
    account = add_user(archive, "eve", "editor", PASSWORD, by="test")
    page = client.get("/login")
    token = page.text.split('name="csrf" value="', 1)[1].split('"', 1)[0]
    client.post("/login", data={"csrf": token, "name": "eve", "password": PASSWORD})
    return account.id


@pytest.mark.postgres
@needs_postgres
def test_two_workers_redact_a_backlog_and_one_killed_mid_job_loses_nothing(
    tmp_path: Path,
    database: str,
    cli: Callable[..., Result],
    monkeypatch: pytest.MonkeyPatch,
    request: pytest.FixtureRequest,
) -> None:
    from temoin.work.runner import ProcrastinateRunner

    root = _team_archive(tmp_path, database, cli, monkeypatch)
    card = tmp_path / "card"
    _clips(card, 6)
    assert cli("-A", str(root), "ingest", str(card), "--source", "phone").code == 0
    archive = Archive.open(root)
    request.addfinalizer(archive.close)
    runner = ProcrastinateRunner(archive, Writes(), 1, stalled_after=3, heartbeat=1)
    key = root / "keys" / "archive.ed25519"
    assert key.is_file()
    key.unlink()  # read by the coordinator at start: no worker can have it
    engine = create_engine(database)
    workers: list[subprocess.Popen[bytes]] = []
    try:
        with TestClient(create_app(archive, runner=runner)) as client:
            account = _signed_in(client, archive)
            job = runner.submit("redact", {}, actor="eve", account=account)
            workers = [_worker(root)]

            def doing() -> int:
                with engine.connect() as connection:
                    return (
                        connection.scalar(
                            text(
                                "SELECT count(*) FROM procrastinate_jobs WHERE status = 'doing' "
                                "AND task_name = 'temoin.render'"
                            )
                        )
                        or 0
                    )

            # The first worker is killed as soon as it has claimed a rendering: mid-render, with
            # the job claimed and no result handed back.
            _until(lambda: doing() == 1, "the first worker rendering")
            workers[0].send_signal(signal.SIGKILL)
            workers[0].wait()
            workers += [_worker(root), _worker(root)]
            _until(lambda: doing() >= 2, "the new workers rendering")
            page = client.get(f"/jobs/{job}")
            assert "covering faces" in page.text  # the coordinator's progress, from the row
            midway = client.get(f"/jobs/{job}.json").json()
            assert midway["status"] == "running" and midway["total"] == 6 and midway["done"] < 6

            def finished() -> bool:
                with archive.session() as session:
                    row = session.get(Job, job)
                    return row is not None and row.status in ("done", "failed")

            _until(finished, "the redaction job to end")
            page = client.get(f"/jobs/{job}")
            data = client.get(f"/jobs/{job}.json").json()
    finally:
        for worker in workers:
            if worker.poll() is None:
                worker.send_signal(signal.SIGTERM)
                worker.wait(30)
        engine.dispose()

    assert data["status"] == "done", data
    assert data["result"]["failed"] == [] and len(data["result"]["rendered"]) == 6
    assert data["finished"] and 'value="100"' in page.text
    assert runner.coordinator.retried, "the killed worker's rendering was never retried"
    with archive.session() as session:
        per_item = session.execute(
            select(CustodyEvent.item, func.count())
            .where(CustodyEvent.action == str(Action.REDACTED))
            .group_by(CustodyEvent.item)
        ).all()
        assert len(per_item) == 6 and {n for _, n in per_item} == {1}
        assert session.scalar(select(func.count()).select_from(Derivative)) == 6
        actors = set(
            session.scalars(
                select(CustodyEvent.actor).where(CustodyEvent.action == str(Action.REDACTED))
            )
        )
        assert actors == {"eve"}  # recorded by the coordinator, for the job's owner
    engine = create_engine(database)
    with engine.connect() as connection:
        states = dict(
            connection.execute(
                text(
                    "SELECT status::text, count(*) FROM procrastinate_jobs "
                    "WHERE task_name = 'temoin.render' GROUP BY status"
                )
            ).all()
        )
    engine.dispose()
    assert states == {"succeeded": 6}
    assert not key.exists()  # nothing made a key again: every signature is the coordinator's
    assert not any((root / "work" / "results").iterdir())  # every result taken and recorded
    archive.close()
    assert cli("-A", str(root), "verify").code == 0


@pytest.mark.postgres
@needs_postgres
def test_a_rendering_that_fails_on_a_worker_is_named_on_the_job_page(
    tmp_path: Path,
    database: str,
    cli: Callable[..., Result],
    monkeypatch: pytest.MonkeyPatch,
    request: pytest.FixtureRequest,
) -> None:
    from temoin.work.runner import ProcrastinateRunner

    root = _team_archive(tmp_path, database, cli, monkeypatch)
    (tmp_path / "card").mkdir()
    astronaut().convert("RGB").save(tmp_path / "card" / "face.jpg")
    assert cli("-A", str(root), "ingest", str(tmp_path / "card"), "--source", "phone").code == 0
    archive = Archive.open(root)
    request.addfinalizer(archive.close)
    (original,) = [p for p in (root / "vault").rglob("*") if p.is_file() and len(p.name) == 64]
    original.chmod(0o644)
    original.write_bytes(b"not a picture any more")  # the worker cannot decode it
    runner = ProcrastinateRunner(archive, Writes(), 1, stalled_after=3, heartbeat=1)
    with TestClient(create_app(archive, runner=runner)) as client:
        account = _signed_in(client, archive)
        job = runner.submit("redact", {}, actor="eve", account=account)
        worker = _worker(root, "--once")
        try:

            def finished() -> bool:
                with archive.session() as session:
                    row = session.get(Job, job)
                    return row is not None and row.status in ("done", "failed")

            _until(finished, "the redaction job to end")
        finally:
            worker.wait(60)
        page = client.get(f"/jobs/{job}").text
    shown = page[page.find("<main") : page.find("</main>")]
    assert "failed-item" in shown and "cannot read as an image" in shown, shown
    with archive.session() as session:
        assert session.scalar(select(func.count()).select_from(Derivative)) == 0


def test_a_worker_refuses_an_archive_whose_catalog_is_sqlite(
    tmp_path: Path, cli: Callable[..., Result]
) -> None:
    root = tmp_path / "archive"
    Archive.create(root).close()
    result = cli("-A", str(root), "worker", "--queue", "redact", "--once")
    assert result.code == 2
    assert "workers need a PostgreSQL catalog" in " ".join(result.err.split())
    assert len(result.err.strip().splitlines()) <= 2  # one sentence, wrapped at most once
    assert "--concurrency" in cli("worker", "--help").out
