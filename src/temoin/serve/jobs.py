"""Background work: ingest, redaction, review re-renders and publishing, off the request path.

The seam for running jobs elsewhere is deliberately small:

* a job is a row in the catalog (`Job`: name, JSON args, actor, status, progress, result), so any
  process that opens the archive can run it and any page can show its progress;
* `run_job(archive, writes, job_id)` runs one job by id: it is the only thing a worker calls;
* job functions are registered by name in `JOBS` and take a `JobContext`; their args hold only
  JSON (paths relative to the archive folder), never live objects;
* a `JobRunner` has `submit(name, args, actor=, account=)` → job id, `progress(job_id)` and
  `retry(job_id)` (a failed job, queued again). `PoolRunner` (in-process threads) is the embedded
  default. With a PostgreSQL catalog and ``jobs = "procrastinate"``, `temoin.work.runner`'s
  runner inserts the row the same way and queues only its id on procrastinate; a redaction then
  hands its renderings to `temoin worker --queue redact` processes (`make_runner` chooses).

With the pool, live progress is kept in memory, not in the catalog: SQLite has one writer, and
the ingest that reports progress is that writer until it commits, so a progress row would wait on
its own job. On the queue, progress is written to the row (`save_progress`), for every server.

A job is never dropped because another writer holds the archive: it waits for the lock as long as
it takes (see `Writes.patient`), and if the lock still escapes it, or the server stops meanwhile,
it goes back to the queue instead of failing. Only a real failure marks it failed, and a failed
job can be queued again (`retry`), by its owner or an editor from its page.
"""

from __future__ import annotations

import shutil
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from sqlalchemy import select

from temoin.catalog.models import Job
from temoin.errors import ArchiveLocked, TemoinError, UsageError
from temoin.serve.uploads import clear_upload
from temoin.serve.writes import Stopping, Writes

if TYPE_CHECKING:
    from temoin.archive import Archive
    from temoin.work.coordinator import Coordinator

QUEUED, RUNNING, DONE, FAILED = "queued", "running", "done", "failed"
WAITING = "waiting for the archive: another writer holds it"
LONGEST_BACKOFF = 60.0  # seconds between two tries of a job the archive's lock kept out


class JobRunner(Protocol):
    def submit(
        self, name: str, args: dict[str, Any], *, actor: str, account: int | None = None
    ) -> int: ...

    def progress(self, job_id: int) -> tuple[int, int, str] | None: ...

    def retry(self, job_id: int) -> bool: ...

    def close(self) -> None: ...


@dataclass
class JobContext:
    """What a job function gets: the archive acting as the job's owner, and the writer queue."""

    archive: Archive
    args: dict[str, Any]
    writes: Writes
    progress: Callable[[int, int, str], None]
    saved: dict[str, Any]  # what an earlier try of this job recorded with `save`
    save: Callable[[dict[str, Any]], None]  # a step's result, kept if the job is run again
    coordinator: Coordinator | None = None  # renderings go to the queue's workers through it
    site: str = ""  # the folder `serve --site` named: the one place outside a job may write

    def path(self, relative: str) -> Path:
        """A path named in the args, which must stay inside the archive folder (or be the site
        folder the server was started with: a job row alone never sends output elsewhere)."""
        if self.site and Path(self.site).is_absolute() and relative == self.site:
            return Path(self.site)
        root = self.archive.root.resolve()
        target = (root / relative).resolve()
        if not target.is_relative_to(root):
            raise TemoinError(f"{relative}: outside the archive folder")
        return target


JobFunction = Callable[[JobContext], dict[str, Any]]


# -- the job functions -------------------------------------------------------------------------


def ingest_job(ctx: JobContext) -> dict[str, Any]:
    """Uploaded files through the CLI's own ingest path, with the uploader as source."""
    from temoin.sort.stage import ensure_sorted

    sealer = ctx.archive.ctx.sealer
    result: dict[str, Any] = dict(ctx.saved)
    # a resumed job may find them already ingested; an encrypted archive's are copies in memory
    clear = {} if "stored_ids" in result else _readable_uploads(ctx)
    total = sum(p.stat().st_size for p in clear.values())
    try:
        if "stored_ids" not in result:  # not ingested by an earlier try of this job
            seen = 0

            def advance(size: int) -> None:
                nonlocal seen
                seen += size
                ctx.progress(seen, total, "storing in the vault")

            reported = {
                str(clear[p]): datetime.fromisoformat(when)
                for p, when in ctx.args.get("reported", {}).items()
                if p in clear
            }
            report = ctx.writes.run(
                ctx.archive.ingest,
                list(clear.values()),
                source=ctx.args["source"],
                progress=advance,
                reported=reported,
                arrived=True,  # an upload's file time is when it arrived: never a capture time
            )
            result = {**report.as_dict(), "stored_ids": report.stored_ids}
            ctx.save(result)  # before the files go: a later try then knows what this one stored
            for relative in ctx.args.get("cleanup", []):
                shutil.rmtree(ctx.path(relative), ignore_errors=True)
    finally:
        if sealer.sealed:
            for path in clear.values():
                shutil.rmtree(path.parent.parent, ignore_errors=True)
    ctx.progress(total, total, "placing on the timeline")
    ctx.writes.run(ensure_sorted, ctx.archive.ctx)
    if ctx.args.get("redact") and result["stored_ids"]:
        result["redaction"] = _redact(ctx)
    return result


