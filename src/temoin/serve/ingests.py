"""Finished uploads handed to ingest jobs: at once when the last byte arrives, and again when the
server starts for any that a stopped server, or a failed job, left in the upload area.

A phone is told its file was sent as soon as the bytes are on the disk; from then on the file in
``uploads/<id>/files/`` is the server's to ingest. It stays there until its ingest job has stored
it, so whatever happened meanwhile (a crash between the upload and its job, a job that failed, a
server stopped while a job waited for the archive), the next start finds it and ingests it, with
its uploader as source and owner, exactly as `temoin ingest --source NAME` would do.
"""

from __future__ import annotations

import shutil
from typing import Any

from sqlalchemy import select

from temoin.catalog.models import Job, User
from temoin.serve.jobs import DONE, FAILED, QUEUED, RUNNING
from temoin.serve.uploads import Upload, UploadStore
from temoin.serve.users import Account


def submit_ingest(state: Any, upload: Upload, owner: Account) -> int:
    store: UploadStore = state.uploads
    path = store.finish(upload)
    relative, folder = store.relative(path), store.relative(upload.folder)
    return ingest_upload(state, relative, folder, owner.name, owner.id)


def ingest_upload(state: Any, path: str, folder: str, name: str, account: int | None) -> int:
    """The ingest job of one finished upload (`path`), which removes its `folder` once stored;
    `name` is the source and the actor, `account` the owner."""
    job: int = state.jobs.submit(
        "ingest",
        {
            "paths": [path],
            "cleanup": [folder],
            "source": name,
            "redact": state.settings.redact_after_ingest,
        },
        actor=name,
        account=account,
    )
    return job


def resume_uploads(state: Any) -> list[int]:
    """Ingest jobs for the finished uploads nobody is ingesting: a failed job is queued again, an
    upload without a job gets one; an upload whose job finished is only cleared away. Run after
    the runner has resumed its queued jobs. Returns the jobs started."""
    store: UploadStore = state.uploads
    waiting = store.waiting()
    if not waiting:
        return []
    archive = state.archive
    with archive.session() as session:
        rows = session.execute(
            select(Job.id, Job.status, Job.args).where(
                Job.name == "ingest", Job.status.in_((QUEUED, RUNNING, FAILED, DONE))
            )
        ).all()
        accounts = {u.name: u.id for u in session.scalars(select(User))}
    jobs: dict[str, tuple[int, str]] = {}
    rank = {QUEUED: 3, RUNNING: 3, DONE: 2, FAILED: 1}  # a live job wins over an old failure
    for job_id, status, args in rows:
        for path in (args or {}).get("paths", []):
            if path not in jobs or rank[status] >= rank[jobs[path][1]]:
                jobs[str(path)] = (job_id, status)
    started: list[int] = []
    for path, info in waiting:
        relative, folder = store.relative(path), store.relative(path.parent.parent)
        job_id, status = jobs.get(relative, (None, None))
        if status in (QUEUED, RUNNING):
            continue  # the runner has it
        if status == DONE:
            shutil.rmtree(path.parent.parent, ignore_errors=True)  # stored; only not cleared
            continue
        if job_id is not None and state.jobs.retry(job_id):
            started.append(job_id)
            continue
        name = str(info.get("owner", ""))
        if not name:
            continue  # not written by this app: nothing says whose it is
        account = info.get("account", accounts.get(name))  # older uploads name their account
        owner = int(account) if isinstance(account, int) else None
        started.append(ingest_upload(state, relative, folder, name, owner))
    return started
