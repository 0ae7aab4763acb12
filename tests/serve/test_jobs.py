"""Background jobs are never dropped: an ingest waits for an archive another process holds (past
the time a page would wait), survives a server restart while it waits, and uploads that a stopped
server or a failed job left in the upload area are ingested when the server starts; a failed job
can be tried again from its page."""

from __future__ import annotations

import base64
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx
from tests.conftest import ON_ENCRYPTED
from tests.serve.conftest import LiveServer, csrf_of, free_port, settings, token, wait_job

import temoin
from temoin.archive import Archive
from temoin.catalog.models import Job
from temoin.serve.jobs import FAILED, WAITING, create_job, get_job
from temoin.serve.uploads import UploadStore
from temoin.serve.users import Account
from temoin.testing.photos import make_photo

TUS = {"Tus-Resumable": "1.0.0"}
HOLD = """
import sys
from pathlib import Path
from temoin.archive import Archive

archive = Archive.open(Path(sys.argv[1]))
with archive.writing():
    print("held", flush=True)
    sys.stdin.readline()
archive.close()
"""


class LockHolder:
    """Another process holding the archive's write lock, as `temoin ingest` or a long
    `temoin redact` in a terminal does, until `release()`."""

    def __init__(self, root: Path) -> None:
        source = str(Path(temoin.__file__).resolve().parents[1])
        paths = [source, os.environ.get("PYTHONPATH", "")]
        env = {**os.environ, "PYTHONPATH": os.pathsep.join(p for p in paths if p)}
        self.process = subprocess.Popen(
            [sys.executable, "-c", HOLD, str(root)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            env=env,
        )
        assert self.process.stdout is not None
        assert self.process.stdout.readline().strip() == "held"

    def release(self) -> None:
        if self.process.poll() is None:
            assert self.process.stdin is not None
            self.process.stdin.write("\n")
            self.process.stdin.close()
            self.process.wait(30)
        assert self.process.stdout is not None
        self.process.stdout.close()


def _send(client: httpx.Client, data: bytes, name: str) -> int:
    headers = {
        **TUS,
        "X-CSRF-Token": csrf_of(client.get("/").text),
        "Upload-Length": str(len(data)),
        "Upload-Metadata": "filename " + base64.b64encode(name.encode()).decode(),
    }
    url = client.post("/tus/", headers=headers).headers["location"]
    chunk = {**headers, "Upload-Offset": "0", "Content-Type": "application/offset+octet-stream"}
    sent = client.patch(url, content=data, headers=chunk)
    assert sent.status_code == 204, sent.text
    return int(sent.headers["temoin-job"])


def _until(client: httpx.Client, job_id: int, wanted: Any, seconds: float = 60) -> dict[str, Any]:
    """The job, once `wanted(job)` holds; a job that fails on the way fails the test."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        job: dict[str, Any] = client.get(f"/jobs/{job_id}.json").json()
        assert job["status"] != FAILED, job["message"]
        if wanted(job):
            return job
        time.sleep(0.05)
    raise AssertionError(f"job {job_id} never reached the state wanted: {job}")


def _job_row(root: Path, job_id: int) -> dict[str, Any]:
    archive = Archive.open(root)
    try:
        found = get_job(archive, job_id)
        assert found is not None
        return found
    finally:
        archive.close()


def _leftovers(root: Path) -> list[Path]:
    folder = root / "uploads"
    return [p for p in folder.rglob("*") if p.is_file()] if folder.exists() else []


def test_an_upload_waits_for_a_held_archive_and_survives_a_restart(
    people_archive: Archive, tmp_path: Path
) -> None:
    root = people_archive.root
    people_archive.close()
    server = LiveServer(root, settings(write_wait_seconds=0.3), free_port()).start()
    holder = LockHolder(root)
    try:
        photo = make_photo(tmp_path / "IMG_4001.jpg", size=(320, 240), seed=41).read_bytes()
        with server.session("amina") as amina:
            job_id = _send(amina, photo, "IMG_4001.jpg")
            waiting = _until(amina, job_id, lambda j: j["message"] == WAITING)
            assert waiting["status"] == "running"
            # many times the wait a page is allowed, and the job still waits instead of failing
            for _ in range(20):
                assert _until(amina, job_id, lambda j: True)["status"] == "running"
                time.sleep(0.1)
            entry = amina.post("/entries", data={"csrf": token(amina), "text": "buses leave"})
            assert entry.status_code == 409 and "try again" in entry.text  # a page does not hang
        server.stop()  # while the job waits: it must not hold the server up, nor be dropped
        assert _job_row(root, job_id)["status"] == "queued"
        # the file and its info still in the upload area (encrypted: a sealed part, the sealed
        # info, and the mark that every byte is there)
        assert len(_leftovers(root)) == (3 if ON_ENCRYPTED else 2)
        server.start()
        with server.session("amina") as amina:
            _until(amina, job_id, lambda j: j["message"] == WAITING)
            holder.release()
            done = wait_job(amina, job_id)
        assert done["status"] == "done" and done["result"]["stored"] == 1
        with server.session("amina") as amina:
            (item,) = done["result"]["stored_ids"]
            assert amina.get(f"/items/{item}").status_code == 200
        assert _leftovers(root) == []
    finally:
        holder.release()
        server.stop()


def _finished_upload(archive: Archive, owner: Account, name: str, seed: int) -> str:
    """A finished upload as the server leaves it before its ingest job has stored it, made by the
    upload area's own code (see temoin/serve/uploads.py: its layout is sealed when encrypted)."""
    photo = make_photo(archive.root.parent / "phone" / name, size=(200, 150), seed=seed)
    store = UploadStore(archive.root, 1024**3, 50, archive.ctx.sealer)
    upload = store.create(owner, photo.stat().st_size, name)
    receiver = store.receiver(upload)
    receiver.write(photo.read_bytes())
    receiver.close()
    return store.relative(store.finish(upload))


def _accounts(archive: Archive) -> dict[str, Account]:
    from sqlalchemy import select

    from temoin.catalog.models import User

    with archive.session() as session:
        return {u.name: Account(u.id, u.name, u.role) for u in session.scalars(select(User))}


def _failed_ingest(archive: Archive, path: str, owner: Account, message: str) -> int:
    """An ingest job as an earlier server left it: failed, its file still waiting."""
    folder = "/".join(path.split("/")[:2])
    args = {"paths": [path], "cleanup": [folder], "source": owner.name, "redact": False}
    job_id = create_job(archive, "ingest", args, owner.name, owner.id)
    with archive.session() as session:
        job = session.get(Job, job_id)
        assert job is not None
        job.status, job.message = FAILED, message
        session.commit()
    return job_id


def test_uploads_left_behind_are_ingested_when_the_server_starts(
    people_archive: Archive,
) -> None:
    root = people_archive.root
    accounts = _accounts(people_archive)
    amina, bilal = accounts["amina"], accounts["bilal"]
    # the server stopped between the last byte and the ingest job: a file with no job at all
    _finished_upload(people_archive, amina, "IMG_5001.jpg", seed=51)
    # an ingest that failed (a lock held past the wait of an older server)
    path = _finished_upload(people_archive, bilal, "IMG_5002.jpg", seed=52)
    failed = _failed_ingest(
        people_archive, path, bilal, "Another temoin process is writing to this archive"
    )
    people_archive.close()
    server = LiveServer(root, settings(), free_port()).start()
    try:
        with server.session("bilal") as client:
            assert wait_job(client, failed)["status"] == "done"  # the same job, tried again
            assert "IMG_5002.jpg" in client.get("/").text
        with server.session("amina") as client:
            jobs = client.get("/jobs").text
            job_id = int(jobs.split('href="/jobs/')[1].split('"')[0])
            done = wait_job(client, job_id)
            assert done["status"] == "done" and done["result"]["stored"] == 1
            page = client.get("/").text
            assert "IMG_5001.jpg" in page and "IMG_5002.jpg" not in page
    finally:
        server.stop()
    assert _leftovers(root) == []


def test_a_failed_job_is_tried_again_from_its_page(clients: Any, people_archive: Archive) -> None:
    amina, bilal, eve = clients("amina"), clients("bilal"), clients("eve")
    accounts = _accounts(people_archive)
    path = _finished_upload(people_archive, accounts["amina"], "IMG_6001.jpg", seed=61)
    job_id = _failed_ingest(people_archive, path, accounts["amina"], "the disk was full")
    page = amina.get(f"/jobs/{job_id}")
    assert 'id="retry"' in page.text and "the disk was full" in page.text
    assert bilal.post(f"/jobs/{job_id}/retry", data={"csrf": token(bilal)}).status_code == 404
    assert amina.post(f"/jobs/{job_id}/retry", data={"csrf": "forged"}).status_code == 403
    assert get_job(people_archive, job_id)["status"] == FAILED  # neither did anything
    again = amina.post(f"/jobs/{job_id}/retry", data={"csrf": token(amina)})
    assert again.status_code == 303 and again.headers["location"] == f"/jobs/{job_id}"
    assert wait_job(amina, job_id)["status"] == "done"
    assert amina.post(f"/jobs/{job_id}/retry", data={"csrf": token(amina)}).status_code == 409
    # an editor may try anyone's failed job again
    other = _finished_upload(people_archive, accounts["bilal"], "IMG_6002.jpg", seed=62)
    job_id = _failed_ingest(people_archive, other, accounts["bilal"], "interrupted")
    assert eve.post(f"/jobs/{job_id}/retry", data={"csrf": token(eve)}).status_code == 303
    assert wait_job(eve, job_id)["status"] == "done"
    assert "IMG_6002.jpg" in bilal.get("/").text
    assert _leftovers(people_archive.root) == []
