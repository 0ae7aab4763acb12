"""Finished uploads handed to ingest jobs: at once when the last byte arrives, and again when the
server starts for any that a stopped server, or a failed job, left in the upload area.

Once the bytes are on the disk the phone is told its file was sent (and then, from the job's
report, whether it was stored: see `ingest_outcome`); from then on the file in
``uploads/<id>/files/`` is the server's to ingest. It stays there until its ingest job has stored
it, so whatever happened meanwhile (a crash between the upload and its job, a job that failed, a
server stopped while a job waited for the archive), the next start finds it and ingests it, with
its uploader as source and owner, exactly as `temoin ingest --source NAME` would do.
"""

from __future__ import annotations

import shutil
from typing import Any, TypedDict

from sqlalchemy import select

from temoin.catalog.models import Job, User
from temoin.i18n import DEFAULT, localise, translate
from temoin.serve.jobs import DONE, FAILED, QUEUED, RUNNING
from temoin.serve.uploads import Upload, UploadStore
from temoin.serve.users import Account


def submit_ingest(state: Any, upload: Upload, owner: Account) -> int:
    store: UploadStore = state.uploads
    path = store.finish(upload)
    relative, folder = store.relative(path), store.relative(upload.folder)
    return ingest_upload(state, relative, folder, owner.name, owner.id, upload.modified)


def ingest_upload(
    state: Any,
    path: str,
    folder: str,
    name: str,
    account: int | None,
    modified: str | None = None,
) -> int:
    """The ingest job of one finished upload (`path`), which removes its `folder` once stored;
    `name` is the source and the actor, `account` the owner, `modified` the file time the phone
    reported (a low-trust capture time, used only when the file states none)."""
    args: dict[str, Any] = {
        "paths": [path],
        "cleanup": [folder],
        "source": name,
        "redact": state.settings.redact_after_ingest,
    }
    if modified:
        args["reported"] = {path: modified}
    job: int = state.jobs.submit("ingest", args, actor=name, account=account)
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
        modified = info.get("modified")
        hint = modified if isinstance(modified, str) else None
        started.append(ingest_upload(state, relative, folder, name, owner, hint))
    return started


class Outcome(TypedDict):
    """What became of an upload, as the upload page shows it."""

    state: str  # "storing", "stored", "duplicate", "refused" or "failed"
    text: str  # one line: "stored", "already in the archive", "refused: <reason>"…
    finished: bool


def ingest_outcome(job: dict[str, Any], lang: str = DEFAULT) -> Outcome:
    """The ingest's own verdict on what was sent: bytes on the server's disk are not yet a file in
    the archive, and a page that said "sent" for an HTML page named .jpg told the witness nothing.

    Read from the job's recorded ingest report, so an ingest that stored the file and then failed
    to cover its faces still says "stored" (the file is in the vault; the job page says the rest).
    The text is in ``lang``, the refusals' reasons too (recorded in English, translated here);
    the state is for scripts and stays as it is.
    """
    result = job.get("result") or {}
    if "stored" not in result:
        if job["status"] == FAILED:
            return Outcome(
                state="failed",
                text=translate(
                    lang, "not stored: %(why)s", why=localise(lang, _line(job["message"]))
                ),
                finished=True,
            )
        return Outcome(state="storing", text=translate(lang, "storing…"), finished=False)
    stored, duplicates = int(result["stored"]), int(result["duplicates"])
    refused = [localise(lang, _line(r["reason"])) for r in result.get("rejected", [])]
    if refused and not stored and not duplicates and len(refused) == 1:
        return Outcome(
            state="refused", text=translate(lang, "refused: %(why)s", why=refused[0]), finished=True
        )
    if duplicates and not stored and not refused:
        return Outcome(
            state="duplicate", text=translate(lang, "already in the archive"), finished=True
        )
    if stored == 1 and not duplicates and not refused:
        return Outcome(state="stored", text=translate(lang, "stored"), finished=True)
    parts = (
        [translate(lang, "%(n)s stored", n=stored)] if stored else []
    )  # a zip: several files, each with its fate
    if duplicates:
        parts.append(translate(lang, "%(n)s already in the archive", n=duplicates))
    if refused:
        parts.append(
            translate(lang, "%(n)s refused (first: %(why)s)", n=len(refused), why=refused[0])
        )
    state = "stored" if stored else ("duplicate" if duplicates else "refused")
    return Outcome(
        state=state, text=", ".join(parts) or translate(lang, "nothing to store"), finished=True
    )


def _line(text: str) -> str:
    return (str(text).strip().splitlines() or [""])[0]