def _readable_uploads(ctx: JobContext) -> dict[str, Path]:
    found: dict[str, Path] = {}
    for relative in ctx.args["paths"]:
        path = clear_upload(ctx.archive.ctx.sealer, ctx.path(relative))
        if path is not None:
            found[relative] = path
    return found


def redact_job(ctx: JobContext) -> dict[str, Any]:
    return _redact(ctx)


def _redact(ctx: JobContext) -> dict[str, Any]:
    def advance(done: int, total: int) -> None:
        ctx.progress(done, total, "covering faces")

    if ctx.coordinator is not None:
        report = ctx.coordinator.redact(ctx.archive.ctx, progress=advance, run=ctx.writes.run)
    else:
        report = ctx.writes.run(ctx.archive.redact, progress=advance)
    ctx.progress(1, 1, "drawing the previews")
    _warm(ctx.archive, report.rendered)
    return dict(report.as_dict())


def review_job(ctx: JobContext) -> dict[str, Any]:
    """Decisions that render the derivative again (seconds on a video), so not in a request; the
    job's progress follows the rendering frame by frame, and the new previews and filmstrip are
    made before the reviewer is sent back to the page."""
    archive, args = ctx.archive, ctx.args
    item, decision = args["item"], args["decision"]

    def advance(done: int, total: int) -> None:
        ctx.progress(done, total, "rendering again")

    ctx.progress(0, 1, "rendering again")
    verbs: dict[str, Callable[[], Any]] = {
        "link-face": lambda: archive.link_face(item, int(args["face"]), args["person"]),
        "unlink-face": lambda: archive.unlink_face(item, int(args["face"])),
        "dismiss-face": lambda: archive.dismiss_face(
            item, int(args["face"]), expect=args.get("seen")
        ),
        "restore-face": lambda: archive.dismiss_face(
            item, int(args["face"]), restore=True, expect=args.get("seen")
        ),
        "link-track": lambda: archive.link_track(
            item, int(args["track"]), args["person"], args.get("seen")
        ),
        "unlink-track": lambda: archive.unlink_track(item, int(args["track"]), args.get("seen")),
        "dismiss-track": lambda: archive.dismiss_track(
            item, int(args["track"]), expect=args.get("seen")
        ),
        "restore-track": lambda: archive.dismiss_track(item, int(args["track"]), restore=True),
        "add-box": lambda: archive.add_box(
            item, tuple(float(v) for v in args["box"]), args.get("start"), args.get("end")
        ),
        "remove-box": lambda: archive.remove_box(item, int(args["number"])),
        "mute": lambda: archive.set_mute(item, bool(args["mute"])),
    }
    if decision not in verbs:
        raise TemoinError(f"unknown review decision {decision!r}")
    from temoin.protect.derivatives import frame_progress

    with frame_progress(advance):
        ctx.writes.run(verbs[decision])
    ctx.progress(1, 1, "drawing the previews")
    _warm(archive, [item])
    ctx.progress(1, 1, "done")
    return {"item": item, "decision": decision}


def _warm(archive: Archive, item_ids: list[str]) -> None:
    """Previews and filmstrips made now, so pages rarely wait for them (nor show a blank).

    Best effort, after the job's work has committed: a picture that cannot be drawn now is drawn,
    or reported, when a page asks for it.
    """
    import av

    from temoin.serve import previews, strips

    previews.warm(archive, item_ids)
    for item_id, shown in previews.shown(archive, item_ids).items():
        try:
            strips.strip(archive, item_id, shown.sha256)
        except (OSError, ValueError, KeyError, av.error.FFmpegError):
            continue


def consent_job(ctx: JobContext) -> dict[str, Any]:
    """A consent change renders again every photo where a reviewer linked that person."""
    fields = {k: v for k, v in ctx.args.items() if k != "name"}
    return dict(ctx.writes.run(ctx.archive.add_person, ctx.args["name"], **fields))


def publish_job(ctx: JobContext) -> dict[str, Any]:
    def advance(done: int, total: int) -> None:
        ctx.progress(done, total, "writing the site")

    out = ctx.path(ctx.args["out"])
    report = ctx.writes.run(ctx.archive.publish_site, out, advance)
    result = dict(report.as_dict())
    return {k: v for k, v in result.items() if k != "index"}


JOBS: dict[str, JobFunction] = {
    "ingest": ingest_job,
    "redact": redact_job,
    "review": review_job,
    "consent": consent_job,
    "publish": publish_job,
}


# -- rows and the runner ------------------------------------------------------------------------


def create_job(
    archive: Archive, name: str, args: dict[str, Any], actor: str, account: int | None = None
) -> int:
    """A queued job; `actor` is named in custody, `account` (a web account's id) owns it."""
    if name not in JOBS:
        raise TemoinError(f"unknown job {name!r}")
    job = Job(
        name=name, args=args, actor=actor, account_id=account, status=QUEUED, created_at=_now()
    )
    with archive.ctx.transaction(locked=False) as tx:  # a job's row is not the archive's record
        tx.session.add(job)
    return job.id


def run_job(
    archive: Archive,
    writes: Writes,
    job_id: int,
    board: Board | None = None,
    *,
    coordinator: Coordinator | None = None,
    site: str = "",
) -> str:
    """Run one job by id and record how it ended; what a queue's worker would call.

    Returns the job's status: QUEUED when it must be run again later (the archive's lock kept it
    out, or the server is stopping), which is not a failure.
    """
    with archive.ctx.transaction(locked=False) as tx:
        job = tx.session.get(Job, job_id)
        if job is None or job.status in (DONE, FAILED):
            return job.status if job is not None else FAILED
        job.status, job.started_at = RUNNING, _now()
    # Sessions keep what they loaded after a commit: the row reads as it was written.
    name, args, actor, account = job.name, dict(job.args), job.actor, job.account_id
    saved = dict(job.result or {})
    board = board if board is not None else Board()
    reporter = board.reporter(job_id)

    def waiting() -> None:
        done, total, _ = board.get(job_id) or (0, 0, "")
        reporter(done, total, WAITING)

    def save(result: dict[str, Any]) -> None:
        _record(archive, job_id, result=result)

    ctx = JobContext(
        archive.acting_as(actor, account),
        args,
        writes.patient(waiting),
        reporter,
        saved,
        save,
        coordinator,
        site,
    )
    try:
        result = JOBS[name](ctx)
        status, message = DONE, "finished"
    except (ArchiveLocked, Stopping) as exc:  # kept out, or stopped while waiting: not a failure
        board.drop(job_id)
        again = WAITING if isinstance(exc, ArchiveLocked) else "runs again when the server starts"
        _record(archive, job_id, status=QUEUED, message=again)
        return QUEUED
    except TemoinError as exc:
        result, status, message = {}, FAILED, exc.message
    except Exception as exc:  # the job boundary: record what broke so the page can say it
        result, status, message = {}, FAILED, f"{type(exc).__name__}: {exc}"
    done, total, _ = board.get(job_id) or (1, 1, "")
    if status == DONE and total:
        done = total
    _record(
        archive,
        job_id,
        status=status,
        message=message,
        result=result or saved,
        finished_at=_now(),
        done=done,
        total=total,
    )
    board.drop(job_id)
    return status


def requeue(archive: Archive, job_id: int) -> bool:
    """A failed job, queued again (its owner or an editor asked); False if it had not failed."""
    with archive.ctx.transaction(locked=False) as tx:
        job = tx.session.get(Job, job_id)
        if job is None or job.status != FAILED:
            return False
        job.status, job.message, job.finished_at = QUEUED, "queued again", None
    return True


def save_progress(archive: Archive, job_id: int, done: int, total: int, message: str) -> None:
    """A running job's progress in its row: not the archive's record, so no lock is taken."""
    _record(archive, job_id, done=done, total=total, message=message)


def make_runner(archive: Archive, writes: Writes, workers: int = 2, site: str = "") -> JobRunner:
    """The runner the archive's ``jobs`` setting names: the pool, or the queue (PostgreSQL)."""
    if archive.settings.jobs == "procrastinate":
        if archive.ctx.encrypted:
            raise UsageError(
                f"{archive.root.name}: an encrypted archive runs its jobs in the server's own "
                'process (jobs = "pool"): workers would need its key, and its catalog is SQLite'
            )
        from temoin.work.runner import ProcrastinateRunner

        return ProcrastinateRunner(archive, writes, workers, site=site)
    return PoolRunner(archive, writes, workers, site=site)


def _record(archive: Archive, job_id: int, **values: Any) -> None:
    with archive.ctx.transaction(locked=False) as tx:
        job = tx.session.get(Job, job_id)
        assert job is not None
        for key, value in values.items():
            setattr(job, key, value)


class Board:
    """Live progress of running jobs, shared by the worker threads and the pages."""

    def __init__(self) -> None:
        self._progress: dict[int, tuple[int, int, str]] = {}
        self._lock = threading.Lock()

    def reporter(self, job_id: int) -> Callable[[int, int, str], None]:
        def report(done: int, total: int, message: str = "") -> None:
            with self._lock:
                self._progress[job_id] = (done, total, message)

        return report

    def get(self, job_id: int) -> tuple[int, int, str] | None:
        with self._lock:
            return self._progress.get(job_id)

    def drop(self, job_id: int) -> None:
        with self._lock:
            self._progress.pop(job_id, None)


class PoolRunner:
    """The embedded runner: a few threads in the web server's own process.

    Jobs left queued or running by a server that stopped are started again when the next one
    starts: ingest skips what is already in the vault, the other jobs redo their work. A job put
    back in the queue (the archive's lock kept it out) is tried again after a growing pause.
    """

    def __init__(
        self, archive: Archive, writes: Writes, workers: int = 2, *, site: str = ""
    ) -> None:
        self.archive, self.writes, self.site = archive, writes, site
        self._pool = ThreadPoolExecutor(max(1, workers), thread_name_prefix="temoin-job")
        self.board = Board()
        self._lock = threading.Lock()
        self._closing = False
        self._tries: dict[int, int] = {}
        self._timers: dict[int, threading.Timer] = {}
        self._active: set[int] = set()  # submitted and not yet ended: never run twice at once

    def submit(
        self, name: str, args: dict[str, Any], *, actor: str, account: int | None = None
    ) -> int:
        job_id = create_job(self.archive, name, args, actor, account)
        self._start(job_id)
        return job_id

    def progress(self, job_id: int) -> tuple[int, int, str] | None:
        return self.board.get(job_id)

    def retry(self, job_id: int) -> bool:
        if not requeue(self.archive, job_id):
            return False
        self._start(job_id)
        return True

    def resume(self) -> list[int]:
        with self.archive.session() as session:
            ids = list(
                session.scalars(
                    select(Job.id).where(Job.status.in_((QUEUED, RUNNING))).order_by(Job.id)
                )
            )
        for job_id in ids:
            self._start(job_id)
        return ids

    def close(self) -> None:
        with self._lock:
            self._closing = True
            for timer in self._timers.values():
                timer.cancel()
            self._timers.clear()
        self.writes.stop()  # jobs waiting for the archive go back to the queue
        self._pool.shutdown(wait=True, cancel_futures=True)

    def _start(self, job_id: int) -> None:
        with self._lock:
            self._timers.pop(job_id, None)
            if not self._closing and job_id not in self._active:
                self._active.add(job_id)
                self._pool.submit(self._run, job_id)

    def _run(self, job_id: int) -> None:
        try:
            status = run_job(self.archive, self.writes, job_id, self.board, site=self.site)
        finally:
            with self._lock:
                self._active.discard(job_id)
        with self._lock:
            if status != QUEUED:
                self._tries.pop(job_id, None)
                return
            if self._closing:
                return
            tries = self._tries[job_id] = self._tries.get(job_id, 0) + 1
            timer = threading.Timer(min(LONGEST_BACKOFF, 2.0**tries), self._start, (job_id,))
            timer.daemon = True
            self._timers[job_id] = timer
            timer.start()


def job_record(job: Job, live: tuple[int, int, str] | None = None) -> dict[str, Any]:
    done, total, message = job.done, job.total, job.message
    if live is not None and job.status == RUNNING:
        done, total, message = live
    return {
        "id": job.id,
        "name": job.name,
        "actor": job.actor,
        "account": job.account_id,
        "status": job.status,
        "done": done,
        "total": total,
        "percent": int(100 * done / total) if total else 0,
        "message": message,
        "result": job.result,
        "created_at": job.created_at.isoformat(timespec="seconds") + "Z",
        "finished": job.status in (DONE, FAILED),
    }


def get_job(
    archive: Archive, job_id: int, runner: JobRunner | None = None
) -> dict[str, Any] | None:
    with archive.session() as session:
        job = session.get(Job, job_id)
        if job is None:
            return None
        return job_record(job, runner.progress(job_id) if runner else None)


def recent_jobs(
    archive: Archive, account: int | None, limit: int = 20, runner: JobRunner | None = None
) -> list[dict[str, Any]]:
    """The newest jobs: everyone's (`account` None, for editors) or one account's own."""
    with archive.session() as session:
        query = select(Job).order_by(Job.id.desc()).limit(limit)
        if account is not None:
            query = query.where(Job.account_id == account)
        return [
            job_record(j, runner.progress(j.id) if runner else None) for j in session.scalars(query)
        ]


def _now() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None, microsecond=0)
